# The command line keeps its word (issue 11): run flags reach the search's runner,
# an exhausted grid says so, a search stopped by SIGINT / SIGTERM says how far it got, keeps its
# outputs whole and exits 130 / 143.
CONFIGS="$(dirname "$CASE")/../../configs"
ok "$CHOP" data synth jsc --out jsc.h5 --rows 6000 --seed 0

# basic_train says max_epochs = 2; --max-epochs 1 beats it (a flag beats every table).
ok "$CHOP" search --config "$CONFIGS/lab4_channel_grid_synth.toml" --data-path jsc.h5 --project e2
ok "$CHOP" search --config "$CONFIGS/lab4_channel_grid_synth.toml" --data-path jsc.h5 --max-epochs 1 --project e1
python3 <<'PY' && pass || fail "--max-epochs did not reach basic_train"
import json
for project, epochs in (("e2", 2), ("e1", 1)):
    log = json.load(open(f"mase_output/{project}/software/search_ckpts/log.json"))
    assert len(log) == 5 and all(len(t["intermediate_values"]) == epochs for t in log), (project, log[0])
PY

# Behaviour unchanged by the refactors of issue 11: the lab 4 grid (above) and TPE configs give
# the trials, parameters, values and metrics chop gave before them (fixture recorded with commit
# bdb0670, same commands; TPE's again when proposals became distinct, issue 14: its 16
# configurations once each; lab 3's is checked in quantize.sh).
ok "$CHOP" search --config "$CONFIGS/lab4_channel_tpe_synth.toml" --data-path jsc.h5 --project tpe4
python3 - "$(dirname "$CASE")/fixtures/lab4_trials.json" <<'PY' && pass || fail "lab 4 trials changed"
import json, math, sys
want = json.load(open(sys.argv[1]))
for project, config in (("e2", "lab4_channel_grid_synth"), ("tpe4", "lab4_channel_tpe_synth")):
    got = [[t["number"], t["params"], t["values"], t.get("software_metrics"), t.get("hardware_metrics")]
           for t in json.load(open(f"mase_output/{project}/software/search_ckpts/log.json"))]
    assert len(got) == len(want[config]), (config, len(got))
    for g, w in zip(got, want[config]):
        assert g[:2] == w[:2], (config, g[:2], w[:2])
        assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(g[2], w[2])), (config, g, w)
        for k in (3, 4):
            assert g[k].keys() == w[k].keys(), (config, k, g[k], w[k])
            assert all(math.isclose(g[k][m], w[k][m], rel_tol=1e-6, abs_tol=1e-6) for m in g[k]), (config, g, w)
PY

# Brute force: 18 points, n_trials = 20: all evaluated, and the search says it is complete.
ok "$CHOP" train jsc-tiny jsc --data-path jsc.h5 --max-epochs 1 --project lab3
ok "$CHOP" search --config "$CONFIGS/lab3_quantize_bruteforce_synth.toml" --data-path jsc.h5 \
  --load mase_output/lab3/software/training_ckpts/best.ckpt --project bf
has "all 18 configurations of the search space are evaluated (n_trials = 20): the search is complete"

# Stopped by a signal mid-search: one line saying how far, exit 128 + signal, outputs whole.
# (dedup = false: the space's 16 configurations would end the search first.)
sed 's/n_trials = 20/n_trials = 2000\ndedup = false/' "$CONFIGS/lab4_channel_tpe_synth.toml" > long.toml
for sig in INT TERM; do
  "$CHOP" search --config long.toml --data-path jsc.h5 --project sig$sig >stdout.txt 2>stderr.txt &
  pid=$!
  # The signal goes once a trial has finished (its checkpoint is there), at most 60 s from now.
  for _ in $(seq 600); do
    ls mase_output/sig$sig/software/search_ckpts/trials/*.ckpt >/dev/null 2>&1 && break
    sleep 0.1
  done
  kill -s $sig $pid
  wait $pid
  rc=$?
  want=$([ $sig = INT ] && echo 130 || echo 143)
  [ $rc -eq "$want" ] && pass || fail "SIG$sig: exit $rc, expected $want: $(tail -2 stderr.txt)"
  grep -q "search: stopped after [0-9]* of 2000 trials; continue with --resume" stderr.txt && pass ||
    fail "SIG$sig: no 'stopped after N of 2000 trials' line: $(tail -2 stderr.txt)"
  python3 - "sig$sig" <<'PY' && pass || fail "SIG$sig: outputs incomplete"
import csv, json, sys
d = f"mase_output/{sys.argv[1]}/software/search_ckpts"
log = json.load(open(f"{d}/log.json"))
assert 0 < len(log) < 2000
json.load(open(f"{d}/best.json"))
rows = list(csv.reader(open(f"{d}/trials.csv")))
assert len(rows) == len(log) + 1
PY
done

# MASE's two software runners, in file order: basic_train, then basic_evaluation on the test
# split; the trial's accuracy is the evaluation's (later runner wins), as `chop test` measures it.
python3 - "$CONFIGS/lab4_channel_grid_synth.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text = text.replace("[search.strategy.hw_runner", "[search.strategy.sw_runner.basic_evaluation]\ndata_loader = \"test_dataloader\"\n\n[search.strategy.hw_runner", 1)
text = re.sub(r"n_trials = \d+", "n_trials = 2", text)
open("two_runners.toml", "w").write(text)
PY
ok "$CHOP" search --config two_runners.toml --data-path jsc.h5 --project two
has "Best trial(s):"
ok "$CHOP" test jsc-three-linear-relu jsc --data-path jsc.h5 --load mase_output/two/software/search_ckpts/best.ckpt --project two
python3 - "$OUT" <<'PY' && pass || fail "basic_evaluation's test accuracy is not the trial's"
import json, re, sys
test_acc = float(re.search(r"\| accuracy\s+\|\s+([0-9.]+)", sys.argv[1]).group(1))
best = json.load(open("mase_output/two/software/search_ckpts/best.json"))[0]
assert abs(best["software_metrics"]["accuracy"] - test_acc) < 6e-5, (best["software_metrics"], test_acc)
resolved = json.load(open("mase_output/two/software/search_ckpts/resolved_config.json"))
assert "basic_evaluation" in json.dumps(resolved["search"]), resolved["search"]
PY

# A checkpoint of another model than the one named: one line, no evaluation.
fails "holds model 'jsc-tiny', not 'jsc-toy'" "$CHOP" test jsc-toy jsc --data-path jsc.h5 \
  --load mase_output/lab3/software/training_ckpts/best.ckpt

# --resume with another search space than the stored study's: refused, the first run's files kept.
ok "$CHOP" search --config "$CONFIGS/lab4_channel_grid_synth.toml" --data-path jsc.h5 --project mix
cp mase_output/mix/software/search_ckpts/resolved_config.json first_resolved.json
fails "searches parameters channel_multiplier, this config seq_blocks_2/config/channel_multiplier" \
  "$CHOP" search --config "$CONFIGS/lab4_channel_tpe_synth.toml" --data-path jsc.h5 --project mix --resume
cmp -s first_resolved.json mase_output/mix/software/search_ckpts/resolved_config.json && pass ||
  fail "a refused resume overwrote resolved_config.json"
sed 's/channel_multipliers = \[1, 2, 3, 4, 5\]/channel_multipliers = [1, 2]/' "$CONFIGS/lab4_channel_grid_synth.toml" > fewer.toml
fails "parameter 'channel_multiplier' has choices [1,2,3,4,5], this config [1,2]" \
  "$CHOP" search --config fewer.toml --data-path jsc.h5 --project mix --resume
ok "$CHOP" search --config "$CONFIGS/lab4_channel_grid_synth.toml" --data-path jsc.h5 --project mix --resume
# The study was complete: its best trial came in the first run, and its model is still named.
has "best model: mase_output/mix/software/search_ckpts/best.ckpt"

# Bad runner tables fail before any trial, with one line, nothing written.
sed 's/\[search.strategy.hw_runner.params\]/[search.strategy.hw_runner.average_bitwidth]\ncompare_too = 32\n\n[search.strategy.hw_runner.params]/' \
  "$CONFIGS/lab4_channel_grid_synth.toml" > badhw.toml
fails "compare_too" "$CHOP" search --config badhw.toml --data-path jsc.h5 --project badhw
sed 's/\[search.strategy.hw_runner.params\]/[search.strategy.hw_runner.wattage]\n\n[search.strategy.hw_runner.params]/' \
  "$CONFIGS/lab4_channel_grid_synth.toml" > unknownhw.toml
fails "unknown hardware runner 'wattage'" "$CHOP" search --config unknownhw.toml --data-path jsc.h5 --project badhw
sed 's/accuracy.direction = "maximize"/accuracy.direction = "maximize"\nbops.direction = "minimize"/' \
  "$CONFIGS/lab4_channel_grid_synth.toml" > nobops.toml
fails "no runner produces metric 'bops'" "$CHOP" search --config nobops.toml --data-path jsc.h5 --project badhw
[ ! -e mase_output/badhw ] && pass || fail "a refused config wrote mase_output/badhw"

# Every flag a command lists is honoured: `chop test` and `chop transform` do not train, so they
# do not offer training flags; `chop train` does.
ok "$CHOP" test --help
lacks "--max-epochs"
lacks "--learning-rate"
has "--batch-size"
ok "$CHOP" transform --help
lacks "--training-optimizer"
ok "$CHOP" train --help
has "--max-epochs"
fails "not expected: 3 --max-epochs" "$CHOP" test jsc-tiny jsc --data-path jsc.h5 \
  --load mase_output/lab3/software/training_ckpts/best.ckpt --max-epochs 3

# A model declared in the config: the one positional argument is the data set; naming a zoo
# model as well is refused (it used to train the [model] while resolved_config.json said mlp).
cat > custom.toml <<'TOML'
max_epochs = 1
[model]
name = "tiny-custom"
input_shape = [16]
[[model.layers]]
op = "linear"
in_features = 16
out_features = 5
TOML
fails "declares its model in a [model] table, but model 'mlp' was named too" \
  "$CHOP" train mlp jsc --config custom.toml --data-path jsc.h5 --project custom
[ ! -e mase_output/custom ] && pass || fail "a refused train wrote mase_output/custom"
ok "$CHOP" train jsc --config custom.toml --data-path jsc.h5 --project custom

# The resolved config holds everything resolved: every run key, the [model] table the run
# built, [passes] for a transform, and the search's resolved [search] with both runners.
cat > passes.toml <<'TOML'
[passes.quantize]
by = "type"
[passes.quantize.default.config]
name = "integer"
data_in_width = 8
weight_width = 8
bias_width = 8
TOML
ok "$CHOP" transform jsc-tiny jsc --config passes.toml --data-path jsc.h5 --project tr \
  --load mase_output/lab3/software/training_ckpts/best.ckpt
python3 <<'PY' && pass || fail "a resolved config is incomplete"
import json
train = json.load(open("mase_output/custom/software/training_ckpts/resolved_config.json"))
assert train["model"]["name"] == "tiny-custom" and len(train["model"]["layers"]) == 1, train["model"]
assert train["dataset"] == "jsc" and train["max_epochs"] == 1 and train["data_path"] == "jsc.h5", train
for key in ("batch_size", "learning_rate", "training_optimizer", "seed", "num_threads", "project"):
    assert key in train, key
tr = json.load(open("mase_output/tr/software/transform/resolved_config.json"))
assert tr["passes"]["quantize"]["default"]["config"]["weight_width"] == 8, tr
search = json.load(open("mase_output/two/software/search_ckpts/resolved_config.json"))
strategy = search["search"]["strategy"]
assert list(strategy["sw_runner"]) == ["basic_train", "basic_evaluation"], strategy["sw_runner"]
assert strategy["sw_runner"]["basic_train"]["max_epochs"] == 2 and strategy["setup"]["n_trials"] == 2, strategy
assert search["model"] == "jsc-three-linear-relu", search["model"]
study = json.load(open("mase_output/two/software/search_ckpts/study.json"))
assert study["objectives"] == [{"name": "accuracy", "direction": "maximize"}], study
PY

# `chop list metrics`: the metric table, every hardware runner with its options type.
ok "$CHOP" list metrics
has "average_bitwidth"
has "compare_to = 32"
has "warmup = 3"
has "bit operations / sample"
# README's metric table lists every metric of the table, and no other.
python3 - "$(dirname "$CASE")/../../README.md" "$OUT" <<'PY' && pass || fail "README's metric table differs from chop list metrics"
import re, sys
readme = open(sys.argv[1]).read()
section = readme.split("## Metrics", 1)[1].split("\n## ", 1)[0]
documented = re.findall(r"^\| `(\w+)` \|", section, re.M)
listed = [l.split("|")[1].strip() for l in sys.argv[2].splitlines()[2:] if l.startswith("|")]
assert documented == listed, (documented, listed)
PY
