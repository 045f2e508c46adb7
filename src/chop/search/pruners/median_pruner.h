// MedianPruner: prune a trial whose best value is worse than the median of completed trials at the same step.
#pragma once

#include "chop/search/pruners/pruner.h"

namespace chop::search {

/// Options of MedianPruner (Optuna's defaults).
struct MedianPrunerOptions {
  int64_t n_startup_trials = 5;  ///< no pruning until this many trials are COMPLETE
  int64_t n_warmup_steps = 0;    ///< no pruning before this step
  int64_t interval_steps = 1;    ///< decide only every interval_steps steps after warm-up
  int64_t n_min_trials = 1;      ///< completed trials reporting this step needed to decide
};

/// Optuna's MedianPruner (PercentilePruner at 50): prunes at step s when the trial's best
/// intermediate value so far is worse than the median of the COMPLETE trials' values at step s,
/// in Study::pruning_direction(). A NaN best value is pruned.
class MedianPruner : public Pruner {
 public:
  explicit MedianPruner(MedianPrunerOptions options = {});
  static std::unique_ptr<Pruner> create(const nlohmann::json& options);
  std::string name() const override { return "median"; }
  bool prune(Study& study, const FrozenTrial& trial) override;

 private:
  MedianPrunerOptions options_;
};

/// The p-th percentile (0..100) of values with linear interpolation (numpy's default).
double percentile(std::vector<double> values, double p);

}  // namespace chop::search
