#!/usr/bin/env bash
# The weight-sharing supernet (issue 14) against stand-alone training, on the same machine in the
# same session: (1) JSC-S, 256 width configurations, 200,000 synthetic rows: the wall time of 20
# stand-alone TPE trials (configs/lab4_channel_per_layer_synth.toml) against the supernet search
# without its fidelity sample (REPS alternating pairs, default 3), then the supernet search
# (configs/supernet_jsc_s_synth.toml) with its phases, Kendall's tau of its 256 scores against the
# stand-alone tables bench/tables/jsc_s_widths.csv (seed 0), jsc_s_widths_seed1.csv (seed 1) and
# their mean, over all 256 and over 100 random samples of 32, and the retrained best against the
# best of the table; (2) the MLP on Fashion-MNIST (configs/supernet_mlp_fmnist.toml, 9
# configurations, all trained stand-alone by the search itself). Usage: bench/supernet.sh (after
# `make build`; Fashion-MNIST as `make demo` installs it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHOP="$ROOT/build/chop"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
"$CHOP" data synth jsc --out jsc200k.h5 --rows 200000 --seed 0 >/dev/null
seconds() { local start end; start=$(date +%s.%N); "$@" > out.txt 2>/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc; }
echo "date: $(date -u +%F), CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
# The time target counts training, scoring and retraining the best 3 (no fidelity sample): that
# run and the 20 stand-alone trials alternate REPS times (this machine's speed drifts by up to 1.5x
# within minutes), medians compared.
sed 's/^fidelity_samples = 8/fidelity_samples = 0/' "$ROOT/configs/supernet_jsc_s_synth.toml" > timed.toml
pairs=""
for rep in $(seq "${REPS:-3}"); do
  a=$(seconds "$CHOP" search --config "$ROOT/configs/lab4_channel_per_layer_synth.toml" --data-path jsc200k.h5 --project "standalone$rep")
  b=$(seconds "$CHOP" search --config timed.toml --data-path jsc200k.h5 --project "timed$rep")
  echo "rep $rep: 20 stand-alone trials $a s, supernet search (train, score 256, retrain 3) $b s"
  pairs="$pairs $a,$b"
done
medians() {  # label, then "a,b" pairs
  python3 - "$@" <<'PY'
import statistics, sys
label, pairs = sys.argv[1], sys.argv[2:]
a = [float(p.split(",")[0]) for p in pairs]
b = [float(p.split(",")[1]) for p in pairs]
print(f"{label} median wall: 20 stand-alone trials {statistics.median(a):.1f} s, supernet search {statistics.median(b):.1f} s: "
      f"{statistics.median(b) / statistics.median(a):.2f} x (per-rep ratios {', '.join(f'{y / x:.2f}' for x, y in zip(a, b))})")
PY
}
medians "default (one stand-alone training at a time; the supernet on every core):" $pairs
# The same resources on both sides: both on one core (taskset), and both on every core (the
# stand-alone trials two at a time, n_jobs = 2, whose order then varies from run to run).
sed 's/^n_trials = 20/n_trials = 20\nn_jobs = 2/' "$ROOT/configs/lab4_channel_per_layer_synth.toml" > standalone_jobs.toml
one="" all=""
for rep in $(seq "${REPS:-3}"); do
  a=$(seconds taskset -c 0 "$CHOP" search --config "$ROOT/configs/lab4_channel_per_layer_synth.toml" --data-path jsc200k.h5 --project one_a$rep)
  b=$(seconds taskset -c 0 "$CHOP" search --config timed.toml --data-path jsc200k.h5 --project one_b$rep)
  one="$one $a,$b"
  a=$(seconds "$CHOP" search --config standalone_jobs.toml --data-path jsc200k.h5 --project all_a$rep)
  b=$(seconds "$CHOP" search --config timed.toml --data-path jsc200k.h5 --project all_b$rep)
  all="$all $a,$b"
done
medians "both on one core:" $one
medians "both on every core (stand-alone n_jobs = 2):" $all
standalone=$(seconds "$CHOP" search --config "$ROOT/configs/lab4_channel_per_layer_synth.toml" --data-path jsc200k.h5 --project standalone)
supernet=$(seconds "$CHOP" search --config "$ROOT/configs/supernet_jsc_s_synth.toml" --data-path jsc200k.h5 --project supernet)
grep -A8 "^supernet:" out.txt
python3 - "$ROOT" "$standalone" "$supernet" <<'PY'
import csv, json, random, sys
root, standalone, supernet = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
K = ["seq_blocks_2", "seq_blocks_5", "seq_blocks_8", "seq_blocks_11"]

def tau(x, y):  # Kendall's tau-b, as scipy.stats.kendalltau
    c = d = tx = ty = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0: continue
            if dx == 0: tx += 1
            elif dy == 0: ty += 1
            elif (dx > 0) == (dy > 0): c += 1
            else: d += 1
    return (c - d) / ((c + d + tx) * (c + d + ty)) ** 0.5

def table(name):
    return {tuple(float(r[k]) for k in K): float(r["accuracy"]) for r in csv.DictReader(open(f"{root}/bench/tables/{name}"))}

d = "mase_output/supernet/software/search_ckpts"
log = json.load(open(f"{d}/log.json"))
sn = json.load(open(f"{d}/supernet.json"))
config = lambda t: tuple(float(t["params"][k + "/channel_multiplier"]) for k in K)
# The supernet's score (its validation loss: lower is better, so negated) and its accuracy.
score = {config(t): -t["software_metrics"][sn["score"]] if sn["score"] == "loss" else t["software_metrics"][sn["score"]] for t in log}
supernet_accuracy = {config(t): t["software_metrics"]["accuracy"] for t in log}
t0, t1 = table("jsc_s_widths.csv"), table("jsc_s_widths_seed1.csv")
truths = {"seed 0": t0, "seed 1": t1, "mean of both": {k: (t0[k] + t1[k]) / 2 for k in t0}}
keys = sorted(t0)
samples = [random.Random(s).sample(keys, 32) for s in range(100)]
def taus(a, b):
    full = tau([a[k] for k in keys], [b[k] for k in keys])
    s = sorted(tau([a[k] for k in ks], [b[k] for k in ks]) for ks in samples)
    return f"all 256: {full:.3f}; 32 sampled: mean {sum(s) / len(s):.3f}, 10th percentile {s[10]:.3f}"
phases = sn["supernet"]
best_rows = [r for r in sn["standalone"] if r["role"] == "best"]
retrain_s = sn["retrain_seconds"] * len(best_rows) / len(sn["standalone"])
print(f"candidates scored: {len(score)}; configurations trained stand-alone: {len(sn['standalone'])}")
print(f"20 stand-alone trials: {standalone:.1f} s wall; supernet search: {supernet:.1f} s wall "
      f"(supernet training {phases['train_seconds']:.1f} s, scoring {phases['scoring_seconds']:.1f} s, "
      f"{len(sn['standalone'])} stand-alone trainings {sn['retrain_seconds']:.1f} s, of which the best {len(best_rows)} ~{retrain_s:.1f} s)")
core = phases["train_seconds"] + phases["scoring_seconds"] + retrain_s
print(f"train + score all + retrain best {len(best_rows)}: {core:.1f} s = {core / standalone:.2f} x the 20 stand-alone trials")
for name, truth in truths.items():
    print(f"Kendall's tau, supernet {sn['score']} vs stand-alone ({name}): {taus(score, truth)}")
    print(f"Kendall's tau, supernet accuracy vs stand-alone ({name}): {taus(supernet_accuracy, truth)}")
print(f"Kendall's tau, stand-alone seed 0 vs seed 1 (the noise ceiling): {taus(t0, t1)}")
best = sn["best"]
print(f"retrained best: trial {best['trial']}, accuracy {best['standalone']:.4f}; best of the seed-0 table "
      f"{max(t0.values()):.4f} (gap {max(t0.values()) - best['standalone']:.4f}); in-run fidelity: {sn['fidelity']}")
PY
# The same time target on the MLP: 20 stand-alone trials of its space (dedup off: 20 trainings of
# its 9 configurations) against the supernet search without its fidelity sample.
sed -e 's/^name = "supernet"/name = "optuna"/' -e 's/^n_trials = 9/n_trials = 20\ndedup = false/' \
  -e '/^\[search.strategy.supernet\]/,/^$/d' "$ROOT/configs/supernet_mlp_fmnist.toml" > mlp_standalone.toml
sed 's/^fidelity_samples = 6/fidelity_samples = 0/' "$ROOT/configs/supernet_mlp_fmnist.toml" > mlp_timed.toml
pairs=""
for rep in $(seq "${REPS:-3}"); do
  a=$(seconds "$CHOP" search --config mlp_standalone.toml --project "mlp_standalone$rep")
  b=$(seconds "$CHOP" search --config mlp_timed.toml --project "mlp_timed$rep")
  echo "mlp rep $rep: 20 stand-alone trials $a s, supernet search (train, score 9, retrain 3) $b s"
  pairs="$pairs $a,$b"
done
python3 - $pairs <<'PY'
import statistics, sys
a = [float(p.split(",")[0]) for p in sys.argv[1:]]
b = [float(p.split(",")[1]) for p in sys.argv[1:]]
print(f"mlp median wall: 20 stand-alone trials {statistics.median(a):.1f} s, supernet search {statistics.median(b):.1f} s: "
      f"{statistics.median(b) / statistics.median(a):.2f} x (per-rep ratios {', '.join(f'{y / x:.2f}' for x, y in zip(a, b))})")
PY
mlp=$(seconds "$CHOP" search --config "$ROOT/configs/supernet_mlp_fmnist.toml" --project mlp)
grep -A8 "^supernet:" out.txt
python3 - "$mlp" <<'PY'
import json, sys
sn = json.load(open("mase_output/mlp/software/search_ckpts/supernet.json"))
rows = sn["standalone"]
best_all = max(r["standalone"] for r in rows)
print(f"mlp / Fashion-MNIST: {sys.argv[1]} s wall; {len(rows)} of 9 configurations trained stand-alone; "
      f"retrained best {sn['best']['standalone']:.4f} vs best stand-alone {best_all:.4f}; fidelity {sn['fidelity']}")
PY
