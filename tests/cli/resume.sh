# kill -9 a running search mid-trial, then --resume: completed trials kept, the dead RUNNING
# trial becomes FAIL, the study reaches n_trials COMPLETE trials.
CONFIGS="$(dirname "$CASE")/../../configs"
ok "$CHOP" data synth jsc --out jsc.h5 --rows 8000 --seed 0
sed -e 's/^n_trials = 20/n_trials = 8/' -e 's/^max_epochs = 2/max_epochs = 1/' \
  "$CONFIGS/lab4_channel_tpe_synth.toml" > slow.toml
DB=mase_output/r/software/search_ckpts/study.db
# The first run SIGKILLs itself once trial 3 is RUNNING (trials 0-2 COMPLETE): kill -9 mid-trial.
CHOP_FAULT_KILL_AT_TRIAL=3 "$CHOP" search --config slow.toml --data-path jsc.h5 --project r > first.log 2>&1
[ $? -eq 137 ] && pass || fail "the first run was not killed by SIGKILL: $(tail -3 first.log)"
BEFORE=$(python3 -c "import sqlite3; c=sqlite3.connect('$DB'); print(c.execute(\"select count(*) from trials where state='COMPLETE'\").fetchone()[0])")
[ "$BEFORE" -eq 3 ] && pass || fail "expected 3 COMPLETE trials before the kill, got $BEFORE"
ok "$CHOP" search --config slow.toml --data-path jsc.h5 --project r --resume
has "Best trial(s):"
python3 - "$DB" "$BEFORE" <<'PY' && pass || fail "resume did not keep trials, fail the dead one and reach 8 COMPLETE"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
states = dict(c.execute("select state, count(*) from trials group by state").fetchall())
assert states.get("COMPLETE") == 8, states
assert states.get("FAIL", 0) >= 1, states        # the trial the kill interrupted
assert c.execute("select state from trials where number = 3").fetchone()[0] == "FAIL"
assert "RUNNING" not in states, states
numbers = [n for (n,) in c.execute("select number from trials order by number")]
assert numbers == list(range(len(numbers))), numbers
PY
fails "already exists" "$CHOP" search --config slow.toml --data-path jsc.h5 --project r
