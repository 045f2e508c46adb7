# Faults (issue 13, docs/reliability.md): a search stopped by SIGINT, SIGTERM or SIGKILL at any
# moment (training, storage writes, the report) leaves every output file whole or absent, never
# truncated, and --resume finishes the study; a disk that fills mid-search gives one clear error,
# the study in storage intact, and --resume finishes once space returns.
CONFIGS="$(dirname "$CASE")/../../configs"
ok "$CHOP" data synth jsc --out jsc.h5 --rows 3000 --seed 0
sed 's/n_trials = 20/n_trials = 6/' "$CONFIGS/lab4_channel_tpe_synth.toml" > six.toml
# (dedup = false: the space's 16 configurations would end the search before the disk fills.)
sed 's/n_trials = 20/n_trials = 200\ndedup = false/' "$CONFIGS/lab4_channel_tpe_synth.toml" > long.toml

# check_outputs DIR: every file present parses; no temporary file is left by a clean stop.
check_outputs() {
  python3 - "$1" "${2:-}" <<'PY'
import csv, json, os, sqlite3, sys
d, killed = sys.argv[1], sys.argv[2] == "KILL"
if not os.path.isdir(d):
    sys.exit(0)
names = os.listdir(d)
for n in names:
    p = os.path.join(d, n)
    if n.endswith(".json"):
        json.load(open(p))
    elif n.endswith(".csv"):
        rows = list(csv.reader(open(p)))
        assert rows and all(len(r) == len(rows[0]) for r in rows), f"{n}: ragged rows"
    elif n.endswith(".html"):
        assert open(p).read().rstrip().endswith("</html>"), f"{n} truncated"
    elif n.endswith(".db"):
        c = sqlite3.connect(p)
        assert c.execute("pragma integrity_check").fetchone()[0] == "ok", f"{n} corrupt"
    elif ".tmp" in n:
        assert killed, f"temporary file {n} left after a clean stop"
for sub in ("trials",):
    t = os.path.join(d, sub)
    for n in os.listdir(t) if os.path.isdir(t) else []:
        assert n.endswith(".ckpt") or (killed and ".tmp" in n), f"{sub}/{n}"
PY
}

# Signals at moments spread over a whole run's duration hit setup, training, storage writes and
# the report (written last).
t0=$(date +%s.%N)
ok "$CHOP" search --config six.toml --data-path jsc.h5 --project whole
T=$(echo "$t0 $(date +%s.%N)" | awk '{print $2 - $1}')
check_outputs mase_output/whole/software/search_ckpts && pass || fail "a whole run's outputs do not parse"
n=0
for sig in INT TERM KILL; do
  for share in 0.1 0.35 0.6 0.8 0.9 0.97; do
    delay=$(echo "$T $share" | awk '{printf "%.2f", $1 * $2}')
    n=$((n + 1))
    p=s$n
    "$CHOP" search --config six.toml --data-path jsc.h5 --project $p >stdout.txt 2>stderr.txt &
    pid=$!
    sleep $delay
    kill -s $sig $pid 2>/dev/null
    wait $pid
    rc=$?
    if [ $sig != KILL ] && [ $rc -ne 0 ] && [ $rc -ne 130 ] && [ $rc -ne 143 ]; then
      fail "SIG$sig after $delay s: exit $rc: $(tail -2 stderr.txt)"
    fi
    check_outputs mase_output/$p/software/search_ckpts $sig && pass || fail "SIG$sig after $delay s: outputs broken"
    # --resume finishes the study (a killed trial ends FAIL by its stale heartbeat).
    if [ -e mase_output/$p/software/search_ckpts/study.db ]; then
      ok "$CHOP" search --config six.toml --data-path jsc.h5 --project $p --resume
      check_outputs mase_output/$p/software/search_ckpts && pass || fail "SIG$sig after $delay s: outputs after --resume broken"
      python3 - mase_output/$p/software/search_ckpts/study.db <<'PY' && pass || fail "SIG$sig after $delay s: resume did not finish"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n = c.execute("select count(*) from trials where state = 'COMPLETE'").fetchone()[0]
assert n == 6, n
assert c.execute("select count(*) from trials where state = 'RUNNING'").fetchone()[0] == 0
PY
    fi
  done
done

# The disk fills, or the output folder becomes read-only, mid-search: the project folder is a
# small tmpfs, filled up (or remounted read-only) once the first trial's checkpoint is there. The
# search stops with one clear line, the study in storage stays intact, and once the disk is
# usable again --resume finishes it.
# storage_fault NAME SIZE BREAK REPAIR EXPECTED-ERROR
storage_fault() {
  local name=$1 size=$2 break_it=$3 repair=$4 want=$5
  mkdir -p small
  if ! mount -t tmpfs -o size="$size" tmpfs small 2>/dev/null; then
    echo "faults.sh: cannot mount a tmpfs here (not root?): the $name case is skipped" >&2
    return
  fi
  "$CHOP" search --config long.toml --data-path jsc.h5 --project-dir small \
    --project full >stdout.txt 2>stderr.txt &
  local pid=$!
  for _ in $(seq 600); do
    ls small/full/software/search_ckpts/trials/*.ckpt >/dev/null 2>&1 && break
    sleep 0.1
  done
  eval "$break_it"
  wait $pid
  local rc=$?
  [ $rc -ne 0 ] && pass || fail "$name: exit 0"
  grep -qE "$want" stderr.txt && pass || fail "$name: no clear error: $(tail -3 stderr.txt)"
  [ "$(grep -c "error" stderr.txt)" -eq 1 ] && pass || fail "$name: not one error line: $(cat stderr.txt)"
  eval "$repair"
  python3 - small/full/software/search_ckpts/study.db <<'PY' && pass || fail "$name: the study is not intact"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert c.execute("pragma integrity_check").fetchone()[0] == "ok"
assert c.execute("select count(*) from trials where state = 'COMPLETE'").fetchone()[0] > 0
PY
  ok "$CHOP" search --config long.toml --data-path jsc.h5 --project-dir small \
    --project full --resume
  check_outputs small/full/software/search_ckpts && pass || fail "$name: outputs after --resume broken"
  python3 - small/full/software/search_ckpts/study.db <<'PY' && pass || fail "$name: --resume did not finish"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n = c.execute("select count(*) from trials where state = 'COMPLETE'").fetchone()[0]
assert n == 200, (n, c.execute("select state, count(*) from trials group by state").fetchall())
PY
  umount small
}
storage_fault "a full disk" 16m "dd if=/dev/zero of=small/filler bs=64k 2>/dev/null" "rm -f small/filler" \
  "No space left on device|database or disk is full"
# (Read-only: a read-only bind mount over the trials' folder; root may write anywhere else.)
T=small/full/software/search_ckpts/trials
storage_fault "a read-only folder" 64m "mount --bind $T $T && mount -o remount,bind,ro $T" "umount $T" \
  "Read-only file system"
