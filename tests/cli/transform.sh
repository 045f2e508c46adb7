# chop transform, chop list passes, chop describe-pass: the shipped lab configs end to end.
CONFIGS="$(cd "$(dirname "$CASE")/../../configs" && pwd)"

ok "$CHOP" list passes
has "redefine_linear"
has "summarize_quantization"
ok "$CHOP" describe-pass quantize
has "QuantizeOptions"
has "by"
ok "$CHOP" describe-pass init_metadata
has "add_common_metadata"
fails "unknown pass 'quantise'" "$CHOP" describe-pass quantise

ok "$CHOP" data synth jsc --out jsc.h5 --rows 2000 --seed 1

# Lab 4 task 1: the three Linears doubled, ReLUs between.
ok "$CHOP" transform jsc-three-linear-relu jsc --data-path jsc.h5 --config "$CONFIGS/lab4_redefine_linear_double.toml" --project dbl
has "Linear(in_features=16, out_features=32, bias=True), ReLU(inplace=True), Linear(in_features=32, out_features=32, bias=True), ReLU(inplace=True), Linear(in_features=32, out_features=5, bias=True)"
has "transformed checkpoint: mase_output/dbl/software/transform/transformed_ckpt"
ok "$CHOP" test jsc-three-linear-relu jsc --data-path jsc.h5 --load mase_output/dbl/software/transform/transformed_ckpt --project dbl
has "test metrics"
ok "$CHOP" train jsc-three-linear-relu jsc --data-path jsc.h5 --load mase_output/dbl/software/transform/transformed_ckpt --max-epochs 1 --project dbl
has "best checkpoint"

# Task 3: 16 -> 32 -> 64 -> 5 from multipliers 2 and 4, no parent keys.
ok "$CHOP" transform jsc-three-linear-relu jsc --data-path jsc.h5 --config "$CONFIGS/lab4_redefine_linear_nonuniform.toml" --project nu
has "Linear(in_features=16, out_features=32, bias=True), ReLU(inplace=True), Linear(in_features=32, out_features=64, bias=True), ReLU(inplace=True), Linear(in_features=64, out_features=5, bias=True)"

# Lab 2: train jsc-toy, quantize it by type (with profiling on the data) and by name.
ok "$CHOP" train jsc-toy jsc --data-path jsc.h5 --max-epochs 2 --project toy
ok "$CHOP" transform jsc-toy jsc --data-path jsc.h5 --config "$CONFIGS/lab2_quantize_by_type.toml" --load mase_output/toy/software/training_ckpts/best.ckpt --project qt
has "== pass 3: quantize"
has "integer[8, 4]"
has "average_bitwidth: 8"
has "statistics over 4 batch(es) of the train split"
ok "$CHOP" test jsc-toy jsc --data-path jsc.h5 --load mase_output/qt/software/transform/transformed_ckpt --project qt
has "test metrics"
ok "$CHOP" transform jsc-toy jsc --data-path jsc.h5 --config "$CONFIGS/lab2_quantize_by_name.toml" --project qn
has "minifloat[8, 4, 7]"

# Errors: one clean line naming the pass and position.
cat > bad_key.toml <<'TOML'
[passes.count_flops]
[passes.quantize]
bi = "type"
TOML
fails "pass 2 (quantize): unknown option of [passes.quantize] 'bi'" "$CHOP" transform jsc-toy jsc --data-path jsc.h5 --config bad_key.toml
cat > bad_mult.toml <<'TOML'
[passes.redefine_linear.seq_blocks_2.config]
name = "output_only"
channel_multiplier = -1
TOML
fails "channel_multiplier must be > 0" "$CHOP" transform jsc-three-linear-relu jsc --data-path jsc.h5 --config bad_mult.toml
cat > bad_pass.toml <<'TOML'
[passes.redefine_linaer]
TOML
fails "unknown pass 'redefine_linaer'; known: redefine_linear" "$CHOP" transform jsc-tiny jsc --data-path jsc.h5 --config bad_pass.toml
fails "needs --config with [passes.<name>]" "$CHOP" transform jsc-tiny jsc --data-path jsc.h5
