// ManualStep: training steps of Linear/BatchNorm1d/ReLU chains, gradients without autograd.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chop/runtime/module.h"

namespace chop::train {

/// Forward (training mode), mean cross-entropy and backward of a graph that is a chain of linear,
/// batch_norm1d, relu, flatten and dropout (p = 0) nodes, on 2-D activations: the JSC models and
/// MLPs. Linear nodes may be quantized (any format and scaling: their quantizers' quantize and
/// backward, the same functions autograd's path uses); other quantized nodes are left to autograd. It calls the kernels autograd would (addmm,
/// native_batch_norm and its backward, threshold_backward, mm; the loss and its gradient are one
/// fused loop on CPU, log_softmax / nll_loss elsewhere) into buffers kept between steps, updates
/// batch-norm running statistics as torch does, and writes each parameter's gradient straight
/// into its grad() (the optimizer's flat buffer, so no zero_grad or accumulation). Same gradients as
/// autograd (tested); about half the dispatched ops and no autograd graph per step, which is most
/// of the cost for the small MLPs searched here. Any other graph trains with autograd.
class ManualStep {
 public:
  /// nullptr when the graph of m is not such a chain. Parameters without a grad get a zero one.
  static std::unique_ptr<ManualStep> make(runtime::GraphModuleImpl& m);
  /// The same for m (a float supernet) run at the widths of its narrowing `sub` (see
  /// GraphModuleImpl::set_active_widths): every tensor and gradient is the leading slice of m's.
  /// With `grads` (a tensor per parameter name, each of its parameter's shape) the gradients go
  /// to the leading slices of those instead of the parameters' grad().
  static std::unique_ptr<ManualStep> make_slice(runtime::GraphModuleImpl& m, const ir::Graph& sub,
                                                const std::map<std::string, torch::Tensor>* grads = nullptr);

  /// One forward and backward on batch (x [B, ...], y [B] class indices). Overwrites every
  /// parameter's grad (adds to it with accumulate); returns the mean loss as a 0-dim tensor.
  /// With `soft` ([B, classes] probabilities) the loss is the mean cross-entropy against those
  /// soft labels instead of y (in-place distillation).
  torch::Tensor run(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& soft = {},
                    bool accumulate = false);
  /// run() in two halves: the forward pass (batch norms' running statistics updated; returns
  /// logits()), then the loss and backward pass of that forward.
  const torch::Tensor& forward(const torch::Tensor& x);
  torch::Tensor backward(const torch::Tensor& y, const torch::Tensor& soft = {}, bool accumulate = false);
  /// The last forward's outputs (a buffer the next one overwrites).
  const torch::Tensor& logits() const { return acts_.back(); }

 private:
  struct Layer {
    enum class Kind { Linear, BatchNorm, Relu, Flatten } kind;
    torch::Tensor weight, bias;  ///< linear, batch norm
    torch::Tensor weight_grad, bias_grad;  ///< where their gradients go (slices of a supernet's)
    torch::Tensor running_mean, running_var, batches_tracked, save_mean, save_invstd;  ///< batch norm
    double momentum = 0.1, eps = 1e-5;
    torch::Tensor out, grad_in;  ///< buffers reused between steps
    runtime::NodeQuantizers* q = nullptr;  ///< linear: its quantizers, when any is active
    torch::Tensor x_q, w_q;                ///< linear, quantized: this step's quantized input and weight
  };
  static std::unique_ptr<ManualStep> build(runtime::GraphModuleImpl& m, const ir::Graph* sub,
                                           const std::map<std::string, torch::Tensor>* grads);
  std::vector<Layer> layers_;
  size_t first_param_ = 0;  ///< no gradient flows below this layer
  torch::Tensor log_probs_, grad_log_probs_, grad_logits_, one_;
  int64_t rows_ = -1;  ///< batch size the buffers hold (a last batch is shorter)
  std::vector<torch::Tensor> acts_;
};

}  // namespace chop::train
