// Parzen estimators of TPE: truncated-normal and categorical kernel mixtures as contiguous arrays.
#include "chop/search/samplers/parzen_estimator.h"

#include "chop/search/normal_math.h"
#include "chop/support/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstring>
#include <numeric>
#include <tuple>

namespace chop::search {
namespace {

constexpr double kLogSqrt2Pi = 0.91893853320467274178;
constexpr double kEps = 1e-12;

/// exp(x) for -745 < x <= 0, inlined (no errno, no library call); relative error ~2e-16.
inline double exp_nonpositive(double x) {
  const double shifter = 0x1.8p52;
  const double t = x * 1.4426950408889634 + shifter;
  const double n = t - shifter;
  const double r = (x - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
  double p = 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  int64_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  const int64_t scale_bits = (bits - 0x4338000000000000LL + 1023) * (int64_t{1} << 52);
  double scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return p * scale;
}

/// log(sum(exp(offset[k] - 0.5 ((t - mu[k]) * inv_sigma[k])^2))) over k: two flat passes.
double mixture_log_pdf(double t, const double* offset, const double* mu, const double* inv_sigma,
                       int64_t n, double* buffer) {
  double m = -std::numeric_limits<double>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t k = 0; k < n; ++k) {
    const double z = (t - mu[k]) * inv_sigma[k];
    const double v = offset[k] - 0.5 * z * z;
    buffer[k] = v;
    m = v > m ? v : m;
  }
  // Terms below exp(-36) change the sum by < 3e-13 relative even summed over 1e3 kernels; most
  // kernels are narrow and far from t, so skipping them saves most of the exp calls.
  double s = 0.0;
  for (int64_t k = 0; k < n; ++k) {
    const double d = buffer[k] - m;
    if (d > -36.0) s += exp_nonpositive(d);
  }
  return m + std::log(s);
}

/// log Z of a kernel centred inside [low, high]: Z = 1 - Phi(a) - Phi(-b) with a <= 0 <= b; a tail
/// beyond 8.5 sigma is below 1e-16 and skipped (most kernels are narrow and interior).
double log_mass_inside(double a, double b) {
  if (a > 0.0 || b < 0.0) return log_ndtr_diff(a, b);
  const double left = a < -8.5 ? 0.0 : ndtr(a);
  const double right = b > 8.5 ? 0.0 : ndtr(-b);
  return std::log1p(-left - right);
}

}  // namespace

int64_t tpe_gamma(int64_t n) {
  return std::min<int64_t>(static_cast<int64_t>(std::ceil(0.1 * static_cast<double>(n))), 25);
}

std::vector<double> tpe_weights(int64_t n) {
  if (n <= 0) return {};
  if (n < 25) return std::vector<double>(static_cast<size_t>(n), 1.0);
  std::vector<double> w(static_cast<size_t>(n), 1.0);
  const int64_t n_ramp = n - 25;
  const double start = 1.0 / static_cast<double>(n);
  for (int64_t i = 0; i < n_ramp; ++i)
    w[static_cast<size_t>(i)] =
        n_ramp == 1 ? start : start + (1.0 - start) * static_cast<double>(i) / static_cast<double>(n_ramp - 1);
  return w;
}

namespace {

/// Sigmas given `order`, a stable argsort of mus (the prior mean is merged in here).
std::vector<double> sigmas_from_order(const std::vector<double>& mus, const std::vector<size_t>& order,
                                      double low, double high, const ParzenEstimatorParams& params) {
  const size_t n = mus.size();
  const double prior_mu = 0.5 * (low + high);
  std::vector<double> padded;
  std::vector<size_t> owner;  // observation index of padded[i + 1], n for the prior
  padded.reserve(n + 3);
  owner.reserve(n + 1);
  padded.push_back(low);
  bool prior_done = false;
  for (size_t i : order) {
    if (!prior_done && mus[i] > prior_mu) {
      padded.push_back(prior_mu);
      owner.push_back(n);
      prior_done = true;
    }
    padded.push_back(mus[i]);
    owner.push_back(i);
  }
  if (!prior_done) {
    padded.push_back(prior_mu);
    owner.push_back(n);
  }
  padded.push_back(high);
  const size_t n_sorted = owner.size();
  std::vector<double> sorted_sigma(n_sorted);
  for (size_t i = 0; i < n_sorted; ++i)
    sorted_sigma[i] = std::max(padded[i + 1] - padded[i], padded[i + 2] - padded[i + 1]);
  if (!params.consider_endpoints && padded.size() >= 4) {
    sorted_sigma.front() = padded[2] - padded[1];
    sorted_sigma.back() = padded[padded.size() - 2] - padded[padded.size() - 3];
  }
  const double max_sigma = high - low;
  const double n_kernels = static_cast<double>(n + 1);
  const double min_sigma = params.consider_magic_clip ? (high - low) / std::min(100.0, n_kernels) : kEps;
  std::vector<double> sigmas(n);
  for (size_t i = 0; i < n_sorted; ++i)
    if (owner[i] < n) sigmas[owner[i]] = std::clamp(sorted_sigma[i], min_sigma, max_sigma);
  return sigmas;
}

/// Stable argsort of values.
std::vector<size_t> argsort(const std::vector<double>& values) {
  std::vector<std::pair<double, size_t>> pairs(values.size());
  for (size_t i = 0; i < values.size(); ++i) pairs[i] = {values[i], i};
  std::sort(pairs.begin(), pairs.end());
  std::vector<size_t> order(values.size());
  for (size_t i = 0; i < values.size(); ++i) order[i] = pairs[i].second;
  return order;
}

/// Stable argsort of values on the grid low + k*step by counting sort (O(n + n_values)).
std::vector<size_t> argsort_on_grid(const std::vector<double>& internal, const Distribution& d) {
  const int64_t n_values = d.n_values();
  std::vector<size_t> counts(static_cast<size_t>(n_values) + 1, 0);
  std::vector<size_t> index(internal.size());
  for (size_t i = 0; i < internal.size(); ++i) {
    index[i] = static_cast<size_t>(std::clamp<int64_t>(std::llround((internal[i] - d.low) / *d.step), 0, n_values - 1));
    ++counts[index[i] + 1];
  }
  for (size_t v = 1; v < counts.size(); ++v) counts[v] += counts[v - 1];
  std::vector<size_t> order(internal.size());
  for (size_t i = 0; i < internal.size(); ++i) order[counts[index[i]]++] = i;
  return order;
}

}  // namespace

std::vector<double> tpe_sigmas(const std::vector<double>& mus, double low, double high,
                               const ParzenEstimatorParams& params) {
  return sigmas_from_order(mus, argsort(mus), low, high, params);
}

double ParzenDimension::transform(double internal) const {
  return distribution.log ? std::log(internal) : internal;
}

double ParzenDimension::untransform(double t) const {
  const double x = distribution.log ? std::exp(t) : t;
  return distribution.snap(x);
}

double ParzenDimension::log_kernel_pdf(int64_t k, double x) const {
  const auto ks = static_cast<size_t>(k);
  if (!numerical) {
    const auto n_choices = static_cast<size_t>(distribution.choices.size());
    if (probs.empty()) {  // univariate form: rows are implicit
      if (ks == observed.size()) return -std::log(static_cast<double>(n_choices));
      return std::log(row_share + (std::llround(observed[ks]) == std::llround(x) ? row_hit : 0.0));
    }
    return std::log(probs[ks * n_choices + static_cast<size_t>(std::llround(x))]);
  }
  if (!distribution.step) {
    const double z = (transform(x) - mus[ks]) * inv_sigmas[ks];
    return -0.5 * z * z - kLogSqrt2Pi - std::log(sigmas[ks]) - log_z[ks];
  }
  const double half = 0.5 * *distribution.step;
  const double lb = std::max(transform(x - half), low), ub = std::min(transform(x + half), high);
  return log_ndtr_diff((lb - mus[ks]) * inv_sigmas[ks], (ub - mus[ks]) * inv_sigmas[ks]) - log_z[ks];
}

ParzenEstimator::ParzenEstimator(const std::vector<Distribution>& space,
                                 const std::vector<std::vector<double>>& observations,
                                 const std::vector<double>& weights,
                                 const ParzenEstimatorParams& params) {
  CHOP_ASSERT(space.size() == observations.size(), "{} dims, {} observation columns", space.size(),
              observations.size());
  const size_t n_obs = weights.size();
  const size_t n_kernels = n_obs + 1;
  weights_ = weights;
  weights_.push_back(params.prior_weight);
  const double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  for (auto& w : weights_) w /= total;
  log_weights_.resize(n_kernels);
  cumulative_.resize(n_kernels);
  double acc = 0.0;
  for (size_t k = 0; k < n_kernels; ++k) {
    log_weights_[k] = std::log(weights_[k]);
    acc += weights_[k];
    cumulative_[k] = acc;
  }

  std::vector<size_t> dim_order;  // argsort of the last numerical dimension's observations
  for (size_t d = 0; d < space.size(); ++d) {
    ParzenDimension dim;
    dim.distribution = space[d];
    const Distribution& dist = space[d];
    const auto& obs = observations[d];
    CHOP_ASSERT(obs.size() == n_obs, "dimension {} has {} observations, expected {}", d, obs.size(), n_obs);
    if (dist.kind == DistributionKind::Categorical) {
      dim.numerical = false;
      const size_t n_choices = dist.choices.size();
      if (space.size() == 1) {
        // Univariate: only the mixture's pmf matters, O(n + choices) without the kernel rows.
        const double share = params.prior_weight / static_cast<double>(n_kernels);
        const double row_sum = share * static_cast<double>(n_choices) + 1.0;
        dim.observed = obs;
        dim.row_share = share / row_sum;
        dim.row_hit = 1.0 / row_sum;
        cat_pmf_.assign(n_choices, weights_[n_obs] / static_cast<double>(n_choices));
        double obs_weight = 0.0;
        for (size_t k = 0; k < n_obs; ++k) {
          cat_pmf_[static_cast<size_t>(std::llround(obs[k]))] += weights_[k] * dim.row_hit;
          obs_weight += weights_[k];
        }
        for (auto& p : cat_pmf_) p += obs_weight * dim.row_share;
        dims_.push_back(std::move(dim));
        continue;
      }
      dim.probs.assign(n_kernels * n_choices, params.prior_weight / static_cast<double>(n_kernels));
      for (size_t k = 0; k < n_obs; ++k) dim.probs[k * n_choices + static_cast<size_t>(std::llround(obs[k]))] += 1.0;
      for (size_t k = 0; k < n_kernels; ++k) {
        double s = 0.0;
        for (size_t c = 0; c < n_choices; ++c) s += dim.probs[k * n_choices + c];
        for (size_t c = 0; c < n_choices; ++c) dim.probs[k * n_choices + c] /= s;
      }
      dims_.push_back(std::move(dim));
      continue;
    }
    double low = dist.low, high = dist.high;
    if (dist.step) {
      low -= 0.5 * *dist.step;
      high += 0.5 * *dist.step;
    }
    if (dist.log) {
      low = std::log(low);
      high = std::log(high);
    }
    dim.low = low;
    dim.high = high;
    dim.mus.resize(n_kernels);
    for (size_t k = 0; k < n_obs; ++k) dim.mus[k] = dim.transform(obs[k]);
    if (params.multivariate) {
      const double sigma = 0.2 * std::pow(std::max<double>(static_cast<double>(n_obs), 1.0),
                                          -1.0 / (static_cast<double>(space.size()) + 4.0)) *
                           (high - low);
      const double min_sigma =
          params.consider_magic_clip ? (high - low) / std::min(100.0, static_cast<double>(n_kernels)) : kEps;
      dim.sigmas.assign(n_obs, std::clamp(sigma, min_sigma, high - low));
    } else {
      const std::vector<double> observed(dim.mus.begin(), dim.mus.begin() + static_cast<long>(n_obs));
      const bool small_grid = dist.step && dist.n_values() <= 4 * static_cast<int64_t>(n_obs) + 64;
      dim_order = small_grid ? argsort_on_grid(obs, dist) : argsort(observed);
      dim.sigmas = sigmas_from_order(observed, dim_order, low, high, params);
    }
    dim.mus[n_obs] = 0.5 * (low + high);
    dim.sigmas.push_back(high - low);
    dim.inv_sigmas.resize(n_kernels);
    dim.log_z.resize(n_kernels);
    dim.z.resize(n_kernels);
    for (size_t k = 0; k < n_kernels; ++k) {
      dim.inv_sigmas[k] = 1.0 / dim.sigmas[k];
      dim.log_z[k] = log_mass_inside((low - dim.mus[k]) * dim.inv_sigmas[k], (high - dim.mus[k]) * dim.inv_sigmas[k]);
      dim.z[k] = dim.log_z[k] == 0.0 ? 1.0 : std::exp(dim.log_z[k]);
    }
    dims_.push_back(std::move(dim));
  }

  if (dims_.size() != 1) return;
  dim_order.push_back(n_obs);  // the prior, last kernel
  // Univariate fast paths: fold weights and normalizers into flat per-kernel arrays.
  const ParzenDimension& dim = dims_[0];
  if (!dim.numerical) {
    cat_log_pmf_.resize(cat_pmf_.size());
    for (size_t c = 0; c < cat_pmf_.size(); ++c) cat_log_pmf_[c] = std::log(cat_pmf_[c]);
    return;
  }
  if (!dim.distribution.step) {
    cont_offset_.resize(n_kernels);
    double last_sigma = -1.0, last_log_sigma = 0.0;  // most sigmas repeat (the clip floor)
    for (size_t k = 0; k < n_kernels; ++k) {
      if (dim.sigmas[k] != last_sigma) {
        last_sigma = dim.sigmas[k];
        last_log_sigma = std::log(last_sigma);
      }
      cont_offset_[k] = log_weights_[k] - last_log_sigma - dim.log_z[k] - kLogSqrt2Pi;
    }
    if (n_kernels < 64) return;
    // Windowed evaluation: the narrow kernels (sigma <= the 90th percentile, most of them at the
    // clip floor) sorted by mu, so a candidate only visits those that can matter; the rest are
    // always evaluated. See log_pdf_1d for the bound.
    std::vector<double> obs_sigmas(dim.sigmas.begin(), dim.sigmas.begin() + static_cast<long>(n_obs));
    const size_t q = obs_sigmas.size() * 9 / 10;
    std::nth_element(obs_sigmas.begin(), obs_sigmas.begin() + static_cast<long>(q), obs_sigmas.end());
    narrow_cap_ = obs_sigmas[q];
    narrow_max_offset_ = -std::numeric_limits<double>::infinity();
    for (size_t k : dim_order) {  // observations in mu order; the prior is added below
      if (k == n_obs) continue;
      const bool narrow = dim.sigmas[k] <= narrow_cap_;
      (narrow ? narrow_mu_ : wide_mu_).push_back(dim.mus[k]);
      (narrow ? narrow_inv_sigma_ : wide_inv_sigma_).push_back(dim.inv_sigmas[k]);
      (narrow ? narrow_offset_ : wide_offset_).push_back(cont_offset_[k]);
      if (narrow) narrow_max_offset_ = std::max(narrow_max_offset_, cont_offset_[k]);
    }
    wide_mu_.push_back(dim.mus[n_obs]);
    wide_inv_sigma_.push_back(dim.inv_sigmas[n_obs]);
    wide_offset_.push_back(cont_offset_[n_obs]);
    return;
  }
  // Discrete numerics: kernels with equal (mu, sigma) are one kernel with the summed weight.
  // Walk kernels in mu order (prior last, it is wide); equal mus are adjacent.
  size_t run_start = 0;
  for (size_t k : dim_order) {
    const double coef = weights_[k] / dim.z[k];
    if (!merged_mu_.empty() && merged_mu_.back() != dim.mus[k]) run_start = merged_mu_.size();
    bool merged = false;
    for (size_t j = run_start; j < merged_mu_.size() && !merged; ++j)
      if (merged_mu_[j] == dim.mus[k] && merged_sigma_[j] == dim.sigmas[k]) {
        merged_coef_[j] += coef;
        merged = true;
      }
    if (merged) continue;
    merged_mu_.push_back(dim.mus[k]);
    merged_sigma_.push_back(dim.sigmas[k]);
    merged_coef_.push_back(coef);
  }
}

std::vector<std::vector<double>> ParzenEstimator::sample(Rng& rng, int64_t n) const {
  std::vector<std::vector<double>> out(dims_.size(), std::vector<double>(static_cast<size_t>(n)));
  if (!cat_pmf_.empty()) {  // univariate categorical: draw from the mixture's pmf directly
    for (int64_t i = 0; i < n; ++i) {
      const double v = rng.uniform();
      double acc = 0.0;
      size_t c = 0;
      for (; c + 1 < cat_pmf_.size(); ++c) {
        acc += cat_pmf_[c];
        if (v < acc) break;
      }
      out[0][static_cast<size_t>(i)] = static_cast<double>(c);
    }
    return out;
  }
  for (int64_t i = 0; i < n; ++i) {
    const double u = rng.uniform();
    auto k = static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin());
    k = std::min(k, cumulative_.size() - 1);
    for (size_t d = 0; d < dims_.size(); ++d) {
      const ParzenDimension& dim = dims_[d];
      if (!dim.numerical) {
        const size_t n_choices = dim.distribution.choices.size();
        const double v = rng.uniform();
        double c_acc = 0.0;
        size_t c = 0;
        for (; c + 1 < n_choices; ++c) {
          c_acc += dim.probs[k * n_choices + c];
          if (v < c_acc) break;
        }
        out[d][static_cast<size_t>(i)] = static_cast<double>(c);
        continue;
      }
      const double t = truncnorm_ppf(rng.uniform(), dim.mus[k], dim.sigmas[k], dim.low, dim.high);
      out[d][static_cast<size_t>(i)] = dim.untransform(t);
    }
  }
  return out;
}

std::vector<double> ParzenEstimator::log_pdf_1d(const std::vector<double>& xs) const {
  const ParzenDimension& dim = dims_[0];
  std::vector<double> out(xs.size());
  if (!dim.numerical) {
    for (size_t i = 0; i < xs.size(); ++i) out[i] = cat_log_pmf_[static_cast<size_t>(std::llround(xs[i]))];
    return out;
  }
  if (!dim.distribution.step && !wide_mu_.empty()) {
    std::vector<double> buffer(weights_.size());
    const auto n_wide = static_cast<int64_t>(wide_mu_.size());
    for (size_t i = 0; i < xs.size(); ++i) {
      const double t = dim.transform(xs[i]);
      // Wide kernels (the prior among them) give a lower bound m_lb on the largest term. A narrow
      // kernel k has term <= max_offset - z^2/2, negligible (< e^-36 of the largest) once
      // |t - mu_k| > cap * sqrt(2 (max_offset - m_lb + 40)).
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < n_wide; ++k) {
        const double z = (t - wide_mu_[k]) * wide_inv_sigma_[k];
        buffer[k] = wide_offset_[k] - 0.5 * z * z;
        m = std::max(m, buffer[k]);
      }
      const double reach = narrow_cap_ * std::sqrt(2.0 * std::max(0.0, narrow_max_offset_ - m + 36.0));
      const auto lo = std::lower_bound(narrow_mu_.begin(), narrow_mu_.end(), t - reach) - narrow_mu_.begin();
      const auto hi = std::upper_bound(narrow_mu_.begin(), narrow_mu_.end(), t + reach) - narrow_mu_.begin();
      int64_t used = n_wide;
      for (auto k = lo; k < hi; ++k, ++used) {
        const double z = (t - narrow_mu_[k]) * narrow_inv_sigma_[k];
        buffer[used] = narrow_offset_[k] - 0.5 * z * z;
        m = std::max(m, buffer[used]);
      }
      double sum = 0.0;
      for (int64_t k = 0; k < used; ++k) {
        const double d = buffer[k] - m;
        if (d > -36.0) sum += exp_nonpositive(d);
      }
      out[i] = m + std::log(sum);
    }
    return out;
  }
  if (!dim.distribution.step) {
    std::vector<double> buffer(weights_.size());
    for (size_t i = 0; i < xs.size(); ++i)
      out[i] = mixture_log_pdf(dim.transform(xs[i]), cont_offset_.data(), dim.mus.data(),
                               dim.inv_sigmas.data(), static_cast<int64_t>(weights_.size()), buffer.data());
    return out;
  }
  // Bin masses; candidates repeat a lot, so each distinct value is computed once.
  const double half = 0.5 * *dim.distribution.step;
  std::vector<std::pair<double, double>> done;
  for (size_t i = 0; i < xs.size(); ++i) {
    auto hit = std::find_if(done.begin(), done.end(), [&](const auto& p) { return p.first == xs[i]; });
    if (hit != done.end()) {
      out[i] = hit->second;
      continue;
    }
    const double lb = std::max(dim.transform(xs[i] - half), dim.low);
    const double ub = std::min(dim.transform(xs[i] + half), dim.high);
    double p = 0.0;
    for (size_t k = 0; k < merged_mu_.size(); ++k) {
      const double inv = 1.0 / merged_sigma_[k];
      const double a = (lb - merged_mu_[k]) * inv, b = (ub - merged_mu_[k]) * inv;
      if (a > 8.5 || b < -8.5) continue;  // the bin lies in a tail holding < 1e-17 of the kernel
      p += merged_coef_[k] * (ndtr(b) - ndtr(a));
    }
    out[i] = std::log(std::max(p, std::numeric_limits<double>::min()));
    done.emplace_back(xs[i], out[i]);
  }
  return out;
}

std::vector<double> ParzenEstimator::log_pdf(const std::vector<std::vector<double>>& samples) const {
  if (dims_.size() == 1) return log_pdf_1d(samples[0]);
  const size_t n = samples.empty() ? 0 : samples[0].size();
  std::vector<double> out(n), per_kernel(weights_.size());
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < weights_.size(); ++k) {
      double v = log_weights_[k];
      for (size_t d = 0; d < dims_.size(); ++d) v += dims_[d].log_kernel_pdf(static_cast<int64_t>(k), samples[d][i]);
      per_kernel[k] = v;
    }
    out[i] = log_sum_exp(per_kernel.data(), static_cast<int64_t>(per_kernel.size()));
  }
  return out;
}

}  // namespace chop::search
