// Normal-distribution math for the Parzen estimator: tail-stable log CDF, inverse CDF, truncated normals.
#pragma once

#include <cstdint>
#include <vector>

namespace chop::search {

/// Standard normal CDF Phi(z).
double ndtr(double z);

/// log Phi(z), accurate in both tails (no underflow for z down to about -1e150).
double log_ndtr(double z);

/// Inverse of Phi: ndtri(p) for p in (0, 1); -inf / +inf at 0 / 1.
double ndtri(double p);

/// log(Phi(b) - Phi(a)) for a <= b, stable when both lie in the same tail.
double log_ndtr_diff(double a, double b);

/// Log density at x of the normal(mu, sigma) truncated to [low, high].
double truncnorm_log_pdf(double x, double mu, double sigma, double low, double high);

/// Quantile q in [0, 1] of the normal(mu, sigma) truncated to [low, high] (requires low <= mu <= high
/// or at least a non-negligible mass in [low, high]).
double truncnorm_ppf(double q, double mu, double sigma, double low, double high);

/// log(sum(exp(x))) of n values; -inf when n == 0.
double log_sum_exp(const double* x, int64_t n);

}  // namespace chop::search
