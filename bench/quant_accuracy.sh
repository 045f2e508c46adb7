#!/usr/bin/env bash
# Issue 10's accuracy targets on the real Fashion-MNIST: mlp 784-256-128-10, every Linear
# quantized (bias 8 bits), one epoch of quantization-aware training (Adam 2e-3, batch 256,
# seed 0), test accuracy for weight widths 2, 3, 4, 8 x input widths 4, 8, in each scaling:
# frac (MASE's default frac width, width // 2), stats and learned. Then post-training
# quantization: a float mlp trained 5 epochs, quantized with stats and evaluated without training.
# Usage: bench/quant_accuracy.sh (after `make build`); prints markdown tables.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHOP="$ROOT/build/chop"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

space() {  # $1: extra keys of the linear config table, $2: runner table
  cat <<TOML
model = "mlp"
dataset = "fashion-mnist"
batch_size = 256
learning_rate = 2e-3
seed = 0
[search.search_space]
name = "graph/quantize/mixed_precision_ptq"
[search.search_space.setup]
by = "type"
[search.search_space.seed.linear.config]
name = ["integer"]
$1
[search.strategy]
name = "optuna"
$2
[search.strategy.hw_runner.bops]
[search.strategy.setup]
n_trials = 100
sampler = "grid"
seed = 0
[search.strategy.metrics]
accuracy.scale = 1.0
accuracy.direction = "maximize"
TOML
}
QAT='[search.strategy.sw_runner.basic_train]
max_epochs = 1
data_loader = "test_dataloader"'
WIDTHS='data_in_width = [4, 8]
weight_width = [2, 3, 4, 8]
bias_width = [8]'

table() {  # $1: project; prints "| w x i | accuracy |" rows
  python3 - "mase_output/$1/software/search_ckpts/log.json" <<'PY'
import json, sys
widths = lambda t: (t["config"]["quantize"]["linear"]["config"]["weight_width"], t["config"]["quantize"]["linear"]["config"]["data_in_width"])
for t in sorted(json.load(open(sys.argv[1])), key=widths):
    w, i = widths(t)
    print(f'| {w} x {i} | {t["software_metrics"]["accuracy"]:.4f} | {t.get("duration_s", 0):.1f} s |')
PY
}

for scaling in frac stats learned; do
  if [ $scaling = frac ]; then keys='data_in_frac_width = ["NA"]
weight_frac_width = ["NA"]
bias_frac_width = ["NA"]'; else keys="scaling = [\"$scaling\"]"; fi
  space "$keys
$WIDTHS" "$QAT" > $scaling.toml
  "$CHOP" search --config $scaling.toml --project $scaling >/dev/null 2>&1
  echo "### QAT, scaling = \"$scaling\" (weight x input bits | test accuracy | trial time)"
  table $scaling
done

# Post-training quantization of a float model trained 5 epochs.
"$CHOP" train mlp fashion-mnist --max-epochs 5 --batch-size 256 --learning-rate 2e-3 --seed 0 --project float >/dev/null 2>&1
CKPT=mase_output/float/software/training_ckpts/best.ckpt
"$CHOP" test mlp fashion-mnist --load "$CKPT" --project float 2>/dev/null | grep -m1 accuracy | sed 's/^/float (5 epochs): /'
space 'scaling = ["stats"]
data_in_width = [8]
weight_width = [4, 8]
bias_width = [8]' '[search.strategy.sw_runner.basic_evaluation]
data_loader = "test_dataloader"' > ptq.toml
"$CHOP" search --config ptq.toml --load "$CKPT" --project ptq >/dev/null 2>&1
echo "### PTQ, scaling = \"stats\", calibrated on 8 training batches (weight x input bits | test accuracy)"
table ptq
