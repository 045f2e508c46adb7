# chop data synth, train, test: data sets and training from the command line.
ok "$CHOP" list datasets
has "fashion-mnist"
has "jsc"

ok "$CHOP" data synth jsc --out jsc.h5 --rows 3000 --seed 1
has "jsc.h5"
ok "$CHOP" train jsc-s jsc --data-path jsc.h5 --max-epochs 3 --project h5 --learning-rate 0.01
has "best checkpoint: mase_output/h5/software/training_ckpts/best.ckpt"
has "accuracy"
[ -f mase_output/h5/software/training_ckpts/last.ckpt ] && pass || fail "no last.ckpt"
[ -f mase_output/h5/software/training_ckpts/resolved_config.json ] && pass || fail "no resolved config"
ok "$CHOP" test jsc-s jsc --data-path jsc.h5 --load mase_output/h5/software/training_ckpts/best.ckpt --project h5
has "test metrics"
[ -f mase_output/h5/software/test/metrics.json ] && pass || fail "no test metrics json"

ok "$CHOP" data synth jsc --out jsc.csv --rows 2000 --seed 2
ok "$CHOP" train jsc-tiny jsc --data-path jsc.csv --max-epochs 1 --project csv
has "best checkpoint"

# TOML keys below explicit flags: the config says 1 epoch and batch 7; the flag says batch 64.
cat > run.toml <<'TOML'
model = "jsc-tiny"
dataset = "jsc"
max_epochs = 1
batch_size = 7
TOML
ok "$CHOP" train --config run.toml --data-path jsc.csv --batch-size 64 --project prec
grep -q '"batch_size": 64' mase_output/prec/software/training_ckpts/resolved_config.json && pass || fail "flag did not win"
grep -q '"max_epochs": 1' mase_output/prec/software/training_ckpts/resolved_config.json && pass || fail "toml key lost"

ok "$CHOP" data synth mnist --out mn --rows 600 --seed 3
ok "$CHOP" train mlp mnist --data-dir mn --max-epochs 1 --project mn
has "best checkpoint"

fails "unknown data set 'jsk'" "$CHOP" train jsc-tiny jsk
fails "missing.h5" "$CHOP" train jsc-tiny jsc --data-path missing.h5
printf 'garbage' > bad.h5
fails "bad.h5" "$CHOP" train jsc-tiny jsc --data-path bad.h5
# A file on which HDF5 1.10.8 itself divides by zero (found by fuzzing): one line, exit 1.
fails "cannot read data file" "$CHOP" train jsc-tiny jsc --data-path \
  "$(dirname "$CASE")/../fuzz/known/jsc_hdf5-hdf5-sigfpe-H5T_copy.h5"
fails "no CUDA device" "$CHOP" train jsc-tiny jsc --data-path jsc.h5 --accelerator gpu
fails "batch_size (--batch-size) must be positive" "$CHOP" train jsc-tiny jsc --data-path jsc.h5 --batch-size 0
fails "needs --load" "$CHOP" test jsc-tiny jsc --data-path jsc.h5
fails "takes inputs of shape [16]" "$CHOP" test mlp mnist --data-dir mn --load mase_output/h5/software/training_ckpts/best.ckpt
