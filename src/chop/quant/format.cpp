// Number formats as plain functions on one value: MASE's integer fixed point and minifloat.
#include "chop/quant/format.h"

#include <algorithm>
#include <cmath>

#include "chop/support/error.h"

namespace chop::quant {

double integer_value(double x, int64_t width, int64_t frac_width, bool is_signed) {
  double lo = is_signed ? -std::ldexp(1.0, static_cast<int>(width - 1)) : 0.0;
  double hi = is_signed ? std::ldexp(1.0, static_cast<int>(width - 1)) - 1
                        : std::ldexp(1.0, static_cast<int>(width)) - 1;
  double scaled = std::nearbyint(std::ldexp(x, static_cast<int>(frac_width)));  // half to even
  return std::ldexp(std::clamp(scaled, lo, hi), -static_cast<int>(frac_width));
}

int64_t default_exponent_bias(int64_t exponent_width) {
  return (int64_t{1} << (exponent_width - 1)) - 1;
}

double minifloat_max(int64_t width, int64_t exponent_width, int64_t exponent_bias) {
  int64_t m = width - 1 - exponent_width;
  int64_t top = (int64_t{1} << exponent_width) - 1;
  return std::ldexp(2.0 - std::ldexp(1.0, -static_cast<int>(m)), static_cast<int>(top - exponent_bias));
}

double minifloat_value(double x, int64_t width, int64_t exponent_width, int64_t exponent_bias) {
  if (x == 0 || std::isnan(x)) return x;
  int64_t m = width - 1 - exponent_width;
  double a = std::fabs(x);
  double e = std::max(std::floor(std::log2(a)), static_cast<double>(1 - exponent_bias));
  double scale = std::exp2(e - static_cast<double>(m));
  double q = std::min(std::nearbyint(a / scale) * scale, minifloat_max(width, exponent_width, exponent_bias));
  return std::copysign(q, x);
}

ir::Precision integer_precision(int64_t width, int64_t frac_width) {
  return {"integer", {width, frac_width}, {}};
}

ir::Precision scaled_integer_precision(int64_t width, const ir::Scaling& scaling) {
  return {"integer", {width}, scaling};
}

ir::Precision minifloat_precision(int64_t width, int64_t exponent_width, int64_t exponent_bias) {
  return {"minifloat", {width, exponent_width, exponent_bias}, {}};
}

int64_t bits_of(const ir::Precision& p) { return p.widths.empty() ? 32 : p.widths[0]; }

void check_precision(const ir::Precision& p, const std::string& what) {
  if (p.is_float32()) return;
  const auto& w = p.widths;
  if (p.type == "integer") {
    if (p.is_scaled()) {
      const ir::Scaling& s = p.scaling;
      CHOP_CHECK(w.size() == 1 && w[0] >= 2 && w[0] <= 24, ConfigError,
                 "{}: {} scaling needs a width with 2 <= width <= 24, but got {}", what,
                 ir::scaling_name(s.kind), p.to_string());
      CHOP_CHECK(s.range > 0 && s.range <= 1, ConfigError,
                 "{}: range must be \"minmax\" or a quantile in (0, 1], but got {}", what, s.range);
      CHOP_CHECK(s.calibration_batches >= 1, ConfigError,
                 "{}: calibration_batches must be >= 1, but got {}", what, s.calibration_batches);
      return;
    }
    CHOP_CHECK(w.size() == 2 && w[0] >= 1 && w[0] <= 32 && w[1] >= -64 && w[1] <= 64, ConfigError,
               "{}: integer precision needs [width, frac_width] with 1 <= width <= 32, but got {}",
               what, p.to_string());
    return;
  }
  if (p.type == "minifloat") {
    CHOP_CHECK(w.size() == 3 && w[0] >= 2 && w[0] <= 32 && w[1] >= 1 && w[1] <= w[0] - 1 &&
                   w[1] <= 11,
               ConfigError,
               "{}: minifloat precision needs [width, exponent_width, exponent_bias] with "
               "1 <= exponent_width <= min(width - 1, 11), but got {}",
               what, p.to_string());
    return;
  }
  throw ConfigError(fmt::format("{}: unsupported precision {} (chop implements float[32], "
                                "integer and minifloat)", what, p.to_string()));
}

}  // namespace chop::quant
