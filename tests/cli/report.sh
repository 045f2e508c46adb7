# chop report: a results directory to one offline HTML file, rendered in headless Chromium.

# A 16-trial, 2-objective study like the lab 4 channel-multiplier search: accuracy (max) and
# bops (min); trial 5 pruned after one epoch, trial 9 failed, the rest complete.
make_results() {
  local dir=$1
  mkdir -p "$dir"
  awk 'BEGIN {
    printf "[\n";
    for (i = 0; i < 16; i++) {
      cm = 1 + (i * 7) % 5; w = (i % 3 == 0) ? 4 : ((i % 3 == 1) ? 8 : 16);
      acc = 0.55 + 0.05 * cm - 0.004 * cm * cm + 0.002 * w + 0.003 * ((i * 5) % 4);
      bops = cm * cm * w * 0.35;
      state = (i == 5) ? "PRUNED" : ((i == 9) ? "FAIL" : "COMPLETE");
      printf "%s  {\"number\": %d, \"state\": \"%s\", ", (i ? ",\n" : ""), i, state;
      printf "\"params\": {\"seq_blocks_2/channel_multiplier\": %d, \"linear/config/weight_width\": %d}, ", cm, w;
      if (state == "FAIL") { printf "\"values\": [], \"fail_reason\": \"out of memory\"}"; continue; }
      if (state == "PRUNED") { printf "\"values\": [], \"intermediate_values\": {\"0\": %.4f}}", acc - 0.2; continue; }
      printf "\"values\": [%.4f, %.4f], ", acc, bops;
      printf "\"software_metrics\": {\"loss\": %.4f, \"accuracy\": %.4f, \"precision_macro\": %.4f, \"recall_macro\": %.4f, \"f1_macro\": %.4f}, ", 1.6 - acc, acc, acc - 0.01, acc - 0.02, acc - 0.015;
      printf "\"hardware_metrics\": {\"params\": %d, \"flops\": %d, \"bops\": %d, \"model_size\": %d, \"latency\": %.3f}, ", 600 * cm * cm, 1200 * cm * cm, bops * 1e6, 600 * cm * cm * w / 8, 0.1 + 0.05 * cm;
      printf "\"scaled_metrics\": {\"accuracy\": %.4f, \"bops\": %.4f}, ", acc, bops;
      printf "\"intermediate_values\": {\"0\": %.4f, \"1\": %.4f, \"2\": %.4f}}", acc - 0.15, acc - 0.05, acc;
    }
    printf "\n]\n";
  }' > "$dir/log.json"
  echo '[]' > "$dir/best.json"
  cat > "$dir/resolved_config.json" <<'JSON'
{"project": "report_case", "model": "jsc-three-linear-relu", "dataset": "jsc",
 "search": {"search_space": {"name": "graph/redefine_linear"},
            "strategy": {"setup": {"n_trials": 16, "sampler": "tpe", "pruning_metric": "accuracy"},
                         "metrics": {"accuracy": {"scale": 1.0, "direction": "maximize"},
                                     "bops": {"scale": 1e-06, "direction": "minimize"}}}}}
JSON
  cat > "$dir/study.json" <<'JSON'
{"name": "report_case",
 "objectives": [{"name": "accuracy", "direction": "maximize"}, {"name": "bops", "direction": "minimize"}],
 "metrics": [{"name": "accuracy", "scale": 1.0, "direction": "maximize"},
             {"name": "bops", "scale": 1e-06, "direction": "minimize"}],
 "pruning_metric": "accuracy"}
JSON
}

make_results results
ok "$CHOP" report results
has "report: results/report.html"
[ -s results/report.html ] && pass || fail "results/report.html not written"
ok "$CHOP" report results --out out/r.html
has "report: out/r.html"
# Offline: the JavaScript is inlined, nothing is loaded from the network.
OUT=$(cat out/r.html)
lacks "<script src"
lacks "cdn.jsdelivr"
has "vegaEmbed"

# A project directory resolves to its software/search_ckpts.
mkdir -p proj/software && cp -r results proj/software/search_ckpts
ok "$CHOP" report proj --out proj.html

fails "results directory 'nowhere' does not exist" "$CHOP" report nowhere
mkdir -p empty
fails "log.json' is missing" "$CHOP" report empty
mkdir -p bad && cp results/resolved_config.json results/study.json bad/ && echo '[{"number": 0,' > bad/log.json
fails "bad/log.json' is not valid JSON" "$CHOP" report bad

# The browser, with name resolution off (the report must work offline): every chart renders
# marks, no console errors, a screenshot is kept.
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
  echo "skip: chromium not installed (scripts/setup installs it); browser checks not run"
  return 0
fi
chrome() {
  timeout 180 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --user-data-dir="$(mktemp -d -p "$WORK")" --enable-logging=stderr --v=0 \
    --host-resolver-rules="MAP * ~NOTFOUND" \
    --virtual-time-budget=10000 "$@"
}
ok chrome --dump-dom "file://$WORK/out/r.html"
# The DOM holds the inlined scripts too: read only the status line the page writes.
OUT=$(printf '%s' "$OUT" | grep -o '<div id="chop-status">[^<]*</div>')
echo "status: $OUT"
# 7 charts: history, Pareto front, 2 x metrics vs param, parallel coordinates, importance, intermediate.
has "rendered 7 of 7 charts"
has "0 empty, 0 errors"
lacks "error:"
if grep -E "CONSOLE|Uncaught" "$WORK/stderr" | grep -qiE "error|uncaught"; then
  fail "console errors: $(grep -E 'CONSOLE|Uncaught' "$WORK/stderr" | head -5)"
else
  pass
fi
ART="${CHOP_ARTIFACT_DIR:-$(dirname "$CHOP")}"
mkdir -p "$ART"
ok chrome --hide-scrollbars --window-size=1400,3000 --screenshot="$WORK/report.png" "file://$WORK/out/r.html"
if [ -s "$WORK/report.png" ]; then
  cp "$WORK/report.png" "$ART/report_screenshot.png" && cp out/r.html "$ART/report_case.html"
  echo "screenshot: $ART/report_screenshot.png"
  pass
else
  fail "no screenshot written"
fi

# A study read back from its SQLite storage (chop report --storage --study-name).
ok "$CHOP" data synth jsc --out st.h5 --rows 2000 --seed 0
ok "$CHOP" train jsc-tiny jsc --data-path st.h5 --max-epochs 1 --project st
ok "$CHOP" search --config "$(dirname "$CASE")/../../configs/lab3_quantize_bruteforce_synth.toml" --data-path st.h5 --load mase_output/st/software/training_ckpts/best.ckpt --project stq
has "report: mase_output/stq/software/search_ckpts/report.html"
ok "$CHOP" report --storage sqlite:///mase_output/stq/software/search_ckpts/study.db --study-name stq --out from_db.html
has "report: from_db.html"
grep -q "seq_blocks_2/config/weight_width" from_db.html && pass || fail "report from storage lacks the study's params"
fails "unknown study 'nope'" "$CHOP" report --storage sqlite:///mase_output/stq/software/search_ckpts/study.db --study-name nope
fails "one of them" "$CHOP" report
