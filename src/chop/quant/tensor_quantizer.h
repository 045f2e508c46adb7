// TensorQuantizer: one tensor of a node (input, weight or bias) in its precision, with the
// state its scaling needs (a learned step, a running range) and gradients for QAT.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>

#include "chop/ir/node.h"
#include "chop/quant/observer.h"

namespace chop::quant {

enum class TensorRole { Input, Weight, Bias };

/// Quantizes one tensor as its precision says:
/// - float[32]: the identity (inactive);
/// - minifloat, and integer with frac scaling: MASE's formats, straight-through gradient;
/// - integer, stats scaling: scale = 2^ceil(log2(r / 2^(w-1))) (signed; 2^w unsigned), or
///   r / Qp without power_of_two, from the range r: a weight's or bias's current max|x| (per
///   output channel with per_channel), an input's running range (seeded by calibration, then
///   r <- 0.9 r + 0.1 r_batch at every training step); straight-through gradient;
/// - integer, learned scaling: LSQ (Esser et al. 2020): a trained step s, forward
///   round(clamp(x / s, Qn, Qp)) * s with s rounded to a power of two (straight-through) unless
///   power_of_two = false; gradients: x inside the range only, s by LSQ's formula scaled by
///   1 / sqrt(n Qp). Biases with learned scaling use stats (their step follows the range).
/// Signed b bits: [Qn, Qp] = [-2^(b-1), 2^(b-1) - 1]; unsigned: [0, 2^b - 1].
/// state() (learned: the step, a parameter; stats input: the running range, a buffer) is
/// registered by the owning module; 0 means "not calibrated yet".
class TensorQuantizer {
 public:
  TensorQuantizer() = default;  ///< inactive
  /// weight_shape: the weight's shape (per-channel scales are [out, 1, ...]); inputs: {}.
  TensorQuantizer(const ir::Precision& p, TensorRole role, bool is_signed,
                  const std::vector<int64_t>& weight_shape = {});

  bool active() const { return !precision_.is_float32(); }
  bool learned() const { return kind_ == Kind::Learned; }
  bool is_signed() const { return is_signed_; }
  const ir::Precision& precision() const { return precision_; }

  /// The tensor the owner registers (undefined when there is none), as a parameter when
  /// state_is_parameter(). state_suffix(): "_scale" or "_range" (after the tensor's name).
  torch::Tensor& state() { return state_; }
  bool state_is_parameter() const { return kind_ == Kind::Learned; }
  const char* state_suffix() const { return kind_ == Kind::Learned ? "_scale" : "_range"; }
  /// Whether calibration still has to seed the state.
  bool needs_calibration() const;

  /// The quantized value, no autograd. training: an input's running range is updated. out:
  /// a buffer to write into when it can (CPU float32), kept by the caller between calls.
  torch::Tensor quantize(const torch::Tensor& x, bool training, torch::Tensor* out = nullptr);
  /// quantize() with autograd: straight-through, or LSQ's gradients for x and the step.
  torch::Tensor forward(const torch::Tensor& x, bool training);
  /// For hand-written backward passes, in place: grad, the gradient w.r.t. quantize(x),
  /// becomes the gradient w.r.t. x (unchanged unless learned); a learned step's grad() is
  /// overwritten with its own.
  void backward_(torch::Tensor& grad, const torch::Tensor& x);

  /// Seeds an input's state from observations of it (stats: the range; learned: LSQ's
  /// 2 mean|x| / sqrt(Qp)); a weight's learned step from the weight itself.
  void calibrate_input(const RangeObserver& observed);
  void calibrate_weight(const torch::Tensor& weight);

  /// The scale in use now (per tensor, or per channel), for x (weights: the weight itself).
  torch::Tensor scale(const torch::Tensor& x) const;

  /// LSQ's gradients of round(clamp(x / s, qn, qp)) * s, in place: grad (w.r.t. the result)
  /// becomes d/dx; returns d/ds summed to s's shape, times grad_scale.
  static torch::Tensor lsq_backward_(torch::Tensor& grad, const torch::Tensor& x, const torch::Tensor& s,
                                     double qn, double qp, double grad_scale);

 private:
  enum class Kind { None, Fixed, Stats, Learned };
  torch::Tensor stats_scale(const torch::Tensor& range) const;
  torch::Tensor weight_range(const torch::Tensor& w) const;
  /// An input batch's range ([1]): max |x| (max(x, 0) unsigned), or the range quantile of a
  /// strided sample of it.
  torch::Tensor batch_range(const torch::Tensor& x) const;
  torch::Tensor effective_step() const;  ///< learned: s (>= 1e-8), a power of two if asked
  double step_of_range(double r) const;  ///< stats: the step covering range r
  double learned_step(double s) const;   ///< learned: the step the forward pass uses for s
  /// CPU float32, one step for the whole tensor: the scalar path of quantize().
  bool scalar_path(const torch::Tensor& x) const;
  double grad_scale(const torch::Tensor& x) const;

  ir::Precision precision_;
  TensorRole role_ = TensorRole::Input;
  Kind kind_ = Kind::None;
  bool is_signed_ = true;
  double qn_ = 0, qp_ = 0;
  torch::Tensor state_;
};

}  // namespace chop::quant
