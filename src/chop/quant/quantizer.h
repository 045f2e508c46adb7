// Tensor quantizers with straight-through gradients, so quantized models train (QAT).
#pragma once

#include <torch/torch.h>

#include "chop/ir/node.h"

namespace chop::quant {

/// integer_value() elementwise (no gradient trick: round has zero gradient).
torch::Tensor integer_quantize(const torch::Tensor& x, int64_t width, int64_t frac_width,
                               bool is_signed = true);

/// minifloat_value() elementwise.
torch::Tensor minifloat_quantize(const torch::Tensor& x, int64_t width, int64_t exponent_width,
                                 int64_t exponent_bias);

/// x in precision p (checked with check_precision beforehand): forward gives the quantized
/// value, backward the identity (straight-through estimator, x + (q(x) - x).detach()).
/// float[32] returns x itself. is_signed = false selects the unsigned integer range.
torch::Tensor quantize(const torch::Tensor& x, const ir::Precision& p, bool is_signed = true);

}  // namespace chop::quant
