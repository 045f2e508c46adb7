// TensorQuantizer: one tensor of a node (input, weight or bias) in its precision, with the
// state its scaling needs (a learned step, a running range) and gradients for QAT.
#include "chop/quant/tensor_quantizer.h"

#include <cmath>

#include "chop/quant/fused_quant.h"
#include "chop/quant/quantizer.h"
#include "chop/support/error.h"

namespace chop::quant {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

constexpr double kMinStep = 1e-8;
constexpr double kMomentum = 0.9;   // running range: r <- 0.9 r + 0.1 r_batch
constexpr int64_t kRangeSample = 4096;  // a batch's quantile range: from this many strided values

// CPU float32 tensors take the fused loops (fused_quant.h); anything else LibTorch's ops.
bool fusable(const torch::Tensor& x, const torch::Tensor& s) {
  return x.is_cpu() && s.is_cpu() && x.scalar_type() == torch::kFloat && s.scalar_type() == torch::kFloat &&
         (s.numel() == 1 || (x.dim() > 0 && s.numel() == x.size(0)));
}

// round(clamp(x / s, qn, qp)) * s (torch::round: half to even).
torch::Tensor fake_quantize(const torch::Tensor& x, const torch::Tensor& s, double qn, double qp) {
  if (fusable(x, s)) {
    auto xc = x.contiguous(), sc = s.contiguous();
    auto out = torch::empty_like(xc);
    fused_fake_quantize(xc.data_ptr<float>(), out.data_ptr<float>(), xc.numel(), sc.data_ptr<float>(),
                        sc.numel(), static_cast<float>(qn), static_cast<float>(qp));
    return out;
  }
  return torch::round(x / s).clamp_(qn, qp).mul_(s);
}

// A one-element CPU step as a tensor (the scale computations below are on scalars then).
torch::Tensor scalar_tensor(double v) { return torch::full({1}, v, torch::kFloat); }

// LSQ through autograd: forward as fake_quantize, backward as TensorQuantizer::lsq_backward.
// The step passed in is the trained parameter; `effective` is the one the forward uses
// (a power of two when asked), whose gradient goes to the parameter unchanged.
struct LsqFunction : public torch::autograd::Function<LsqFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& step,
                               const torch::Tensor& effective, double qn, double qp, double grad_scale) {
    ctx->save_for_backward({x, effective});
    ctx->saved_data["qn"] = qn;
    ctx->saved_data["qp"] = qp;
    ctx->saved_data["g"] = grad_scale;
    ctx->saved_data["step_sizes"] = step.sizes().vec();
    return fake_quantize(x, effective, qn, qp);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    torch::Tensor gx = grads[0].clone();
    auto gs = TensorQuantizer::lsq_backward_(gx, saved[0], saved[1], ctx->saved_data["qn"].toDouble(),
                                             ctx->saved_data["qp"].toDouble(), ctx->saved_data["g"].toDouble());
    return {gx, gs.reshape(ctx->saved_data["step_sizes"].toIntVector()), torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor()};
  }
};

// The dimensions after the first (output channel), over which per-channel statistics reduce.
std::vector<int64_t> trailing_dims(int64_t dim) {
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < dim; ++d) dims.push_back(d);
  return dims;
}

std::vector<int64_t> channel_shape(const std::vector<int64_t>& weight_shape) {
  std::vector<int64_t> s(weight_shape.size(), 1);
  s[0] = weight_shape[0];
  return s;
}

}  // namespace

TensorQuantizer::TensorQuantizer(const ir::Precision& p, TensorRole role, bool is_signed,
                                 const std::vector<int64_t>& weight_shape)
    : precision_(p), role_(role), is_signed_(is_signed) {
  if (p.is_float32()) return;
  if (p.type == "integer") {
    const int64_t w = p.widths.at(0);
    qn_ = is_signed ? -std::ldexp(1.0, static_cast<int>(w - 1)) : 0.0;
    qp_ = is_signed ? std::ldexp(1.0, static_cast<int>(w - 1)) - 1 : std::ldexp(1.0, static_cast<int>(w)) - 1;
  }
  if (!p.is_scaled()) {
    kind_ = Kind::Fixed;
    return;
  }
  const ir::Scaling& s = p.scaling;
  kind_ = s.kind == ir::Scaling::Kind::Learned && role != TensorRole::Bias ? Kind::Learned : Kind::Stats;
  const bool per_channel = s.per_channel && role == TensorRole::Weight && !weight_shape.empty();
  if (kind_ == Kind::Learned) {
    state_ = torch::zeros(per_channel ? channel_shape(weight_shape) : std::vector<int64_t>{1});
  } else if (role == TensorRole::Input) {
    state_ = torch::zeros({1});
  }
}

bool TensorQuantizer::needs_calibration() const {
  return state_.defined() && (state_.detach() <= 0).any().item<bool>();
}

double TensorQuantizer::step_of_range(double r) const {
  r = std::max(r, 1e-12);
  return precision_.scaling.power_of_two ? std::exp2(std::ceil(std::log2(r / (qp_ + 1)))) : r / qp_;
}

double TensorQuantizer::learned_step(double s) const {
  s = std::max(s, kMinStep);
  return precision_.scaling.power_of_two ? std::exp2(std::round(std::log2(s))) : s;
}

bool TensorQuantizer::scalar_path(const torch::Tensor& x) const {
  if (!x.is_cpu() || x.scalar_type() != torch::kFloat || !x.is_contiguous()) return false;
  switch (kind_) {
    case Kind::None:
      return false;
    case Kind::Fixed:  // 2^-f is a step; the magic-number rounding needs |v| < 2^22
      return precision_.type == "integer" && precision_.widths[0] <= 22 &&
             std::abs(precision_.widths[1]) <= 100;
    case Kind::Learned:
    case Kind::Stats:
      break;
  }
  if (!state_.defined()) return !(precision_.scaling.per_channel && role_ == TensorRole::Weight);
  return state_.numel() == 1 && state_.is_cpu() && state_.scalar_type() == torch::kFloat;
}

torch::Tensor TensorQuantizer::stats_scale(const torch::Tensor& range) const {
  if (range.numel() == 1 && range.is_cpu()) return scalar_tensor(step_of_range(range.item<double>()));
  auto r = range.clamp_min(1e-12);
  if (precision_.scaling.power_of_two) return torch::exp2(torch::ceil(torch::log2(r / (qp_ + 1))));
  return r / qp_;
}

torch::Tensor TensorQuantizer::weight_range(const torch::Tensor& w) const {
  if (precision_.scaling.per_channel && role_ == TensorRole::Weight && w.dim() > 1)
    return w.abs().amax(trailing_dims(w.dim()), /*keepdim=*/true);
  auto [lo, hi] = torch::aminmax(w);
  return torch::maximum(lo.abs(), hi.abs()).reshape({1});
}

torch::Tensor TensorQuantizer::batch_range(const torch::Tensor& x) const {
  if (precision_.scaling.range >= 1) {
    auto [lo, hi] = torch::aminmax(x);
    return (is_signed_ ? torch::maximum(lo.abs(), hi.abs()) : hi.clamp_min(0)).reshape({1});
  }
  auto flat = (is_signed_ ? x.abs() : x.clamp_min(0)).flatten();
  const int64_t stride = std::max<int64_t>(1, flat.numel() / kRangeSample);
  return torch::quantile(flat.slice(0, 0, flat.numel(), stride), precision_.scaling.range).reshape({1});
}

torch::Tensor TensorQuantizer::effective_step() const {
  if (state_.numel() == 1 && state_.is_cpu()) return scalar_tensor(learned_step(state_.item<double>()));
  auto s = state_.detach().clamp_min(kMinStep);
  return precision_.scaling.power_of_two ? torch::exp2(torch::round(torch::log2(s))) : s;
}

double TensorQuantizer::grad_scale(const torch::Tensor& x) const {
  double n = static_cast<double>(x.numel());
  if (role_ == TensorRole::Input || state_.numel() > 1) n /= static_cast<double>(std::max<int64_t>(x.size(0), 1));
  return 1.0 / std::sqrt(std::max(n, 1.0) * qp_);
}

torch::Tensor TensorQuantizer::quantize(const torch::Tensor& x, bool training, torch::Tensor* out) {
  torch::NoGradGuard no_grad;
  if (scalar_path(x)) {
    // CPU float32 with one step: scalars and one fused pass (the same values as the tensor
    // path below; 2^-f scaling is exact either way).
    const int64_t n = x.numel();
    const float* px = x.data_ptr<float>();
    double step = 0;
    if (kind_ == Kind::Fixed) {
      step = std::ldexp(1.0, -static_cast<int>(precision_.widths[1]));
    } else if (kind_ == Kind::Learned) {
      step = learned_step(state_.data_ptr<float>()[0]);
    } else if (role_ != TensorRole::Input) {
      step = step_of_range(fused_range(px, n, /*is_signed=*/true));
    } else {
      float* r = state_.data_ptr<float>();
      if (training) {
        const double batch = precision_.scaling.range >= 1 ? fused_range(px, n, is_signed_)
                                                           : batch_range(x).item<double>();
        // An uncalibrated range (0) takes the batch's; afterwards a running average.
        r[0] = static_cast<float>(r[0] > 0 ? r[0] * kMomentum + batch * (1 - kMomentum) : batch);
      }
      step = step_of_range(r[0]);
    }
    torch::Tensor result = out && out->defined() && out->sizes() == x.sizes() && out->scalar_type() == torch::kFloat
                               ? *out
                               : torch::empty_like(x);
    const float s = static_cast<float>(step);
    fused_fake_quantize(px, result.data_ptr<float>(), n, &s, 1, static_cast<float>(qn_), static_cast<float>(qp_));
    if (out) *out = result;
    return result;
  }
  switch (kind_) {
    case Kind::None:
      return x;
    case Kind::Fixed:
      if (precision_.type == "integer")
        return integer_quantize(x, precision_.widths[0], precision_.widths[1], is_signed_);
      return minifloat_quantize(x, precision_.widths[0], precision_.widths[1], precision_.widths[2]);
    case Kind::Learned:
      return fake_quantize(x, effective_step(), qn_, qp_);
    case Kind::Stats:
      break;
  }
  if (role_ != TensorRole::Input) return fake_quantize(x, stats_scale(weight_range(x)), qn_, qp_);
  if (training) {
    // An uncalibrated range (0) takes the batch's; afterwards a running average.
    const auto b = batch_range(x);
    state_.copy_(torch::where(state_ > 0, state_ * kMomentum + b * (1 - kMomentum), b));
  }
  return fake_quantize(x, stats_scale(state_), qn_, qp_);
}

torch::Tensor TensorQuantizer::forward(const torch::Tensor& x, bool training) {
  if (kind_ == Kind::None) return x;
  if (kind_ == Kind::Learned && (x.requires_grad() || state_.requires_grad()) && torch::GradMode::is_enabled())
    return LsqFunction::apply(x, state_, effective_step(), qn_, qp_, grad_scale(x));
  auto q = quantize(x.detach(), training);
  if (!x.requires_grad() || !torch::GradMode::is_enabled()) return q;
  return x + (q - x.detach());
}

torch::Tensor TensorQuantizer::lsq_backward_(torch::Tensor& grad, const torch::Tensor& x, const torch::Tensor& s,
                                             double qn, double qp, double grad_scale) {
  torch::NoGradGuard no_grad;
  if (fusable(x, s) && grad.is_cpu() && grad.scalar_type() == torch::kFloat && grad.is_contiguous() &&
      grad.sizes() == x.sizes()) {
    auto xc = x.contiguous(), sc = s.contiguous();
    auto grad_s = torch::empty_like(sc);
    fused_lsq_backward(grad.data_ptr<float>(), xc.data_ptr<float>(), xc.numel(), sc.data_ptr<float>(), sc.numel(),
                       static_cast<float>(qn), static_cast<float>(qp), grad_scale, grad_s.data_ptr<float>());
    return grad_s;
  }
  auto v = x / s;
  auto inside = (v >= qn).logical_and_(v <= qp);
  auto c = v.clamp(qn, qp);
  // d q / d s: round(v) - v inside the range, the bound (qn or qp) outside it.
  auto prod = grad * torch::round(c).sub_(c * inside);
  torch::Tensor grad_s = s.numel() == 1 ? prod.sum().reshape(s.sizes())
                                        : prod.sum(trailing_dims(prod.dim()), /*keepdim=*/true);
  grad.mul_(inside);
  return grad_s.mul_(grad_scale);
}

void TensorQuantizer::backward_(torch::Tensor& grad, const torch::Tensor& x) {
  if (kind_ != Kind::Learned) return;
  auto gs = lsq_backward_(grad, x, effective_step(), qn_, qp_, grad_scale(x));
  torch::NoGradGuard no_grad;
  if (!state_.grad().defined()) state_.mutable_grad() = torch::zeros_like(state_);
  state_.mutable_grad().copy_(gs.reshape(state_.sizes()));
}

void TensorQuantizer::calibrate_input(const RangeObserver& observed) {
  if (!state_.defined() || role_ != TensorRole::Input) return;
  torch::NoGradGuard no_grad;
  if (kind_ == Kind::Stats) {
    double r = observed.range(precision_.scaling.range, is_signed_);
    state_.fill_(r > 0 ? r : 1.0);
  } else {
    double s = 2 * observed.abs_mean(is_signed_) / std::sqrt(qp_);
    state_.fill_(s > 0 ? s : 1.0 / qp_);
  }
}

void TensorQuantizer::calibrate_weight(const torch::Tensor& weight) {
  if (kind_ != Kind::Learned || role_ == TensorRole::Input) return;
  torch::NoGradGuard no_grad;
  auto w = weight.detach().abs();
  torch::Tensor mean = state_.numel() > 1 ? w.mean(trailing_dims(w.dim()), /*keepdim=*/true) : w.mean().reshape({1});
  state_.copy_((2 * mean / std::sqrt(qp_)).clamp_min(kMinStep).reshape(state_.sizes()));
}

torch::Tensor TensorQuantizer::scale(const torch::Tensor& x) const {
  torch::NoGradGuard no_grad;
  switch (kind_) {
    case Kind::None:
      return torch::ones({1});
    case Kind::Fixed:
      if (precision_.type == "integer") return torch::full({1}, std::ldexp(1.0, -static_cast<int>(precision_.widths[1])));
      return torch::ones({1});
    case Kind::Learned:
      return effective_step();
    case Kind::Stats:
      break;
  }
  return role_ == TensorRole::Input ? stats_scale(state_) : stats_scale(weight_range(x));
}

}  // namespace chop::quant
