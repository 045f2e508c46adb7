# --n-workers: worker processes share one SQLite study with no master, including the grid
# (brute-force) sampler: every point of the lab 3 grid is evaluated once, then all stop; and a
# TPE study ends at exactly n_trials.
CONFIGS="$(dirname "$CASE")/../../configs"
ok "$CHOP" data synth jsc --out jsc.h5 --rows 3000 --seed 0
ok "$CHOP" search --config "$CONFIGS/lab3_quantize_bruteforce_synth.toml" --data-path jsc.h5 --project w --n-workers 2
has "Best trial(s):"
python3 - mase_output/w/software/search_ckpts/study.db <<'PY' && pass || fail "the workers did not share the grid: every point once"
import sqlite3, sys, collections
c = sqlite3.connect(sys.argv[1])
states = dict(c.execute("select state, count(*) from trials group by state").fetchall())
assert states == {"COMPLETE": 18}, states
points = collections.defaultdict(list)
for tid, name, value in c.execute("select trial_id, param_name, param_value from trial_params order by param_name"):
    points[tid].append((name, value))
assert len(set(tuple(p) for p in points.values())) == 18, points
ids = sorted(int(v) for (v,) in c.execute("select value_json from trial_system_attributes where key = 'grid_id'"))
assert ids == list(range(18)), ids
PY
# Workers stop at the study's n_trials exactly (each used to overshoot by up to one trial).
ok "$CHOP" search --config "$CONFIGS/lab3_quantize_tpe_synth.toml" --data-path jsc.h5 --project t --n-workers 4
python3 - mase_output/t/software/search_ckpts/study.db <<'PY' && pass || fail "4 workers did not stop at n_trials = 20"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
states = dict(c.execute("select state, count(*) from trials group by state").fetchall())
assert states == {"COMPLETE": 20}, states
PY
