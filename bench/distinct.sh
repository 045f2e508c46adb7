#!/usr/bin/env bash
# Distinct proposals (issue 14): the lab 4 per-layer TPE searches with dedup on (the default) and
# off, on a 200,000-row JSC-shaped synthetic set: trials, distinct configurations, trainings,
# wall time. Usage: bench/distinct.sh (after `make build`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHOP="$ROOT/build/chop"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
"$CHOP" data synth jsc --out jsc200k.h5 --rows 200000 --seed 0 >/dev/null
echo "| config | dedup | trials | distinct configurations | trainings | seconds |"
echo "|---|---|---|---|---|---|"
for config in lab4_channel_tpe_synth lab4_channel_per_layer_synth; do
  for dedup in true false; do
    sed "s/^sampler = /dedup = $dedup\nsampler = /" "$ROOT/configs/$config.toml" > run.toml
    start=$(date +%s.%N)
    "$CHOP" search --config run.toml --data-path jsc200k.h5 --project "$config-$dedup" >/dev/null
    end=$(date +%s.%N)
    python3 - "mase_output/$config-$dedup/software/search_ckpts/log.json" "$config" "$dedup" \
      "$(echo "$end - $start" | bc)" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))
distinct = len({json.dumps(t["params"], sort_keys=True) for t in log})
trained = sum(1 for t in log if "dedup_of" not in t)
print(f"| {sys.argv[2]} | {sys.argv[3]} | {len(log)} | {distinct} | {trained} | {float(sys.argv[4]):.1f} |")
PY
  done
done
