// MedianPruner: prune a trial whose best value is worse than the median of completed trials at the same step.
#include "chop/search/pruners/median_pruner.h"

#include "chop/search/study.h"
#include "chop/support/option_reader.h"

#include <algorithm>
#include <cmath>

namespace chop::search {

MedianPruner::MedianPruner(MedianPrunerOptions options) : options_(options) {
  CHOP_CHECK(options_.n_startup_trials >= 0, ConfigError,
             "`n_startup_trials >= 0` must hold, but got {}", options_.n_startup_trials);
  CHOP_CHECK(options_.n_warmup_steps >= 0, ConfigError,
             "`n_warmup_steps >= 0` must hold, but got {}", options_.n_warmup_steps);
  CHOP_CHECK(options_.interval_steps >= 1, ConfigError,
             "`interval_steps >= 1` must hold, but got {}", options_.interval_steps);
  CHOP_CHECK(options_.n_min_trials >= 1, ConfigError, "`n_min_trials >= 1` must hold, but got {}",
             options_.n_min_trials);
}

std::unique_ptr<Pruner> MedianPruner::create(const nlohmann::json& options) {
  OptionReader r(options, "pruner 'median'");
  MedianPrunerOptions o;
  o.n_startup_trials = r.get("n_startup_trials", o.n_startup_trials);
  o.n_warmup_steps = r.get("n_warmup_steps", o.n_warmup_steps);
  o.interval_steps = r.get("interval_steps", o.interval_steps);
  o.n_min_trials = r.get("n_min_trials", o.n_min_trials);
  r.finish();
  return std::make_unique<MedianPruner>(o);
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const double pos = p / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
}

bool MedianPruner::prune(Study& study, const FrozenTrial& trial) {
  const auto complete = study.trials(std::vector{TrialState::Complete});
  if (complete.empty() || static_cast<int64_t>(complete.size()) < options_.n_startup_trials) return false;
  const auto step = trial.last_step();
  if (!step || *step < options_.n_warmup_steps) return false;
  // Decide only at the first reported step of each interval (Optuna's rule).
  if (options_.interval_steps > 1) {
    const int64_t boundary = *step - (*step - options_.n_warmup_steps) % options_.interval_steps;
    for (const auto& [s, v] : trial.intermediate_values)
      if (s >= boundary && s < *step) return false;
  }
  const bool maximize = study.pruning_direction() == StudyDirection::Maximize;
  double best = maximize ? -INFINITY : INFINITY;
  bool any = false;
  for (const auto& [s, v] : trial.intermediate_values) {
    if (std::isnan(v)) continue;
    any = true;
    best = maximize ? std::max(best, v) : std::min(best, v);
  }
  if (!any) return true;
  std::vector<double> others;
  for (const auto& t : complete) {
    auto it = t->intermediate_values.find(*step);
    if (it != t->intermediate_values.end() && !std::isnan(it->second)) others.push_back(it->second);
  }
  if (static_cast<int64_t>(others.size()) < options_.n_min_trials) return false;
  const double median = percentile(others, 50.0);
  return maximize ? best < median : best > median;
}

}  // namespace chop::search
