// Fused loops over float buffers (CPU), without LibTorch.
#include "chop/train/fused_kernels.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace chop::train {
namespace {

void check_class(int64_t target, int64_t classes) {
  if (target < 0 || target >= classes)
    throw std::out_of_range("class index " + std::to_string(target) + " is outside 0.." +
                            std::to_string(classes - 1));
}

}  // namespace

void fused_adam(float* __restrict p, const float* __restrict grad, float* __restrict m,
                float* __restrict v, int64_t n, const AdamScalars& s) {
  const AdamScalars c = s;  // locals: no aliasing with the buffers
  if (c.decay != 1.0f)
    for (int64_t i = 0; i < n; ++i) p[i] *= c.decay;
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] + c.l2 * p[i];
    m[i] = m[i] * c.b1 + g * (1 - c.b1);
    v[i] = v[i] * c.b2 + g * g * (1 - c.b2);
    p[i] += c.step * m[i] / (std::sqrt(v[i]) / c.sqrt_bc2 + c.eps);
  }
}

double fused_cross_entropy(const float* __restrict logits, const int64_t* __restrict target,
                           int64_t rows, int64_t classes, float* __restrict grad) {
  double loss = 0;
  const float inv_rows = 1.0f / static_cast<float>(rows);
  for (int64_t i = 0; i < rows; ++i) {
    const float* z = logits + i * classes;
    float* g = grad + i * classes;
    const int64_t t = target[i];
    check_class(t, classes);
    const float max = *std::max_element(z, z + classes);
    float sum = 0;
    for (int64_t c = 0; c < classes; ++c) sum += (g[c] = std::exp(z[c] - max));
    loss += static_cast<double>(max + std::log(sum) - z[t]);
    const float scale = inv_rows / sum;
    for (int64_t c = 0; c < classes; ++c) g[c] *= scale;
    g[t] -= inv_rows;
  }
  return loss / static_cast<double>(rows);
}

double fused_loss_and_confusion(const float* __restrict logits, const int64_t* __restrict target, int64_t rows,
                                int64_t classes, int64_t* __restrict confusion) {
  double loss = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const float* z = logits + i * classes;
    const int64_t t = target[i];
    check_class(t, classes);
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (!std::isnan(z[best]) && (z[c] > z[best] || std::isnan(z[c]))) best = c;
    const float max = z[best];
    float sum = 0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(z[c] - max);
    loss += static_cast<double>(max + std::log(sum) - z[t]);
    ++confusion[t * classes + best];
  }
  return loss;
}

}  // namespace chop::train
