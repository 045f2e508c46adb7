# chop search: the lab 3 and lab 4 configs end to end on synthetic JSC, outputs, determinism.
CONFIGS="$(dirname "$CASE")/../../configs"
ok "$CHOP" data synth jsc --out jsc.h5 --rows 6000 --seed 0
ok "$CHOP" train jsc-tiny jsc --data-path jsc.h5 --max-epochs 3 --learning-rate 0.01 --project lab3
CKPT=mase_output/lab3/software/training_ckpts/best.ckpt

# Lab 3 brute force: each of the 18 configurations exactly once, then the study stops.
ok "$CHOP" search --config "$CONFIGS/lab3_quantize_bruteforce_synth.toml" --data-path jsc.h5 --load "$CKPT" --project bf
has "Best trial(s):"
has "|    |   number | software_metrics"
has "'average_bitwidth':"
LOG=mase_output/bf/software/search_ckpts/log.json
python3 - "$LOG" <<'PY' && pass || fail "brute force did not evaluate 18 distinct configurations"
import json, sys
log = json.load(open(sys.argv[1]))
keys = {json.dumps(t["params"], sort_keys=True) for t in log}
assert len(log) == 18 and len(keys) == 18, (len(log), len(keys))
assert all(t["state"] == "COMPLETE" for t in log)
PY
for f in best.json trials.csv resolved_config.json best.ckpt; do
  [ -f "mase_output/bf/software/search_ckpts/$f" ] && pass || fail "missing search_ckpts/$f"
done
ok "$CHOP" test jsc-tiny jsc --data-path jsc.h5 --load mase_output/bf/software/search_ckpts/best.ckpt --project bf
has "accuracy"

# Lab 3 TPE, twice with the same seed: identical trials; each of the 18 configurations once (distinct
# proposals), then the search says the space is exhausted.
ok "$CHOP" search --config "$CONFIGS/lab3_quantize_tpe_synth.toml" --data-path jsc.h5 --load "$CKPT" --project tpe1
ok "$CHOP" search --config "$CONFIGS/lab3_quantize_tpe_synth.toml" --data-path jsc.h5 --load "$CKPT" --project tpe2
has "all 18 configurations of the search space are evaluated (n_trials = 20): the search is complete"
python3 - <<'PY' && pass || fail "same config and seed gave different trials, or a configuration twice"
import json
a = json.load(open("mase_output/tpe1/software/search_ckpts/log.json"))
b = json.load(open("mase_output/tpe2/software/search_ckpts/log.json"))
strip = lambda log: [(t["number"], t["params"], t["values"]) for t in log]
assert len(a) == 18 and strip(a) == strip(b)
assert len({json.dumps(t["params"], sort_keys=True) for t in a}) == 18
PY
# dedup = false: Optuna's behaviour, n_trials trials, repeats trained again.
sed 's/n_trials = 20/n_trials = 20\ndedup = false/' "$CONFIGS/lab3_quantize_tpe_synth.toml" > repeats.toml
ok "$CHOP" search --config repeats.toml --data-path jsc.h5 --load "$CKPT" --project tpe3
python3 - <<'PY' && pass || fail "dedup = false did not run 20 trials"
import json
log = json.load(open("mase_output/tpe3/software/search_ckpts/log.json"))
assert len(log) == 20 and all("dedup_of" not in t for t in log), len(log)
assert len({json.dumps(t["params"], sort_keys=True) for t in log}) < 20
PY

# Lab 4: uniform multiplier grid and per-layer TPE (widths propagate; no parent needed).
ok "$CHOP" search --config "$CONFIGS/lab4_channel_grid_synth.toml" --data-path jsc.h5 --project grid
has "Best trial(s):"
python3 - <<'PY' && pass || fail "lab 4 grid did not try multipliers 1..5"
import json
log = json.load(open("mase_output/grid/software/search_ckpts/log.json"))
assert sorted(t["params"]["channel_multiplier"] for t in log) == [1, 2, 3, 4, 5]
params = {t["params"]["channel_multiplier"]: t["hardware_metrics"]["params"] for t in log}
assert params[1] == 32 + 272 + 272 + 85 and params[2] == 32 + 544 + 1056 + 165, params
PY
ok "$CHOP" search --config "$CONFIGS/lab4_channel_tpe_synth.toml" --data-path jsc.h5 --project lab4tpe
has "Best trial(s):"

fails "needs --config" "$CHOP" search jsc-tiny jsc
printf 'model = "jsc-tiny"\ndataset = "jsc"\n' > nosearch.toml
fails "no [search] table" "$CHOP" search --config nosearch.toml --data-path jsc.h5
sed 's/sampler = "tpe"/sampler = "tpx"/' "$CONFIGS/lab3_quantize_tpe_synth.toml" > badsampler.toml
fails "unknown sampler 'tpx'" "$CHOP" search --config badsampler.toml --data-path jsc.h5
