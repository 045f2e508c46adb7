# The chosen model out to hardware flows (issue 12): chop export to ONNX / QONNX, from a
# checkpoint, from a user's TorchScript model (with a config's quantization), and from a search.
CONFIGS="$(dirname "$CASE")/../../configs"
LAB4="$(dirname "$CASE")/../fixtures/models/jsc_three_linear_layers_traced.pt"
ok "$CHOP" data synth jsc --out jsc.h5 --rows 3000 --seed 0

# Lab 4's Python model, quantized by a config (MASE's fixed point), to QONNX.
cat > q.toml <<'TOML'
[passes.quantize]
by = "type"
[passes.quantize.default.config]
name = "NA"
[passes.quantize.linear.config]
name = "integer"
data_in_width = 8
data_in_frac_width = 4
weight_width = 4
weight_frac_width = 3
bias_width = 8
bias_frac_width = 4
TOML
ok "$CHOP" export --model-file "$LAB4" --config q.toml --format qonnx --out lab4.qonnx.onnx
# Nine Quant nodes: the input, weight and bias of each of the three Linears.
has "qonnx: lab4.qonnx.onnx (20 ONNX nodes, 9 Quant)"
ok "$CHOP" export --model-file "$LAB4" --format onnx --out lab4.onnx
# BatchNormalization, 4 Relu, 3 MatMul + Add.
has "onnx: lab4.onnx (11 ONNX nodes, 0 Quant)"

# A search writes its best model for hardware flows too ([search] export).
sed 's/^\[search.search_space\]/[search]\nexport = ["onnx", "qonnx"]\n\n[search.search_space]/' \
  "$CONFIGS/lab3_quantize_bruteforce_synth.toml" > export_search.toml
ok "$CHOP" train jsc-tiny jsc --data-path jsc.h5 --max-epochs 1 --project base
ok "$CHOP" search --config export_search.toml --data-path jsc.h5 --load mase_output/base/software/training_ckpts/best.ckpt --project ex
has "exported: mase_output/ex/software/search_ckpts/best.onnx"
has "exported: mase_output/ex/software/search_ckpts/best.qonnx.onnx"
ok "$CHOP" export mase_output/ex/software/search_ckpts/best.ckpt --format qonnx --out again.onnx
cmp -s again.onnx mase_output/ex/software/search_ckpts/best.qonnx.onnx && pass || fail "exporting best.ckpt again gives another file"

# Bad input: one line, nothing written.
fails "unknown export format 'tflite'" "$CHOP" export --model-file "$LAB4" --format tflite --out x.onnx
fails "cannot write '/proc/chop/x.onnx'" "$CHOP" export --model-file "$LAB4" --out /proc/chop/x.onnx
fails "one of them" "$CHOP" export mase_output/ex/software/search_ckpts/best.ckpt --model-file "$LAB4" --out x.onnx
fails "needs --out" "$CHOP" export --model-file "$LAB4"
sed 's/^\[search.search_space\]/[search]\nexport = ["tflite"]\n\n[search.search_space]/' \
  "$CONFIGS/lab3_quantize_bruteforce_synth.toml" > bad_export.toml
fails "[search] export: unknown export format 'tflite'" "$CHOP" search --config bad_export.toml --data-path jsc.h5 --project badex
[ ! -e x.onnx ] && [ ! -e mase_output/badex ] && pass || fail "a refused export wrote something"

# ONNX in: the float export read back is the same graph; lab 4's channel search runs on it.
ok "$CHOP" graph --model-file lab4.onnx
has "model lab4 (input [16])"
has "| seq_blocks_6 | linear"
has "total parameters: 661"
ok "$CHOP" search --config "$CONFIGS/lab4_channel_grid_synth.toml" --data-path jsc.h5 --model-file lab4.onnx --reinit --project onnx_in
has "Best trial(s):"
fails "QONNX's Quant is written by chop export, not read back" "$CHOP" graph --model-file lab4.qonnx.onnx
printf 'junk' > junk.onnx
fails "'junk.onnx' is not an ONNX model" "$CHOP" graph --model-file junk.onnx
