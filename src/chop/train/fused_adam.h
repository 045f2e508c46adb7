// The Adam / AdamW update as one loop over float buffers (CPU), without LibTorch.
#pragma once

#include <cstdint>

namespace chop::train {

/// Scalars of one Adam step, already combined: g = grad + l2 * p (Adam's weight decay);
/// p *= decay first (AdamW's); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
/// p += step * m / (sqrt(v) / sqrt_bc2 + eps), with step = -lr / bias_correction1.
struct AdamScalars {
  float l2 = 0, decay = 1, b1 = 0.9f, b2 = 0.999f, sqrt_bc2 = 1, step = 0, eps = 1e-8f;
};

/// One Adam step over n parameters in place. Vectorized (the source is built with
/// -fno-math-errno and without LibTorch's precompiled header).
void fused_adam(float* p, const float* grad, float* m, float* v, int64_t n, const AdamScalars& s);

}  // namespace chop::train
