# chop --version/--help, list models, graph: the foundation's CLI.
ok "$CHOP" --version
has "chop 0."
ok "$CHOP" --help
has "graph"
has "list"
ok "$CHOP" list models
has "jsc-three-linear-relu"
has "vgg7"

ok "$CHOP" graph jsc-tiny
has "total parameters: 117"
has "Linear(in_features=16, out_features=5, bias=True)"

ok "$CHOP" graph jsc-three-linear-relu
has "| seq_blocks_2 | linear       | Linear(in_features=16, out_features=16, bias=True)"
has "| seq_blocks_4 | linear       | Linear(in_features=16, out_features=16, bias=True)"
has "| seq_blocks_6 | linear       | Linear(in_features=16, out_features=5, bias=True)"

ok "$CHOP" graph vgg7
has "total parameters: 14029450"
ok "$CHOP" graph vgg7 --input-shape 1,28,28
has "total parameters: 10357130"
ok "$CHOP" graph mlp --input-shape 16 --num-classes 5
has "Linear(in_features=16, out_features=256, bias=True)"
ok "$CHOP" graph jsc-tiny --json
has '"format": "chop-graph"'

cat > custom.toml <<'TOML'
[model]
name = "custom"
input_shape = [16]
[[model.layers]]
op = "batch_norm1d"
num_features = 16
[[model.layers]]
op = "linear"
in_features = 16
out_features = 5
TOML
ok "$CHOP" graph --config custom.toml
has "total parameters: 117"

fails "unknown model 'jsc-tny'; known: jsc-tiny" "$CHOP" graph jsc-tny
fails "is not a positive size" "$CHOP" graph mlp --input-shape 0
fails "takes flat inputs" "$CHOP" graph jsc-tiny --input-shape 1,28,28
fails "cannot read config file" "$CHOP" graph --config nope.toml
printf '[model\n' > broken.toml
fails "broken.toml:1" "$CHOP" graph --config broken.toml
fails "needs a MODEL" "$CHOP" graph

# README's TOML model: widths the previous layer fixes are left out and inferred.
python3 - "$(dirname "$CASE")/../../README.md" <<'PY'
import re, sys
readme = open(sys.argv[1]).read()
block = readme.split("### Or declare it in TOML", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
open("readme_model.toml", "w").write(block)
PY
ok "$CHOP" graph --config readme_model.toml
has "Linear(in_features=6272, out_features=10, bias=True)"
has "BatchNorm2d(32"
has "total parameters: 63114"
