// The Adam / AdamW update as one loop over float buffers (CPU), without LibTorch.
#include "chop/train/fused_adam.h"

#include <cmath>

namespace chop::train {

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

}  // namespace chop::train
