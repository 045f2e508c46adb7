// Fused loops over float buffers (CPU), without LibTorch: fake quantization round(clamp(x / s))
// * s and LSQ's backward, one pass each instead of the five to eight LibTorch kernels (and
// temporaries) the same formulas take. Per-channel steps: channel c owns the contiguous block
// [c * inner, (c + 1) * inner) of x (the leading dimension of a weight).
#pragma once

#include <cstdint>

namespace chop::quant {

/// out[i] = round_half_even(clamp(x[i] / s[c], qn, qp)) * s[c], c = i / inner (n_steps steps).
void fused_fake_quantize(const float* x, float* out, int64_t n, const float* s, int64_t n_steps,
                         float qn, float qp);

/// max |x[i]| (is_signed) or max(max x[i], 0): a tensor's range, one pass.
float fused_range(const float* x, int64_t n, bool is_signed);

/// LSQ's gradients, in place: grad[i] (the gradient w.r.t. the quantized value) becomes the
/// gradient w.r.t. x[i]: kept when qn <= x[i] / s <= qp, else 0. grad_s[c] = grad_scale * the
/// sum over c's block of grad * (round(v) - v inside the range, the bound outside), in double.
void fused_lsq_backward(float* grad, const float* x, int64_t n, const float* s, int64_t n_steps,
                        float qn, float qp, double grad_scale, float* grad_s);

}  // namespace chop::quant
