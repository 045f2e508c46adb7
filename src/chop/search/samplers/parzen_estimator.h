// Parzen estimators of TPE: truncated-normal and categorical kernel mixtures as contiguous arrays.
#pragma once

#include "chop/search/distributions.h"
#include "chop/search/rng.h"

#include <vector>

namespace chop::search {

/// Settings shared by TPE's estimators (Optuna's defaults).
struct ParzenEstimatorParams {
  double prior_weight = 1.0;
  bool consider_magic_clip = true;
  bool consider_endpoints = false;
  bool multivariate = false;
};

/// gamma(n) = min(ceil(0.1 n), 25): how many of n finished trials count as "below" (good).
int64_t tpe_gamma(int64_t n);
/// Weights of n observations in trial-number order: all 1 when n < 25, otherwise
/// linspace(1/n, 1, n - 25) followed by 25 ones.
std::vector<double> tpe_weights(int64_t n);

/// Bandwidths of univariate numerical kernels (Optuna's rule): each observation's sigma is the
/// larger gap to its sorted neighbours among {observations, prior mean} padded with low/high
/// (edge kernels use only the inner gap unless endpoints are considered), clipped to
/// [(high-low)/min(100, n_kernels), high-low]; n_kernels = observations + prior. Values are in
/// the transformed space (log, widened by step/2). Returns one sigma per observation.
std::vector<double> tpe_sigmas(const std::vector<double>& mus, double low, double high,
                               const ParzenEstimatorParams& params);

/// One parameter dimension of a mixture: kernel k is a truncated normal (numerical) or a row of
/// choice probabilities (categorical). The last kernel is the prior.
struct ParzenDimension {
  Distribution distribution;
  bool numerical = true;
  double low = 0.0, high = 0.0;  // transformed bounds (log, widened by step/2)
  std::vector<double> mus, sigmas, inv_sigmas, log_z, z;  // numerical, one per kernel
  std::vector<double> probs;  // categorical: n_kernels x n_choices, rows normalized
  // Univariate categorical keeps rows implicit: row k = row_share + row_hit at observed[k].
  std::vector<double> observed;
  double row_share = 0.0, row_hit = 0.0;

  double transform(double internal) const;
  double untransform(double t) const;
  /// log density (or bin mass, with a step / categorical) of kernel k at internal value x.
  double log_kernel_pdf(int64_t k, double x) const;
};

/// A mixture of kernels over one or more parameters: TPE's l(x) or g(x).
class ParzenEstimator {
 public:
  /// `observations[d]` holds one internal value per observation for dimension d (all of the same
  /// length); `weights` one unnormalized weight per observation. A prior kernel is appended.
  ParzenEstimator(const std::vector<Distribution>& space,
                  const std::vector<std::vector<double>>& observations,
                  const std::vector<double>& weights, const ParzenEstimatorParams& params);

  /// n joint samples: result[d][i] is dimension d of sample i (internal values).
  std::vector<std::vector<double>> sample(Rng& rng, int64_t n) const;
  /// log density of each sample (same layout as sample()).
  std::vector<double> log_pdf(const std::vector<std::vector<double>>& samples) const;

  int64_t n_kernels() const { return static_cast<int64_t>(weights_.size()); }
  const std::vector<double>& weights() const { return weights_; }
  const ParzenDimension& dimension(int64_t d) const { return dims_[static_cast<size_t>(d)]; }

 private:
  std::vector<double> log_pdf_1d(const std::vector<double>& xs) const;

  std::vector<ParzenDimension> dims_;
  std::vector<double> weights_;      // normalized, prior last
  std::vector<double> log_weights_;
  std::vector<double> cumulative_;   // for drawing a kernel
  // Univariate fast paths.
  std::vector<double> cont_offset_;  // log w - log sigma - log Z - log sqrt(2 pi)
  std::vector<double> narrow_mu_, narrow_inv_sigma_, narrow_offset_;  // sorted by mu
  std::vector<double> wide_mu_, wide_inv_sigma_, wide_offset_;        // prior last
  double narrow_cap_ = 0.0, narrow_max_offset_ = 0.0;
  std::vector<double> merged_mu_, merged_sigma_, merged_coef_;  // step: w / Z, equal kernels merged
  std::vector<double> cat_pmf_, cat_log_pmf_;  // univariate categorical: the mixture's pmf
};

}  // namespace chop::search
