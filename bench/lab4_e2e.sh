#!/usr/bin/env bash
# End-to-end target of issue 5: the lab 4 per-layer TPE search (20 trials, each training 2
# epochs on a 200,000-row JSC-shaped synthetic set, then evaluating), wall time and peak memory
# of `chop search`, RUNS times. Usage: bench/lab4_e2e.sh [RUNS] (after `make build`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHOP="$ROOT/build/chop"
RUNS=${1:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
"$CHOP" data synth jsc --out jsc200k.h5 --rows 200000 --seed 0 >/dev/null
for i in $(seq 1 "$RUNS"); do
  rm -rf mase_output
  /usr/bin/time -f "run $i: %e s wall, %M KB peak" "$CHOP" search \
    --config "$ROOT/configs/lab4_channel_tpe_synth.toml" --data-path jsc200k.h5 2>&1 >/dev/null |
    grep "^run "
done
