// Fused optimizers over one flat parameter buffer.
#include "chop/train/optimizer.h"

#include <cmath>

#include "chop/support/error.h"
#include "chop/train/fused_kernels.h"

namespace chop::train {

FlatOptimizer::FlatOptimizer(std::vector<torch::Tensor> params, OptimizerOptions options)
    : options_(std::move(options)), params_(std::move(params)) {
  CHOP_CHECK(options_.name == "adam" || options_.name == "adamw" || options_.name == "sgd",
             ConfigError, "optimizer must be adam, adamw or sgd, but got '{}'", options_.name);
  CHOP_CHECK(!params_.empty(), ConfigError, "the model has no trainable parameters");
  int64_t total = 0;
  for (const auto& p : params_) total += p.numel();
  auto opts = params_[0].options().requires_grad(false);
  flat_ = torch::empty({total}, opts);
  grad_ = torch::zeros({total}, opts);
  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (auto& p : params_) {
    int64_t n = p.numel();
    auto slot = flat_.narrow(0, offset, n);
    slot.copy_(p.detach().reshape({n}));
    p.set_data(slot.view(p.sizes()));
    p.mutable_grad() = grad_.narrow(0, offset, n).view(p.sizes());
    offset += n;
  }
  exp_avg_ = torch::zeros_like(flat_);
  if (options_.name != "sgd") exp_avg_sq_ = torch::zeros_like(flat_);
}

void FlatOptimizer::zero_grad() { grad_.zero_(); }

void FlatOptimizer::step(double lr) {
  torch::NoGradGuard no_grad;
  ++n_steps_;
  const auto& o = options_;
  if (o.name == "sgd") {
    // PyTorch SGD: d = g + wd*p; buf = momentum*buf + d (buf = d at the first step); p -= lr*buf.
    torch::Tensor d = o.weight_decay ? grad_.add(flat_, o.weight_decay) : grad_;
    if (n_steps_ == 1)
      exp_avg_.copy_(d);
    else
      exp_avg_.mul_(o.momentum).add_(d);
    flat_.add_(exp_avg_, -lr);
    return;
  }
  const double bc1 = 1 - std::pow(o.beta1, n_steps_);
  const double bc2 = 1 - std::pow(o.beta2, n_steps_);
  if (flat_.is_cpu() && flat_.scalar_type() == torch::kFloat32) {
    // The same update as the tensor ops below in one pass over the buffers: on the small models
    // searched here, dispatching those ops costs more than the arithmetic.
    AdamScalars c;
    c.l2 = o.name == "adam" ? static_cast<float>(o.weight_decay) : 0.0f;
    c.decay = o.name == "adamw" ? static_cast<float>(1 - lr * o.weight_decay) : 1.0f;
    c.b1 = static_cast<float>(o.beta1), c.b2 = static_cast<float>(o.beta2);
    c.sqrt_bc2 = static_cast<float>(std::sqrt(bc2));
    c.step = static_cast<float>(-lr / bc1);
    c.eps = static_cast<float>(o.eps);
    fused_adam(flat_.data_ptr<float>(), grad_.data_ptr<float>(), exp_avg_.data_ptr<float>(),
               exp_avg_sq_.data_ptr<float>(), flat_.numel(), c);
    return;
  }
  torch::Tensor g = grad_;
  if (o.name == "adam" && o.weight_decay) g = grad_.add(flat_, o.weight_decay);
  if (o.name == "adamw" && o.weight_decay) flat_.mul_(1 - lr * o.weight_decay);
  exp_avg_.mul_(o.beta1).add_(g, 1 - o.beta1);
  exp_avg_sq_.mul_(o.beta2).addcmul_(g, g, 1 - o.beta2);
  auto denom = exp_avg_sq_.sqrt().div_(std::sqrt(bc2)).add_(o.eps);
  flat_.addcdiv_(exp_avg_, denom, -lr / bc1);
}

}  // namespace chop::train
