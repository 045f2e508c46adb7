# chop search with the supernet strategy: one supernet trained, every candidate scored from it,
# the best retrained stand-alone, fidelity reported; bad supernet configs refused before any work.
CONFIGS="$(dirname "$CASE")/../../configs"
ok "$CHOP" data synth jsc --out jsc.h5 --rows 6000 --seed 0
sed -e 's/^name = "optuna"/name = "supernet"/' -e 's/^n_trials = 20/n_trials = 300/' \
  "$CONFIGS/lab4_channel_per_layer_synth.toml" > supernet.toml
cat >> supernet.toml <<'TOML'

[search.strategy.supernet]
max_epochs = 2
retrain = 2
fidelity_samples = 4
calibration_batches = 4
TOML
ok "$CHOP" search --config supernet.toml --data-path jsc.h5 --project sn
has "supernet: trained in"
has "256 candidates scored in"
has "6 configurations trained stand-alone"
has "fidelity of the supernet's loss over 6 stand-alone configurations: Kendall's tau"
has "all 256 configurations of the search space are evaluated"
DIR=mase_output/sn/software/search_ckpts
for f in supernet.json best.ckpt report.html log.json supernet/supernet.ckpt; do
  [ -f "$DIR/$f" ] && pass || fail "missing search_ckpts/$f"
done
python3 - "$DIR" <<'PY' && pass || fail "supernet.json does not describe the retraining"
import json, sys, math
d = sys.argv[1]
log = json.load(open(d + "/log.json"))
sn = json.load(open(d + "/supernet.json"))
assert len(log) == 256 and len({json.dumps(t["params"], sort_keys=True) for t in log}) == 256
rows = sn["standalone"]
assert [r["role"] for r in rows] == ["best", "best", "sample", "sample", "sample", "sample"], rows
# The retrained are the two best candidates by the supernet's score, its validation loss.
assert sn["score"] == "loss" and sn["metric"] == "accuracy"
by_score = sorted(log, key=lambda t: (t["software_metrics"]["loss"], t["number"]))
assert [r["trial"] for r in rows[:2]] == [t["number"] for t in by_score[:2]]
for r in rows:
    t = next(t for t in log if t["number"] == r["trial"])
    assert r["params"] == t["params"] and abs(r["supernet"] - t["software_metrics"]["accuracy"]) < 1e-12
    assert abs(r["score"] - t["software_metrics"]["loss"]) < 1e-12
    assert 0 <= r["standalone"] <= 1 and r["software_metrics"]["accuracy"] == r["standalone"]
f = sn["fidelity"]
assert f["configs"] == 6 and f["top_k"] == 2 and 0 <= f["top_k_overlap"] <= 2
assert f["kendall_tau"] is None or -1 <= f["kendall_tau"] <= 1
assert sn["best"]["role"] == "best" and sn["best"]["standalone"] == max(r["standalone"] for r in rows[:2])
assert sn["supernet"]["candidates_scored"] == 256
PY
ok "$CHOP" test jsc-s jsc --data-path jsc.h5 --load "$DIR/best.ckpt" --project sn
has "accuracy"
grep -q "Supernet fidelity" "$DIR/report.html" && pass || fail "report lacks the fidelity chart"
# chop report reads supernet.json back.
ok "$CHOP" report "$DIR" --out again.html
grep -q "Supernet fidelity" again.html && pass || fail "chop report lost the fidelity chart"

# Same config and seed: the same scores and the same retrained configurations.
ok "$CHOP" search --config supernet.toml --data-path jsc.h5 --project sn2
python3 - <<'PY' && pass || fail "a supernet search is not deterministic"
import json
a = json.load(open("mase_output/sn/software/search_ckpts/supernet.json"))
b = json.load(open("mase_output/sn2/software/search_ckpts/supernet.json"))
strip = lambda s: [(r["trial"], r["supernet"], r["standalone"]) for r in s["standalone"]]
assert strip(a) == strip(b), (strip(a), strip(b))
PY
# Ctrl-C while the candidates are scored up front: exit 130, and every candidate scored by then
# is a COMPLETE trial with the scores of the whole run (none computed is lost).
CHOP_FAULT_INTERRUPT_AT_CANDIDATE=40 "$CHOP" search --config supernet.toml --data-path jsc.h5 --project stopped \
  >stopped.txt 2>&1
rc=$?
[ $rc -eq 130 ] && pass || fail "a supernet search stopped while scoring exited $rc: $(tail -3 stopped.txt)"
python3 - <<'PY' && pass || fail "a supernet search stopped while scoring lost its scores"
import json
d = "mase_output/{}/software/search_ckpts/"
key = lambda t: json.dumps(t["params"], sort_keys=True)
full = {key(t): t for t in json.load(open(d.format("sn") + "log.json"))}
stopped = json.load(open(d.format("stopped") + "log.json"))
assert 40 <= len(stopped) < 256, len(stopped)
assert len({key(t) for t in stopped}) == len(stopped)
for t in stopped:
    assert t["state"] == "COMPLETE", t
    assert t["software_metrics"] == full[key(t)]["software_metrics"], key(t)
    assert t["values"] == full[key(t)]["values"] and t["config"] == full[key(t)]["config"]
PY

# On one core (no helper thread in training, candidates scored and retrained one at a time) and
# with n_trials below the space (each trial scored when the sampler proposes it): the same numbers.
if taskset -c 0 true 2>/dev/null; then
  ok taskset -c 0 "$CHOP" search --config supernet.toml --data-path jsc.h5 --project one_core
  sed 's/^n_trials = 300/n_trials = 255/' supernet.toml > part.toml
  ok "$CHOP" search --config part.toml --data-path jsc.h5 --project part
  python3 - <<'PY' && pass || fail "a supernet search depends on the cores it ran on or on scoring ahead"
import json
d = "mase_output/{}/software/search_ckpts/"
key = lambda t: (t["number"], json.dumps(t["params"], sort_keys=True), t["software_metrics"])
full, one, part = (json.load(open(d.format(p) + "log.json")) for p in ("sn", "one_core", "part"))
assert [key(t) for t in full] == [key(t) for t in one]
assert len(part) == 255 and [key(t) for t in part] == [key(t) for t in full[:255]]
a, b = (json.load(open(d.format(p) + "supernet.json")) for p in ("sn", "one_core"))
assert a["standalone"] == [dict(r, ckpt=r["ckpt"] and r["ckpt"].replace("one_core", "sn")) for r in b["standalone"]]
PY
fi

# Conv2d + BatchNorm2d (cnn-small on MNIST-shaped data) and a joint width + quantization space
# (candidates quantized from the shared float weights, calibrated, then scored).
ok "$CHOP" data synth mnist --out mn --rows 600 --seed 3
cat > cnn.toml <<'TOML'
model = "cnn-small"
dataset = "mnist"
batch_size = 64
[search.search_space]
name = "graph/architecture/channel"
[search.search_space.setup]
channel_multipliers = [0.25, 0.5]
[search.strategy]
name = "supernet"
[search.strategy.supernet]
max_epochs = 1
retrain = 1
fidelity_samples = 1
[search.strategy.sw_runner.basic_train]
max_epochs = 1
[search.strategy.setup]
n_trials = 8
TOML
ok "$CHOP" search --config cnn.toml --data-dir mn --project cnn
has "8 candidates scored"
has "2 configurations trained stand-alone"
cat > joint.toml <<'TOML'
model = "jsc-s"
dataset = "jsc"
[search.search_space]
name = "graph/joint/channel_quantize"
[search.search_space.setup]
channel_multipliers = [0.5, 1]
by = "type"
[search.search_space.seed.linear.config]
name = ["integer"]
data_in_width = [8]
weight_width = [4, 8]
bias_width = [8]
[search.strategy]
name = "supernet"
[search.strategy.supernet]
max_epochs = 1
retrain = 1
fidelity_samples = 2
[search.strategy.sw_runner.basic_train]
max_epochs = 1
[search.strategy.setup]
n_trials = 40
TOML
ok "$CHOP" search --config joint.toml --data-path jsc.h5 --project joint
has "32 candidates scored"
python3 - <<'PY' && pass || fail "joint supernet candidates are not quantized"
import json
log = json.load(open("mase_output/joint/software/search_ckpts/log.json"))
assert len(log) == 32
assert all("quantization_scales" in t for t in log), log[0].keys()
widths = {t["params"]["linear/config/weight_width"] for t in log}
assert widths == {4, 8}, widths
PY

# Bad supernet configs: one line naming the key, before any training.
sed 's/^retrain = 2/retrain = 0/' supernet.toml > bad1.toml
fails "[search.strategy.supernet] retrain must be >= 1, but got 0" "$CHOP" search --config bad1.toml --data-path jsc.h5 --project bad
sed 's/^max_epochs = 2$/max_epoch = 2/' supernet.toml > bad2.toml
fails "max_epoch" "$CHOP" search --config bad2.toml --data-path jsc.h5 --project bad
sed 's|^name = "graph/architecture/channel"|name = "graph/quantize/mixed_precision_ptq"|' supernet.toml > bad3.toml
fails "searches channel widths" "$CHOP" search --config bad3.toml --data-path jsc.h5 --project bad
fails "trains its supernet in one process" "$CHOP" search --config supernet.toml --data-path jsc.h5 --project sn --resume
[ ! -d mase_output/bad ] && pass || fail "a refused config wrote outputs"
