// Number formats as plain functions on one value: MASE's integer fixed point and minifloat.
#pragma once

#include <cstdint>
#include <string>

#include "chop/ir/node.h"

namespace chop::quant {

/// MASE's `integer` fixed point, exactly: clamp(round_half_even(x * 2^f), lo, hi) / 2^f with
/// [lo, hi] = [-2^(w-1), 2^(w-1) - 1] when signed and [0, 2^w - 1] when not (ReLU inputs).
double integer_value(double x, int64_t width, int64_t frac_width, bool is_signed = true);

/// The exponent bias a minifloat uses unless told otherwise: 2^(e-1) - 1 (IEEE 754's).
int64_t default_exponent_bias(int64_t exponent_width);

/// Minifloat with 1 sign bit, e exponent bits and m = width - 1 - e mantissa bits, like MASE's
/// minifloat_denorm: value = 2^(E - bias) * 1.M for exponent field E >= 1 and 2^(1 - bias) * 0.M
/// (subnormal) for E = 0. There is no inf or NaN: the top exponent field holds normal numbers,
/// so the largest value is 2^(2^e - 1 - bias) * (2 - 2^-m); larger magnitudes saturate to it.
/// Mantissas round half to even.
double minifloat_value(double x, int64_t width, int64_t exponent_width, int64_t exponent_bias);

/// The largest finite magnitude of that minifloat format.
double minifloat_max(int64_t width, int64_t exponent_width, int64_t exponent_bias);

/// Precision of an integer format ("integer" [width, frac_width]).
ir::Precision integer_precision(int64_t width, int64_t frac_width);
/// Precision of an integer format whose scale comes from statistics or training ([width]).
ir::Precision scaled_integer_precision(int64_t width, const ir::Scaling& scaling);
/// Precision of a minifloat format ("minifloat" [width, exponent_width, exponent_bias]).
ir::Precision minifloat_precision(int64_t width, int64_t exponent_width, int64_t exponent_bias);

/// Bits one stored value takes in precision p (32 for float[32], the width otherwise).
int64_t bits_of(const ir::Precision& p);

/// Throws ConfigError when p is not a format chop implements with valid widths
/// (float[32]; integer [w, f] with 1 <= w <= 32; scaled integer [w] with 2 <= w <= 24, a range in
/// (0, 1] and calibration_batches >= 1; minifloat [w, e, bias] with 1 <= e <= w - 1).
/// `what` names the tensor in the message ("node 'seq_blocks_2' weight").
void check_precision(const ir::Precision& p, const std::string& what);

}  // namespace chop::quant
