# Your own PyTorch model in (issue 12): TorchScript archives made by
# tests/fixtures/models/make_models.py go through chop graph, train, test and search.
CONFIGS="$(dirname "$CASE")/../../configs"
MODELS="$(dirname "$CASE")/../fixtures/models"
LAB4="$MODELS/jsc_three_linear_layers_traced.pt"
ok "$CHOP" data synth jsc --out jsc.h5 --rows 6000 --seed 0

# Lab 4's Python model, traced: MASE's node names, the zoo's jsc-three-linear-relu layer for layer.
ok "$CHOP" graph --model-file "$LAB4"
has "model jsc_three_linear_layers_traced (input [16])"
has "| seq_blocks_6 | linear       | Linear(in_features=16, out_features=5, bias=True)"
has "total parameters: 661"
ok "$CHOP" graph --model-file "$MODELS/small_cnn_scripted.pt" --input-shape 1,12,12
has "| block_conv "
has "| add "
has "| fc "

# The lab's channel search on the imported model (fresh weights, --reinit) gives the trials the
# zoo model gives (fixture of tests/cli/promises.sh); the config's `model = ...` yields to the file.
ok "$CHOP" search --config "$CONFIGS/lab4_channel_grid_synth.toml" --data-path jsc.h5 --model-file "$LAB4" --reinit --project imp
has "Best trial(s):"
python3 - "$(dirname "$CASE")/fixtures/lab4_trials.json" <<'PY' && pass || fail "the imported lab 4 model searched differently from the zoo's"
import json, sys
want = json.load(open(sys.argv[1]))["lab4_channel_grid_synth"]
got = [[t["number"], t["params"], t["values"], t.get("software_metrics"), t.get("hardware_metrics")]
       for t in json.load(open("mase_output/imp/software/search_ckpts/log.json"))]
assert [g[:2] for g in got] == [w[:2] for w in want], got
assert all(abs(a - b) < 1e-6 for g, w in zip(got, want) for a, b in zip(g[2], w[2])), (got, want)
assert [g[4]["params"] for g in got] == [w[4]["params"] for w in want], got
PY
# With the file's weights (no --reinit), every trial starts from them.
ok "$CHOP" search --config "$CONFIGS/lab4_channel_grid_synth.toml" --data-path jsc.h5 --model-file "$LAB4" --project imp_w
has "best model: mase_output/imp_w/software/search_ckpts/best.ckpt"

# Train and test: the one positional argument is the data set; model_file also works from TOML.
ok "$CHOP" train jsc --model-file "$LAB4" --data-path jsc.h5 --max-epochs 1 --project tr
printf 'model_file = "%s"\ndataset = "jsc"\nmax_epochs = 1\n' "$LAB4" > file.toml
ok "$CHOP" train --config file.toml --data-path jsc.h5 --project tr2
ok "$CHOP" test jsc --model-file "$LAB4" --data-path jsc.h5 --load mase_output/tr/software/training_ckpts/best.ckpt --project tr
has "accuracy"
python3 <<'PY' && pass || fail "the resolved config does not name the model file"
import json
r = json.load(open("mase_output/tr2/software/training_ckpts/resolved_config.json"))
assert r["model"] == "jsc_three_linear_layers_traced" and r["model_file"].endswith("jsc_three_linear_layers_traced.pt"), r
PY

# Bad input: one line each, nothing written.
fails "is not a TorchScript archive" "$CHOP" graph --model-file "$MODELS/not_torchscript.pt"
head -c 3000 "$LAB4" > truncated.pt
fails "'truncated.pt' is not a TorchScript archive" "$CHOP" graph --model-file truncated.pt
fails "model file 'nope.pt' does not exist" "$CHOP" graph --model-file nope.pt
# An archive on which LibTorch 1.13's loader itself segfaults (found by fuzzing): one line, exit 1.
fails "cannot read model file" "$CHOP" graph --model-file \
  "$(dirname "$CASE")/../fuzz/known/torchscript_import-libtorch-segv-parseClassConstant.pt"
fails "an op chop's IR cannot represent (aten::sigmoid" "$CHOP" graph --model-file "$MODELS/sigmoid_traced.pt"
fails "a transposed convolution" "$CHOP" graph --model-file "$MODELS/transposed_traced.pt" --input-shape 1,4,4
fails "a grouped convolution (groups = 2)" "$CHOP" graph --model-file "$MODELS/grouped_traced.pt" --input-shape 2,5,5
fails "pass --input-shape" "$CHOP" graph --model-file "$MODELS/small_cnn_traced.pt"
fails "gives the model, but model 'mlp' was named too" "$CHOP" train mlp jsc --model-file "$LAB4" --data-path jsc.h5 --project bad
ok "$CHOP" data synth mnist --out mn --rows 100 --seed 0
fails "takes inputs of shape [16], but data set 'mnist' has [1, 28, 28]" "$CHOP" train mnist --data-dir mn --model-file "$LAB4" --project bad
[ ! -e mase_output/bad ] && pass || fail "a refused run wrote mase_output/bad"
