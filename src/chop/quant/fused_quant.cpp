// Fused loops over float buffers (CPU), without LibTorch: fake quantization and LSQ's backward.
#include "chop/quant/fused_quant.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace chop::quant {
namespace {

// Round half to even of |v| < 2^22 in the default rounding mode, as torch::round does: adding
// and subtracting 1.5 * 2^23 leaves the nearest integer (vectorizes, unlike nearbyintf).
inline float round_half_even(float v) {
  constexpr float kMagic = 12582912.0f;
  return (v + kMagic) - kMagic;
}

}  // namespace

void fused_fake_quantize(const float* x, float* out, int64_t n, const float* s, int64_t n_steps,
                         float qn, float qp) {
  const int64_t inner = n / n_steps;
  for (int64_t c = 0; c < n_steps; ++c) {
    const float step = s[c];
    const float* xc = x + c * inner;
    float* oc = out + c * inner;
    for (int64_t i = 0; i < inner; ++i) oc[i] = round_half_even(std::min(std::max(xc[i] / step, qn), qp)) * step;
  }
}

float fused_range(const float* x, int64_t n, bool is_signed) {
  constexpr int64_t kLanes = 16;
  float lanes[kLanes] = {};
  int64_t i = 0;
  if (is_signed) {
    for (; i + kLanes <= n; i += kLanes)
      for (int64_t k = 0; k < kLanes; ++k) lanes[k] = std::max(lanes[k], std::fabs(x[i + k]));
  } else {
    for (; i + kLanes <= n; i += kLanes)
      for (int64_t k = 0; k < kLanes; ++k) lanes[k] = std::max(lanes[k], x[i + k]);
  }
  float m = 0;
  for (; i < n; ++i) m = std::max(m, is_signed ? std::fabs(x[i]) : x[i]);
  for (float l : lanes) m = std::max(m, l);
  return m;
}

void fused_lsq_backward(float* grad, const float* x, int64_t n, const float* s, int64_t n_steps,
                        float qn, float qp, double grad_scale, float* grad_s) {
  const int64_t inner = n / n_steps;
  thread_local std::vector<float> terms;
  terms.resize(static_cast<size_t>(inner));
  float* t = terms.data();
  for (int64_t c = 0; c < n_steps; ++c) {
    const float step = s[c];
    const float* xc = x + c * inner;
    float* gc = grad + c * inner;
    // Branch-free so it vectorizes: inside the range v equals its clamp.
    for (int64_t i = 0; i < inner; ++i) {
      const float v = xc[i] / step;
      const float clamped = std::min(std::max(v, qn), qp);
      const float inside = static_cast<float>(static_cast<int>(v >= qn) & static_cast<int>(v <= qp));
      const float g = gc[i];
      t[i] = g * (round_half_even(clamped) - clamped * inside);  // round(v) - v, or the bound
      gc[i] = g * inside;
    }
    // 16 float partial sums (an ordered sum would not vectorize), added up in double.
    constexpr int64_t kLanes = 16;
    float lanes[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= inner; i += kLanes)
      for (int64_t k = 0; k < kLanes; ++k) lanes[k] += t[i + k];
    double acc = 0;
    for (; i < inner; ++i) acc += t[i];
    for (float l : lanes) acc += l;
    grad_s[c] = static_cast<float>(acc * grad_scale);
  }
}

}  // namespace chop::quant
