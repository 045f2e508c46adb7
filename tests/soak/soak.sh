#!/usr/bin/env bash
# Soak and fault tests of shared studies (issue 13; docs/reliability.md). Loopback only; every
# phase stops by itself (a time limit fails it).
#   tests/soak/soak.sh BUILD_DIR [--trials N] [--quick] [--only sqlite|postgres|outage]
# Phases (each a fresh study of a grid of N points, x = 0 .. N-1, a trial sleeps 0.3 s):
#   sqlite    4 worker processes on one SQLite file; a driver kills a random worker with SIGKILL
#             every 1-2 s and starts a new one in its place.
#   postgres  8 workers on one PostgreSQL database, killed the same way.
#   outage    8 workers on PostgreSQL; the server is stopped for 10 s mid-search and restarted.
# Each phase ends with Debian's python3-optuna reading the storage: exactly N COMPLETE trials,
# each point once; every other trial FAIL with its fail_reason (a killed worker's trial, failed
# by its stale heartbeat); nothing RUNNING. One summary line per phase; exit 1 on any failure.
# --quick: N = 100 (CI). Default N = 200.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD=${1:?usage: soak.sh BUILD_DIR [--trials N] [--quick] [--only PHASE]}
shift
BUILD="$(cd "$BUILD" && pwd)"
WORKER="$BUILD/search_worker"
TRIALS=200
ONLY=""
while [ $# -gt 0 ]; do
  case $1 in
    --trials) TRIALS=$2; shift ;;
    --quick) TRIALS=100 ;;
    --only) ONLY=$2; shift ;;
    *) echo "soak.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$WORKER" ] || { echo "soak.sh: $WORKER not built (cmake --build $BUILD --target search_worker)" >&2; exit 2; }
PYTHON=""
for p in "${CHOP_PYTHON:-}" python3 /usr/bin/python3; do
  [ -n "$p" ] && "$p" -c "import optuna" 2>/dev/null && { PYTHON=$p; break; }
done
[ -n "$PYTHON" ] || { echo "soak.sh: no python3 with optuna (apt-get install python3-optuna)" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
FAILED=0
SLEEP_MS=300
HEARTBEAT=0.5
GRACE=3
LIMIT=600  # seconds per phase

declare -A PIDS  # pid -> log file
N_STARTED=0
start_worker() {
  local url=$1 study=$2
  N_STARTED=$((N_STARTED + 1))
  local log="$WORK/worker-$N_STARTED.log"
  "$WORKER" "$url" "$study" "$TRIALS" --total --grid "$TRIALS" --seed "$N_STARTED" --sleep-ms "$SLEEP_MS" \
    --heartbeat "$HEARTBEAT" --grace "$GRACE" >"$log" 2>&1 &
  PIDS[$!]=$log
}

# run_phase NAME URL STUDY WORKERS KILL(yes|no) [OUTAGE_AT_SECONDS]
run_phase() {
  local name=$1 url=$2 study=$3 workers=$4 kill=$5 outage_at=${6:-}
  PIDS=()
  N_STARTED=0
  local kills=0 outages=0 bad_exit=0 start=$SECONDS next_kill=$((SECONDS + 1)) outage_done=0
  for _ in $(seq "$workers"); do start_worker "$url" "$study"; done
  while [ ${#PIDS[@]} -gt 0 ]; do
    sleep 0.2
    for pid in "${!PIDS[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid"; local rc=$?
        if [ $rc -ne 0 ]; then
          bad_exit=$((bad_exit + 1))
          echo "soak [$name]: worker $pid exited $rc: $(tail -3 "${PIDS[$pid]}")" >&2
        fi
        unset "PIDS[$pid]"
      fi
    done
    if [ "$kill" = yes ] && [ $SECONDS -ge $next_kill ] && [ ${#PIDS[@]} -gt 0 ]; then
      local victims=("${!PIDS[@]}")
      local victim=${victims[$((RANDOM % ${#victims[@]}))]}
      if kill -9 "$victim" 2>/dev/null; then
        wait "$victim" 2>/dev/null
        unset "PIDS[$victim]"
        kills=$((kills + 1))
        start_worker "$url" "$study"
      fi
      next_kill=$((SECONDS + 1 + RANDOM % 2))
    fi
    if [ -n "$outage_at" ] && [ $outage_done -eq 0 ] && [ $((SECONDS - start)) -ge "$outage_at" ]; then
      bash "$ROOT/scripts/start-postgres" --stop
      sleep 10
      bash "$ROOT/scripts/start-postgres" >/dev/null || { echo "soak [$name]: PostgreSQL did not restart" >&2; FAILED=1; }
      outage_done=1
      outages=1
    fi
    if [ $((SECONDS - start)) -gt $LIMIT ]; then
      echo "soak [$name]: not finished after $LIMIT s" >&2
      kill -9 "${!PIDS[@]}" 2>/dev/null
      FAILED=1
      return
    fi
  done
  local elapsed=$((SECONDS - start))
  local reconnected
  reconnected=$(cat "$WORK"/worker-*.log | grep -c "chop: reconnected to" || true)
  local counts
  if ! counts=$("$PYTHON" - "$url" "$study" "$TRIALS" "$kills" <<'PY'

import sys, optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
url, name, n, kills = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
url = url.replace("postgresql://", "postgresql+psycopg2://")
trials = optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)
by_state = {}
for t in trials:
    by_state.setdefault(t.state.name, []).append(t)
complete = by_state.get("COMPLETE", [])
xs = sorted(t.params["x"] for t in complete)
assert len(complete) == n, f"{len(complete)} COMPLETE trials, expected {n}"
assert xs == list(range(n)), f"points evaluated twice or never: {[x for x in range(n) if xs.count(x) != 1][:10]}"
assert set(by_state) <= {"COMPLETE", "FAIL"}, f"trials left {sorted(set(by_state) - {'COMPLETE', 'FAIL'})}"
for t in by_state.get("FAIL", []):
    assert t.system_attrs.get("heartbeat_lost") is True and "no heartbeat" in t.system_attrs.get("fail_reason", ""), \
        f"trial {t.number} FAIL without its reason: {t.system_attrs}"
fails = len(by_state.get("FAIL", []))
assert fails <= kills, f"{fails} FAIL trials but only {kills} kills"
print(f"{len(complete)} COMPLETE, {fails} FAIL")
PY
  ); then
    echo "$counts" >&2
    echo "soak [$name]: FAILED the storage check" >&2
    FAILED=1
  fi
  [ $bad_exit -eq 0 ] || FAILED=1
  if [ -n "$outage_at" ] && [ "$reconnected" -lt 1 ]; then
    echo "soak [$name]: no worker reported a reconnect" >&2
    FAILED=1
  fi
  if [ -n "$outage_at" ]; then
    for said in "chop: lost the connection" "chop: reconnected"; do
      grep -h "$said" "$WORK"/worker-*.log | head -1 | sed "s/^/soak [$name]: a worker said: /"
    done
  fi
  echo "soak [$name]: $workers workers, $N_STARTED started, $kills SIGKILLs, $outages outages survived, $reconnected reconnects; $counts; $elapsed s"
}

run() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

if run sqlite; then
  run_phase sqlite "sqlite:///$WORK/soak.db" soak 4 yes
fi
if run postgres || run outage; then
  PG=$(bash "$ROOT/scripts/start-postgres" | tail -1) || { echo "soak.sh: no PostgreSQL server" >&2; exit 1; }
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
  for phase in postgres outage; do
    run $phase || continue
    db="chop_soak_${phase}_$$"
    PGOPTIONS=--client-min-messages=warning "$PGBIN/psql" -q "$PG" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
      -c "CREATE DATABASE $db" >/dev/null || exit 1
    url="${PG%/*}/$db"
    if [ $phase = postgres ]; then run_phase postgres "$url" soak 8 yes
    else run_phase outage "$url" soak 8 no 3; fi
    "$PGBIN/psql" -q "$PG" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  done
fi
[ $FAILED -eq 0 ] && echo "soak: passed" || echo "soak: FAILED" >&2
exit $FAILED
