// Training and evaluation of a graph module on a data module.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "chop/data/data_module.h"
#include "chop/runtime/module.h"
#include "chop/train/metrics.h"
#include "chop/train/optimizer.h"

namespace chop::train {

struct TrainOptions {
  std::string optimizer = "adam";  ///< adam, adamw, sgd
  double learning_rate = 1e-3;
  double weight_decay = 0;         ///< sgd: 0 means MASE's 5e-4
  std::string scheduler = "cosine";  ///< cosine (per epoch, to 1e-6 at max_epochs, as MASE) or none
  int64_t max_epochs = 20;
  int64_t max_steps = -1;        ///< stop after this many steps; -1: no limit
  int64_t early_stopping = 0;    ///< patience in epochs on validation loss; 0: off
  std::string ckpt_dir;          ///< best.ckpt, last.ckpt, metrics.json; empty: none written
  bool progress = true;          ///< progress bar / log lines on stderr
  /// Linear/ReLU chains: gradients by ManualStep instead of autograd (same values, faster).
  bool manual_backward = true;
  /// Let OpenBLAS use every core for large matrix products (runtime::BlasPoolForLargeProducts);
  /// off when several trainings share the machine (parallel trials, worker processes).
  bool blas_pool = true;
};

struct EpochRecord {
  int64_t epoch = 0;
  int64_t steps = 0;  ///< optimizer steps so far
  double train_loss = 0, learning_rate = 0, seconds = 0, samples_per_s = 0;
  ClassificationMetrics val;  ///< n_samples == 0 when there is no validation split

  nlohmann::ordered_json to_json() const;
};

struct TrainResult {
  std::vector<EpochRecord> epochs;
  int64_t best_epoch = -1;
  double best_val_loss = 0;
  int64_t steps = 0;
  bool stopped_early = false;  ///< early stopping or the callback ended training
  std::string best_ckpt, last_ckpt;
};

/// Where m's parameters are (CPU when it has none).
torch::Device device_of(runtime::GraphModule& m);
/// The learning rate of an epoch: cosine (per epoch, to 1e-6 at max_epochs, as MASE) or constant.
double epoch_learning_rate(const TrainOptions& options, int64_t epoch);
/// The optimizer the options name (sgd's weight decay 0 means MASE's 5e-4) over params.
FlatOptimizer make_optimizer(std::vector<torch::Tensor> params, const TrainOptions& options);

/// Called after each epoch; return false to stop training (pruning).
using EpochCallback = std::function<bool(const EpochRecord&)>;

/// Trains m on dm's training split with cross-entropy, validating after every epoch. The
/// model's device is where its parameters are. Throws ConfigError for bad options.
TrainResult train(runtime::GraphModule& m, const data::DataModule& dm, const TrainOptions& options,
                  const EpochCallback& on_epoch = {});

/// Seeds m's quantizer scales that are not known yet (stats inputs, learned steps) from the
/// first calibration_batches() batches of the training split (never the validation or test
/// split), in float. Does nothing when none is needed. train() and evaluate() call it.
void calibrate(runtime::GraphModule& m, const data::DataModule& dm);

/// The first n batches of dm's training split (epoch 0's order) on device: calibration data.
std::vector<torch::Tensor> calibration_batches(const data::DataModule& dm, int64_t n, torch::Device device);

/// Metrics of m (no gradients) over a split, or its first max_samples samples. In eval mode
/// unless eval_mode is false (MASE's runner key): then in training mode, as PyTorch would run
/// it, with batch statistics in batch norms (updating their running statistics) and dropout on.
/// An uncalibrated quantized model is calibrated on the training split first (calibrate()).
/// batch_size 0: the data module's.
ClassificationMetrics evaluate(runtime::GraphModule& m, const data::DataModule& dm,
                               data::SplitKind split, int64_t max_samples = 0, bool eval_mode = true,
                               int64_t batch_size = 0);

}  // namespace chop::train
