// RangeObserver: statistics of one tensor over batches (profile_statistics, calibration).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace chop::quant {

/// Min, max, moments and an evenly strided sample (at most 65,536 values a batch) of a tensor
/// over the batches added, in double precision. The one source of observed ranges: the
/// profile_statistics pass reports them, calibration seeds quantizer scales from them.
class RangeObserver {
 public:
  void add(const torch::Tensor& t);

  int64_t count() const { return count_; }
  double min() const { return min_; }
  double max() const { return max_; }
  double mean() const;
  double variance() const;
  /// The lo-th and hi-th quantiles (in [0, 1]) of the values.
  std::pair<double, double> quantiles(double lo, double hi) const;

  /// The range a quantizer covers: the q-quantile of |x| (signed) or of max(x, 0) (unsigned);
  /// q = 1 is the exact maximum. 0 when nothing was observed.
  double range(double q, bool is_signed) const;
  /// mean |x| (signed) or mean max(x, 0) (unsigned): LSQ's initialisation.
  double abs_mean(bool is_signed) const;

 private:
  double min_ = 0, max_ = 0, sum_ = 0, sum_sq_ = 0, sum_abs_ = 0, sum_pos_ = 0;
  int64_t count_ = 0;
  std::vector<torch::Tensor> samples_;
};

}  // namespace chop::quant
