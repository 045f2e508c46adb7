// Fused optimizers: all parameters and gradients live in one flat buffer each, so an update
// is a handful of tensor ops whatever the number of layers.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace chop::train {

struct OptimizerOptions {
  std::string name = "adam";  ///< adam, adamw, sgd
  double weight_decay = 0;    ///< adam: L2 added to the gradient; adamw: decoupled; sgd: L2
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  ///< adam, adamw
  double momentum = 0.9;                          ///< sgd (MASE)
};

/// Re-homes the given parameters into one contiguous buffer (their tensors stay the same
/// objects, now views), with gradients as views of one gradient buffer.
class FlatOptimizer {
 public:
  /// Throws ConfigError for an unknown optimizer name.
  FlatOptimizer(std::vector<torch::Tensor> params, OptimizerOptions options);
  /// Zeroes the gradient buffer (one op; gradients stay defined views).
  void zero_grad();
  /// One update with learning rate lr.
  void step(double lr);
  int64_t num_params() const { return flat_.numel(); }

 private:
  OptimizerOptions options_;
  std::vector<torch::Tensor> params_;
  torch::Tensor flat_, grad_, exp_avg_, exp_avg_sq_;
  int64_t n_steps_ = 0;
};

}  // namespace chop::train
