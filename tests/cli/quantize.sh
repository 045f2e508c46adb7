# Scaling of the integer format end to end: MASE's frac configs give the trials they gave before
# (lab 3 regression), stats and learned scales train in a search and are reported, bad scaling
# input fails with one line before anything is written.
CONFIGS="$(dirname "$CASE")/../../configs"
FIXTURES="$(dirname "$CASE")/fixtures"
ok "$CHOP" data synth jsc --out jsc.h5 --rows 6000 --seed 0
ok "$CHOP" train jsc-tiny jsc --data-path jsc.h5 --max-epochs 3 --learning-rate 0.01 --project lab3
CKPT=mase_output/lab3/software/training_ckpts/best.ckpt

# Lab 3 (frac widths "NA": MASE's width // 2): the same trials, parameters and values as chop
# gave before (fixture recorded with commit fbc2f2d before scaling existed, and again when
# proposals became distinct, issue 14: the 18 configurations once each, same commands).
ok "$CHOP" search --config "$CONFIGS/lab3_quantize_tpe_synth.toml" --data-path jsc.h5 --load "$CKPT" --project tpe
python3 - "$FIXTURES/lab3_tpe_trials.json" <<'PY' && pass || fail "lab 3 TPE trials changed"
import json, sys
want = json.load(open(sys.argv[1]))
got = [[t["number"], t["params"], t["values"]] for t in json.load(open("mase_output/tpe/software/search_ckpts/log.json"))]
assert got == want, (got[:3], want[:3])
PY

# Quantization-aware search with stats and learned scales (no frac width given).
cat > qat.toml <<'TOML'
model = "jsc-three-linear-relu"
dataset = "jsc"
data_path = "jsc.h5"
batch_size = 128
learning_rate = 5e-3

[search.search_space]
name = "graph/quantize/mixed_precision_ptq"
[search.search_space.setup]
by = "type"
[search.search_space.seed.linear.config]
name = ["integer"]
scaling = ["stats", "learned"]
data_in_width = [4]
weight_width = [2, 4]
bias_width = [8]

[search.strategy]
name = "optuna"
[search.strategy.sw_runner.basic_train]
max_epochs = 1
[search.strategy.hw_runner.bops]
[search.strategy.setup]
n_trials = 4
sampler = "grid"
[search.strategy.metrics]
accuracy.scale = 1.0
accuracy.direction = "maximize"
TOML
ok "$CHOP" search --config qat.toml --project qat
has "Best trial(s):"
python3 <<'PY' && pass || fail "stats / learned trials lack their quantization scales"
import json
log = json.load(open("mase_output/qat/software/search_ckpts/log.json"))
assert len(log) == 4 and all(t["state"] == "COMPLETE" for t in log)
assert sorted((t["params"]["linear/config/scaling"], t["params"]["linear/config/weight_width"]) for t in log) == \
    [("learned", 2), ("learned", 4), ("stats", 2), ("stats", 4)]
for t in log:
    s = t["quantization_scales"]
    assert set(s) == {"seq_blocks_2", "seq_blocks_4", "seq_blocks_6"}, s.keys()
    d = s["seq_blocks_2"]["data_in"]
    # After a ReLU: unsigned; a power of two, given as its frac width.
    assert d["signed"] is False and d["scale"] == 2.0 ** -d["frac_width"], d
    assert t["software_metrics"]["accuracy"] > 0.3, t["software_metrics"]
PY
BEST=mase_output/qat/software/search_ckpts/best.ckpt
ok "$CHOP" graph --load "$BEST"
has "quantization (scale = 2^-frac_width)"
has "seq_blocks_2 | data_in"
ok "$CHOP" graph --load "$BEST" --json
has '"quantization_scales"'
ok "$CHOP" test jsc-three-linear-relu jsc --data-path jsc.h5 --load "$BEST" --project qat
has "accuracy"

# Bad scaling input: one line, before any trial and before anything is written.
bad() {
  local want=$1 from=$2 to=$3
  sed "s/$from/$to/" qat.toml > bad.toml
  rm -rf mase_output/bad
  fails "$want" "$CHOP" search --config bad.toml --project bad
  [ ! -e mase_output/bad/software/search_ckpts/log.json ] && [ ! -e mase_output/bad/software/search_ckpts/resolved_config.json ] \
    && pass || fail "'$want': something was written before the error"
}
bad 'a *_frac_width cannot be given' 'bias_width = \[8\]' 'bias_width = [8]\nweight_frac_width = [2]'
bad 'range must be "minmax" or a quantile in (0, 1]' 'bias_width = \[8\]' 'bias_width = [8]\nrange = [1.5]'
bad 'data_in_width must be >= 1' 'data_in_width = \[4\]' 'data_in_width = [-3]'
bad 'weight_width must be >= 1' 'weight_width = \[2, 4\]' 'weight_width = [0, 4]'
bad "scalling" 'scaling = ' 'scalling = '
bad 'scaling must be one of' 'scaling = \["stats", "learned"\]' 'scaling = ["stats", "lsq"]'
bad 'power_of_two applies to scaling = "stats" or "learned" only' 'scaling = \["stats", "learned"\]' 'scaling = ["frac"]\npower_of_two = [false]'
bad 'signed must be "auto" or true' 'bias_width = \[8\]' 'bias_width = [8]\nsigned = ["yes"]'
