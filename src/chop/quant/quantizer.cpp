// Elementwise tensor versions of the number formats (no gradient trick: TensorQuantizer adds it).
#include "chop/quant/quantizer.h"

#include <cmath>

#include "chop/quant/format.h"
#include "chop/support/error.h"

namespace chop::quant {

torch::Tensor integer_quantize(const torch::Tensor& x, int64_t width, int64_t frac_width,
                               bool is_signed) {
  double lo = is_signed ? -std::ldexp(1.0, static_cast<int>(width - 1)) : 0.0;
  double hi = is_signed ? std::ldexp(1.0, static_cast<int>(width - 1)) - 1
                        : std::ldexp(1.0, static_cast<int>(width)) - 1;
  double scale = std::ldexp(1.0, static_cast<int>(frac_width));
  return torch::round(x * scale).clamp(lo, hi) / scale;  // torch::round: half to even
}

torch::Tensor minifloat_quantize(const torch::Tensor& x, int64_t width, int64_t exponent_width,
                                 int64_t exponent_bias) {
  int64_t m = width - 1 - exponent_width;
  auto a = x.abs();
  auto e = torch::floor(torch::log2(a)).clamp_min(static_cast<double>(1 - exponent_bias));
  auto scale = torch::exp2(e - static_cast<double>(m));
  auto q = (torch::round(a / scale) * scale).clamp_max(minifloat_max(width, exponent_width, exponent_bias));
  return torch::sign(x) * q;
}

}  // namespace chop::quant
