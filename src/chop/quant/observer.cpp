// RangeObserver: statistics of one tensor over batches (profile_statistics, calibration).
#include "chop/quant/observer.h"

#include <algorithm>
#include <cmath>

namespace chop::quant {
namespace {
constexpr int64_t kSampleCap = 65536;
}  // namespace

void RangeObserver::add(const torch::Tensor& t) {
  auto x = t.detach().to(torch::kCPU, torch::kDouble).flatten();
  if (x.numel() == 0) return;
  double lo = x.min().item<double>(), hi = x.max().item<double>();
  min_ = count_ ? std::min(min_, lo) : lo;
  max_ = count_ ? std::max(max_, hi) : hi;
  sum_ += x.sum().item<double>();
  sum_sq_ += (x * x).sum().item<double>();
  sum_abs_ += x.abs().sum().item<double>();
  sum_pos_ += x.clamp_min(0).sum().item<double>();
  count_ += x.numel();
  int64_t step = std::max<int64_t>(1, x.numel() / kSampleCap);
  samples_.push_back(x.slice(0, 0, x.numel(), step));
}

double RangeObserver::mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0; }

double RangeObserver::variance() const {
  if (!count_) return 0;
  double m = mean();
  return std::max(0.0, sum_sq_ / static_cast<double>(count_) - m * m);
}

std::pair<double, double> RangeObserver::quantiles(double lo, double hi) const {
  if (samples_.empty()) return {0, 0};
  auto q = torch::quantile(torch::cat(samples_), torch::tensor({lo, hi}, torch::kDouble));
  return {q[0].item<double>(), q[1].item<double>()};
}

double RangeObserver::range(double q, bool is_signed) const {
  if (!count_) return 0;
  if (q >= 1) return is_signed ? std::max(std::fabs(min_), std::fabs(max_)) : std::max(max_, 0.0);
  auto all = torch::cat(samples_);
  all = is_signed ? all.abs() : all.clamp_min(0);
  return torch::quantile(all, q).item<double>();
}

double RangeObserver::abs_mean(bool is_signed) const {
  return count_ ? (is_signed ? sum_abs_ : sum_pos_) / static_cast<double>(count_) : 0;
}

}  // namespace chop::quant
