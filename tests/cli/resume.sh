# kill -9 a running search mid-trial, then --resume: completed trials kept, the dead RUNNING
# trial becomes FAIL, the study reaches n_trials COMPLETE trials.
CONFIGS="$(dirname "$CASE")/../../configs"
ok "$CHOP" data synth jsc --out jsc.h5 --rows 40000 --seed 0
sed -e 's/^n_trials = 20/n_trials = 8/' -e 's/^max_epochs = 2/max_epochs = 3/' \
  "$CONFIGS/lab4_channel_tpe_synth.toml" > slow.toml
DB=mase_output/r/software/search_ckpts/study.db
"$CHOP" search --config slow.toml --data-path jsc.h5 --project r > first.log 2>&1 &
PID=$!
# Wait until at least two trials are COMPLETE and one is RUNNING, then kill -9.
for _ in $(seq 1 600); do
  n=$(python3 -c "import sqlite3; c=sqlite3.connect('$DB'); print(c.execute(\"select count(*) from trials where state='COMPLETE'\").fetchone()[0])" 2>/dev/null || echo 0)
  r=$(python3 -c "import sqlite3; c=sqlite3.connect('$DB'); print(c.execute(\"select count(*) from trials where state='RUNNING'\").fetchone()[0])" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 2 ] && [ "${r:-0}" -ge 1 ] && break
  sleep 0.05
done
kill -9 $PID; wait $PID 2>/dev/null
BEFORE=$(python3 -c "import sqlite3; c=sqlite3.connect('$DB'); print(c.execute(\"select count(*) from trials where state='COMPLETE'\").fetchone()[0])")
[ "$BEFORE" -ge 2 ] && [ "$BEFORE" -lt 8 ] && pass || fail "kill came too late or too early: $BEFORE complete"
ok "$CHOP" search --config slow.toml --data-path jsc.h5 --project r --resume
has "Best trial(s):"
python3 - "$DB" "$BEFORE" <<'PY' && pass || fail "resume did not keep trials, fail the dead one and reach 8 COMPLETE"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
states = dict(c.execute("select state, count(*) from trials group by state").fetchall())
assert states.get("COMPLETE") == 8, states
assert states.get("FAIL", 0) >= 1, states        # the trial the kill interrupted
assert "RUNNING" not in states, states
numbers = [n for (n,) in c.execute("select number from trials order by number")]
assert numbers == list(range(len(numbers))), numbers
PY
fails "already exists" "$CHOP" search --config slow.toml --data-path jsc.h5 --project r
