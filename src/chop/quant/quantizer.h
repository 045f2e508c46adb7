// Elementwise tensor versions of the number formats (no gradient trick: TensorQuantizer adds it).
#pragma once

#include <torch/torch.h>

namespace chop::quant {

/// integer_value() elementwise (no gradient trick: round has zero gradient).
torch::Tensor integer_quantize(const torch::Tensor& x, int64_t width, int64_t frac_width,
                               bool is_signed = true);

/// minifloat_value() elementwise.
torch::Tensor minifloat_quantize(const torch::Tensor& x, int64_t width, int64_t exponent_width,
                                 int64_t exponent_bias);

}  // namespace chop::quant
