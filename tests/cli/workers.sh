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
# Workers stop at the study's n_trials exactly (each used to overshoot by up to one trial); with
# dedup = false, since the space's 18 configurations would end the search first.
sed 's/n_trials = 20/n_trials = 20\ndedup = false/' "$CONFIGS/lab3_quantize_tpe_synth.toml" > repeats.toml
ok "$CHOP" search --config repeats.toml --data-path jsc.h5 --project t --n-workers 4
python3 - mase_output/t/software/search_ckpts/study.db <<'PY' && pass || fail "4 workers did not stop at n_trials = 20"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
states = dict(c.execute("select state, count(*) from trials group by state").fetchall())
assert states == {"COMPLETE": 20}, states
PY
# Distinct proposals across 4 workers: every one of the 18 configurations is evaluated, then all
# stop. (Two worker processes may rarely pick the same configuration in the same instant: at most
# one extra trial per other worker.)
ok "$CHOP" search --config "$CONFIGS/lab3_quantize_tpe_synth.toml" --data-path jsc.h5 --project d --n-workers 4
python3 - mase_output/d/software/search_ckpts/study.db <<'PY' && pass || fail "4 workers did not share the distinct configurations"
import sqlite3, sys, collections
c = sqlite3.connect(sys.argv[1])
states = dict(c.execute("select state, count(*) from trials group by state").fetchall())
assert set(states) == {"COMPLETE"} and 18 <= states["COMPLETE"] <= 21, states
points = collections.defaultdict(list)
for tid, name, value in c.execute("select trial_id, param_name, param_value from trial_params order by param_name"):
    points[tid].append((name, value))
assert len(set(tuple(p) for p in points.values())) == 18, points
PY
