// FrozenTrial: an immutable snapshot of one trial (state, params, values, intermediate values, attrs).
#pragma once

#include "chop/search/distributions.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chop::search {

enum class TrialState { Running, Complete, Pruned, Fail, Waiting };

/// "RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING" (Optuna's names).
const char* to_string(TrialState state);
/// True for COMPLETE, PRUNED and FAIL.
inline bool is_finished(TrialState s) {
  return s == TrialState::Complete || s == TrialState::Pruned || s == TrialState::Fail;
}

enum class StudyDirection { Minimize, Maximize };
/// "minimize" / "maximize".
const char* to_string(StudyDirection d);
/// Parses "minimize"/"maximize" (also "min"/"max"); ConfigError otherwise.
StudyDirection parse_direction(const std::string& text);

using Clock = std::chrono::system_clock;

/// One trial as stored. Snapshots handed out by a Storage never change afterwards.
struct FrozenTrial {
  int64_t trial_id = -1;  ///< unique in the storage
  int64_t number = -1;    ///< 0, 1, 2 ... within the study
  TrialState state = TrialState::Running;
  std::vector<double> values;                           ///< one per objective when COMPLETE
  std::map<std::string, double> params;                 ///< internal representation
  std::map<std::string, Distribution> distributions;    ///< same keys as params
  std::map<int64_t, double> intermediate_values;        ///< step -> value
  std::map<std::string, nlohmann::json> user_attrs;
  std::map<std::string, nlohmann::json> system_attrs;   ///< sampler/pruner bookkeeping
  std::vector<double> constraints;                      ///< each <= 0 means satisfied
  std::optional<Clock::time_point> datetime_start;
  std::optional<Clock::time_point> datetime_complete;

  /// External value of a parameter; SearchError when the trial has no such parameter.
  ParamValue param(const std::string& name) const;
  /// All parameters as external values.
  std::map<std::string, ParamValue> external_params() const;
  /// True when every constraint is <= 0 (no constraints means feasible).
  bool feasible() const;
  /// Largest step reported, if any.
  std::optional<int64_t> last_step() const;
  /// Why the trial failed ("" unless FAIL with a reason).
  std::string fail_reason() const;
  /// Wall seconds from start to completion (0 when unknown).
  double duration_seconds() const;
  /// JSON of the whole trial (number, state, values, params, intermediate values, attrs, times).
  nlohmann::json to_json() const;
};

using FrozenTrialPtr = std::shared_ptr<const FrozenTrial>;

}  // namespace chop::search
