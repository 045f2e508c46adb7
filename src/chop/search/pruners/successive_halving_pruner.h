// SuccessiveHalvingPruner: asynchronous successive halving (ASHA) over reported steps.
#pragma once

#include "chop/search/pruners/pruner.h"

namespace chop::search {

/// Options of SuccessiveHalvingPruner.
struct SuccessiveHalvingPrunerOptions {
  int64_t min_resource = 1;
  int64_t reduction_factor = 4;
  int64_t min_early_stopping_rate = 0;
  int64_t bootstrap_count = 0;
};

/// Optuna's SuccessiveHalvingPruner: rung r ends at step min_resource * rf^(min_rate + r). On
/// reaching a rung, the trial's value is recorded (system attr "completed_rung_<r>") and the trial
/// is promoted only if it is within the top 1/rf of all values recorded at that rung (at least the
/// best one), in Study::pruning_direction().
class SuccessiveHalvingPruner : public Pruner {
 public:
  explicit SuccessiveHalvingPruner(SuccessiveHalvingPrunerOptions options = {});
  static std::unique_ptr<Pruner> create(const nlohmann::json& options);
  std::string name() const override { return "successive_halving"; }
  bool prune(Study& study, const FrozenTrial& trial) override;

 private:
  SuccessiveHalvingPrunerOptions options_;
};

}  // namespace chop::search
