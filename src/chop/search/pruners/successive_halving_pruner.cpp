// SuccessiveHalvingPruner: asynchronous successive halving (ASHA) over reported steps.
#include "chop/search/pruners/successive_halving_pruner.h"

#include "chop/search/study.h"
#include "chop/support/option_reader.h"

#include <algorithm>
#include <cmath>

namespace chop::search {

SuccessiveHalvingPruner::SuccessiveHalvingPruner(SuccessiveHalvingPrunerOptions options)
    : options_(options) {
  CHOP_CHECK(options_.min_resource >= 1, ConfigError, "`min_resource >= 1` must hold, but got {}",
             options_.min_resource);
  CHOP_CHECK(options_.reduction_factor >= 2, ConfigError,
             "`reduction_factor >= 2` must hold, but got {}", options_.reduction_factor);
  CHOP_CHECK(options_.min_early_stopping_rate >= 0, ConfigError,
             "`min_early_stopping_rate >= 0` must hold, but got {}", options_.min_early_stopping_rate);
  CHOP_CHECK(options_.bootstrap_count >= 0, ConfigError,
             "`bootstrap_count >= 0` must hold, but got {}", options_.bootstrap_count);
}

std::unique_ptr<Pruner> SuccessiveHalvingPruner::create(const nlohmann::json& options) {
  OptionReader r(options, "pruner 'successive_halving'");
  SuccessiveHalvingPrunerOptions o;
  o.min_resource = r.get("min_resource", o.min_resource);
  o.reduction_factor = r.get("reduction_factor", o.reduction_factor);
  o.min_early_stopping_rate = r.get("min_early_stopping_rate", o.min_early_stopping_rate);
  o.bootstrap_count = r.get("bootstrap_count", o.bootstrap_count);
  r.finish();
  return std::make_unique<SuccessiveHalvingPruner>(o);
}

bool SuccessiveHalvingPruner::prune(Study& study, const FrozenTrial& trial) {
  const auto step = trial.last_step();
  if (!step) return false;
  int64_t rung = 0;
  while (trial.system_attrs.count("completed_rung_" + std::to_string(rung))) ++rung;
  const double value = trial.intermediate_values.rbegin()->second;
  const bool maximize = study.pruning_direction() == StudyDirection::Maximize;
  std::vector<FrozenTrialPtr> trials;
  bool loaded = false;
  while (true) {
    const double promotion_step =
        static_cast<double>(options_.min_resource) *
        std::pow(static_cast<double>(options_.reduction_factor),
                 static_cast<double>(options_.min_early_stopping_rate + rung));
    if (static_cast<double>(*step) < promotion_step) return false;
    if (std::isnan(value)) return true;
    if (!loaded) {
      trials = study.trials();
      loaded = true;
    }
    const std::string key = "completed_rung_" + std::to_string(rung);
    study.storage().set_trial_system_attr(trial.trial_id, key, value);
    std::vector<double> competing;
    for (const auto& t : trials) {
      if (t->number == trial.number) continue;
      auto it = t->system_attrs.find(key);
      if (it != t->system_attrs.end()) competing.push_back(it->second.get<double>());
    }
    competing.push_back(value);
    if (static_cast<int64_t>(competing.size()) <= options_.bootstrap_count) return true;
    auto promotable = static_cast<int64_t>(competing.size()) / options_.reduction_factor - 1;
    if (promotable < 0) promotable = 0;
    std::sort(competing.begin(), competing.end());
    const bool promoted =
        maximize ? value >= competing[competing.size() - 1 - static_cast<size_t>(promotable)]
                 : value <= competing[static_cast<size_t>(promotable)];
    if (!promoted) return true;
    ++rung;
  }
}

}  // namespace chop::search
