# The bad-input table (issue 13, docs/reliability.md): every user-settable value of a search, out
# of range, of the wrong type and missing, each one clear line naming the problem, a non-zero exit
# and no work started (no project folder, no study file). A case replaces one block of a small,
# valid lab 3 search (jsc-tiny, synthetic JSC, TPE on seq_blocks_2's widths) or adds flags.
ok "$CHOP" data synth jsc --out jsc.h5 --rows 600 --seed 0

TOP='model = "jsc-tiny"
dataset = "jsc"
batch_size = 64'
SPACE='[search.search_space]
name = "graph/quantize/mixed_precision_ptq"
[search.search_space.setup]
by = "name"'
SEED='[search.search_space.seed.seq_blocks_2.config]
name = ["integer"]
data_in_width = [4, 8]
weight_width = [2, 4, 8]
bias_width = [8]'
STRATEGY='[search.strategy]
name = "optuna"
eval_mode = true'
SW='[search.strategy.sw_runner.basic_evaluation]
data_loader = "val_dataloader"
num_samples = 64'
HW='[search.strategy.hw_runner.average_bitwidth]
compare_to = 32'
SETUP='[search.strategy.setup]
n_trials = 2
sampler = "tpe"
seed = 0'
METRICS='[search.strategy.metrics]
accuracy.scale = 1.0
accuracy.direction = "maximize"'

N_CASES=0
# bad "expected text" BLOCK 'replacement' [-- extra flags...]: the search must fail before work.
bad() {
  local want=$1 block=$2 text=$3
  shift 3
  [ "${1:-}" = "--" ] && shift
  local top=$TOP space=$SPACE seed=$SEED strategy=$STRATEGY sw=$SW hw=$HW setup=$SETUP metrics=$METRICS
  case $block in
    TOP) top=$text ;; SPACE) space=$text ;; SEED) seed=$text ;; STRATEGY) strategy=$text ;;
    SW) sw=$text ;; HW) hw=$text ;; SETUP) setup=$text ;; METRICS) metrics=$text ;;
    FLAGS) ;;
    *) fail "bad(): unknown block $block"; return ;;
  esac
  N_CASES=$((N_CASES + 1))
  printf '%s\n' "$top" "$space" "$seed" "$strategy" "$sw" "$hw" "$setup" "$metrics" > case.toml
  rm -rf mase_output
  fails "$want" "$CHOP" search --config case.toml ${DATA---data-path jsc.h5} --project bad "$@"
  printf '%s\t%s\n' "$want" "$(head -c 400 "$WORK/stderr")" >> "${BAD_INPUT_LOG:-/dev/null}"
  if [ -e mase_output ]; then fail "'$want' ($block): work started (mase_output/ exists)"; else pass; fi
}

# The valid search the cases start from runs.
printf '%s\n' "$TOP" "$SPACE" "$SEED" "$STRATEGY" "$SW" "$HW" "$SETUP" "$METRICS" > good.toml
ok "$CHOP" search --config good.toml --data-path jsc.h5 --project good
rm -rf mase_output

# --- quantization widths (the seed's choices) ---
for w in -3 0 -1; do
  bad "data_in_width must be >= 1" SEED "[search.search_space.seed.seq_blocks_2.config]
name = [\"integer\"]
data_in_width = [$w]"
  bad "weight_width must be >= 1" SEED "[search.search_space.seed.seq_blocks_2.config]
name = [\"integer\"]
weight_width = [8, $w]"
done
bad 'data_in_width must be an integer or "NA"' SEED '[search.search_space.seed.seq_blocks_2.config]
name = ["integer"]
data_in_width = ["eight"]'
bad 'data_in_width must be an integer or "NA"' SEED '[search.search_space.seed.seq_blocks_2.config]
name = ["integer"]
data_in_width = [4.5]'
# (A frac width may be any integer, as in MASE: the step is 2^-frac.)
bad 'bias_frac_width must be an integer or "NA"' SEED '[search.search_space.seed.seq_blocks_2.config]
name = ["integer"]
bias_width = [8]
bias_frac_width = [2.5]'
bad "minifloat needs data_in_exponent_width >= 1" SEED '[search.search_space.seed.seq_blocks_2.config]
name = ["minifloat"]
data_in_width = [8]'
bad "data_in_exponent_width" SEED '[search.search_space.seed.seq_blocks_2.config]
name = ["minifloat"]
data_in_width = [8]
data_in_exponent_width = [-4]'
bad "name" SEED '[search.search_space.seed.seq_blocks_2.config]
name = ["int8"]'
bad "node" SEED '[search.search_space.seed.no_such_layer.config]
name = ["integer"]'
bad "weight_widht" SEED '[search.search_space.seed.seq_blocks_2.config]
name = ["integer"]
weight_widht = [8]'
bad "range" SEED '[search.search_space.seed.seq_blocks_2.config]
name = ["integer"]
weight_width = [8]
scaling = ["stats"]
range = [1.5]'
bad "calibration_batches" SEED '[search.search_space.seed.seq_blocks_2.config]
name = ["integer"]
weight_width = [8]
scaling = ["stats"]
calibration_batches = [0]'
bad "choices" SEED '[search.search_space.seed.seq_blocks_2.config]
name = ["integer"]
weight_width = []'

# --- the space ---
SEED='' bad "[search.search_space] is missing" SPACE ''
bad "[search.search_space] needs name" SPACE ''
bad "search_space" SPACE '[search.search_space]
name = "graph/quantize/no_such_space"'
bad "by" SPACE '[search.search_space]
name = "graph/quantize/mixed_precision_ptq"
[search.search_space.setup]
by = "colour"'
for m in 0 -0.5 '"wide"' 1e30; do
  SEED='' bad "channel_multipliers" SPACE "[search.search_space]
name = \"graph/architecture/channel\"
[search.search_space.setup]
channel_multipliers = [1, $m]"
done

# --- the strategy and its runners ---
bad "strategy" STRATEGY '[search.strategy]
name = "hyperopt"'
bad "eval_mode" STRATEGY '[search.strategy]
name = "optuna"
eval_mode = "yes"'
# The supernet strategy: a width space, basic_train, and each [search.strategy.supernet] key.
bad "searches channel widths" STRATEGY '[search.strategy]
name = "supernet"'
bad "[search.strategy.supernet] is read only with" STRATEGY '[search.strategy]
name = "optuna"
[search.strategy.supernet]
retrain = 2'
WIDTHS='[search.search_space]
name = "graph/architecture/channel"
[search.search_space.setup]
channel_multipliers = [0.5, 1]'
SEED='' SPACE=$WIDTHS bad "retrains its best candidates stand-alone with [search.strategy.sw_runner.basic_train]" STRATEGY '[search.strategy]
name = "supernet"'
for kv in "max_epochs = 0" "random_subnets = -1" "batch_size = -8" "calibration_batches = 0" "retrain = 0" \
          "fidelity_samples = -1" "learning_rate = -0.1" 'distill = "yes"' "max_epochs = 1.5" "epochs = 2"; do
  SEED='' SPACE=$WIDTHS SW='[search.strategy.sw_runner.basic_train]
max_epochs = 1' bad "${kv%% =*}" STRATEGY "[search.strategy]
name = \"supernet\"
[search.strategy.supernet]
$kv"
done
bad "sw_runner" SW '[search.strategy.sw_runner.basic_guess]'
bad "data_loader" SW '[search.strategy.sw_runner.basic_evaluation]
data_loader = "my_loader"'
bad "[search.strategy.sw_runner.basic_evaluation] num_samples must be >= 0" SW '[search.strategy.sw_runner.basic_evaluation]
num_samples = -5'
bad "num_samples" SW '[search.strategy.sw_runner.basic_evaluation]
num_samples = "all"'
bad "max_epochs" SW '[search.strategy.sw_runner.basic_train]
max_epochs = 0'
bad "learning_rate" SW '[search.strategy.sw_runner.basic_train]
max_epochs = 1
learning_rate = -0.1'
bad "hw_runner" HW '[search.strategy.hw_runner.energy]'
bad "compare_to" HW '[search.strategy.hw_runner.average_bitwidth]
compare_to = 0'
bad "compare_to" HW '[search.strategy.hw_runner.average_bitwidth]
compare_to = "fp32"'

# --- the study setup: trials, timeouts, sampler, pruner ---
bad "n_trials must be >= 0" SETUP '[search.strategy.setup]
n_trials = -1
timeout = 60'
bad "n_trials" SETUP '[search.strategy.setup]
n_trials = "many"'
bad "n_trials" SETUP '[search.strategy.setup]
n_trials = 0'
bad "timeout must be >= 0" SETUP '[search.strategy.setup]
n_trials = 2
timeout = -10'
bad "n_jobs must be >= 1" SETUP '[search.strategy.setup]
n_trials = 2
n_jobs = 0'
bad "unknown sampler 'annealing'" SETUP '[search.strategy.setup]
n_trials = 2
sampler = "annealing"'
bad 'sampler = "tpe": `n_startup_trials >= 0` must hold' SETUP '[search.strategy.setup]
n_trials = 2
sampler = "tpe"
[search.strategy.setup.sampler_options]
n_startup_trials = -1'
bad 'sampler = "nsgaii": `population_size >= 2` must hold' SETUP '[search.strategy.setup]
n_trials = 2
sampler = "nsgaii"
[search.strategy.setup.sampler_options]
population_size = 1'
bad "pruner" SETUP '[search.strategy.setup]
n_trials = 2
pruner = "guillotine"'
bad 'pruner = "median": `n_warmup_steps >= 0` must hold' SETUP '[search.strategy.setup]
n_trials = 2
pruner = "median"
[search.strategy.setup.pruner_options]
n_warmup_steps = -1'
bad 'pruner = "successive_halving": `reduction_factor >= 2` must hold' SETUP '[search.strategy.setup]
n_trials = 2
pruner = "successive_halving"
[search.strategy.setup.pruner_options]
reduction_factor = 1'
bad "unknown option" SETUP '[search.strategy.setup]
n_trials = 2
sampler = "tpe"
[search.strategy.setup.sampler_options]
n_startup = 3'
bad "direction" SETUP '[search.strategy.setup]
n_trials = 2
direction = "up"'
bad "seed" SETUP '[search.strategy.setup]
n_trials = 2
seed = "zero"'
bad "dedup" SETUP '[search.strategy.setup]
n_trials = 2
dedup = 1'
bad "metric" METRICS '[search.strategy.metrics]
accurracy.scale = 1.0'
bad "direction" METRICS '[search.strategy.metrics]
accuracy.direction = "upwards"'
bad "scale" METRICS '[search.strategy.metrics]
accuracy.scale = "big"'

# --- the run's values, in the TOML and as flags ---
for v in 0 -4; do
  bad "batch_size" TOP "model = \"jsc-tiny\"
dataset = \"jsc\"
batch_size = $v"
  bad "batch_size (--batch-size) must be positive" FLAGS '' -- --batch-size "$v"
done
bad "batch_size" TOP 'model = "jsc-tiny"
dataset = "jsc"
batch_size = "big"'
bad "batch-size" FLAGS '' -- --batch-size big
bad "learning_rate" TOP 'model = "jsc-tiny"
dataset = "jsc"
learning_rate = -1e-3'
bad "learning_rate (--learning-rate) must be positive" FLAGS '' -- --learning-rate 0
bad "max_epochs (--max-epochs) must be >= 0" FLAGS '' -- --max-epochs -2
bad "max_steps (--max-steps) must be positive" FLAGS '' -- --max-steps 0
bad "early_stopping (--early-stopping) must be >= 0" FLAGS '' -- --early-stopping -1
bad "seed (--seed) must be >= 0" FLAGS '' -- --seed -1
bad "val_fraction" TOP 'model = "jsc-tiny"
dataset = "jsc"
val_fraction = 1.5'
bad "num_threads" TOP 'model = "jsc-tiny"
dataset = "jsc"
num_threads = 0'
bad "weight_decay" TOP 'model = "jsc-tiny"
dataset = "jsc"
weight_decay = -1'
bad "training_optimizer" TOP 'model = "jsc-tiny"
dataset = "jsc"
training_optimizer = "lion"'
bad "scheduler" TOP 'model = "jsc-tiny"
dataset = "jsc"
scheduler = "step"'
bad "accelerator" FLAGS '' -- --accelerator tpu
bad "gpu" FLAGS '' -- --accelerator gpu
bad "model" TOP 'model = "resnet-9000"
dataset = "jsc"'
bad "unknown data set 'imagenet'" TOP 'model = "jsc-tiny"
dataset = "imagenet"'
bad "unknown top-level key 'batchsize'" TOP 'model = "jsc-tiny"
dataset = "jsc"
batchsize = 64'
DATA='' bad "no-such.h5" FLAGS '' -- --data-path no-such.h5
DATA='' bad "JSC data file not found" FLAGS ''
bad "no-such.ckpt" FLAGS '' -- --load no-such.ckpt
bad "n-workers" FLAGS '' -- --n-workers 0

# --- storage URLs ---
bad "unsupported storage URL" FLAGS '' -- --storage mysql://root@localhost/chop
bad "no file path" FLAGS '' -- --storage sqlite:///
bad "sqlite:///path.db" FLAGS '' -- --storage sqlite://study.db
bad "names no server" FLAGS '' -- --storage postgresql://
bad "cannot connect to PostgreSQL" FLAGS '' -- --storage postgresql://nobody@127.0.0.1:1/none

# --- the file itself ---
rm -rf mase_output
printf 'model = "jsc-tiny"\n[search\n' > broken.toml
fails "broken.toml" "$CHOP" search --config broken.toml --data-path jsc.h5
fails "missing.toml" "$CHOP" search --config missing.toml --data-path jsc.h5
[ -e mase_output ] && fail "a broken config started work" || pass
echo "bad-input table: $N_CASES cases"
