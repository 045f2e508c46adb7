// A finished (or running) study as the report sees it, and its loader from a results directory.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chop::report {

enum class TrialState { Complete, Pruned, Fail, Running, Waiting };

/// "COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING" (Optuna's names).
const char* to_string(TrialState s);
/// The inverse of to_string; nullopt for anything else.
std::optional<TrialState> parse_trial_state(const std::string& text);

/// Named numbers in the order they were recorded (metrics of a trial).
using NamedValues = std::vector<std::pair<std::string, double>>;
/// The value named `name`, or nullptr.
const double* find_value(const NamedValues& values, const std::string& name);

/// One objective of the study: what values[i] of every trial means.
struct Objective {
  std::string name;  ///< a metric name, or "sum_scaled_metrics"
  bool maximize = true;
};

/// One [search.strategy.metrics] entry: objective term scale * metric.
struct MetricSpec {
  std::string name;
  double scale = 1.0;
  bool maximize = true;
};

struct TrialRecord {
  int64_t number = 0;
  TrialState state = TrialState::Complete;
  std::vector<double> values;  ///< one per objective; empty unless COMPLETE
  std::vector<std::pair<std::string, nlohmann::json>> params;  ///< key -> number/string/bool
  NamedValues software_metrics;
  NamedValues hardware_metrics;
  NamedValues scaled_metrics;
  std::map<int64_t, double> intermediate_values;  ///< step -> value of the pruning metric
  std::vector<double> constraints;                ///< feasible when every entry <= 0
  nlohmann::json config = nlohmann::json::object();  ///< the [passes] tables applied
  std::optional<double> duration_s;
  std::optional<int64_t> dedup_of;
  std::string fail_reason;

  /// The value of param `key`, or nullptr.
  const nlohmann::json* param(const std::string& key) const;
  /// Complete and every constraint satisfied (Optuna's rule: c <= 0).
  bool feasible() const;
};

/// Everything the report shows, independent of where it came from: a results directory
/// (load_results_dir) or, later, an Optuna-schema storage.
struct StudyResults {
  std::string name;    ///< study / project name
  std::string source;  ///< the directory or storage it was read from, for the report's header
  std::vector<Objective> objectives;  ///< at least one
  std::vector<MetricSpec> metrics;
  std::string pruning_metric;         ///< what intermediate values measure
  std::vector<TrialRecord> trials;    ///< sorted by number
  std::vector<int64_t> best_numbers;  ///< best trial(s) / Pareto front as the search saw it
  nlohmann::ordered_json resolved_config = nlohmann::ordered_json::object();

  bool is_multi_objective() const { return objectives.size() > 1; }
  /// Param keys in first-seen order over all trials.
  std::vector<std::string> param_keys() const;
  /// Software then hardware metric names in first-seen order over all trials.
  std::vector<std::string> software_metric_keys() const;
  std::vector<std::string> hardware_metric_keys() const;
  /// The trial numbered `number`, or nullptr.
  const TrialRecord* trial(int64_t number) const;
};

/// Objectives and metric specs from a resolved config's "search" table: one objective per metric
/// in config order, or one "sum_scaled_metrics" objective with setup.direction. With no metrics
/// table, `n_values` objectives "value_0".. minimized. Throws DataError (naming `what`) when
/// a present table has the wrong type.
void read_objectives(const nlohmann::ordered_json& resolved, size_t n_values, const std::string& what,
                     StudyResults& out);

/// One trial from its log.json / best.json object; throws DataError naming `what` (file and
/// index) when a field is missing or has the wrong type.
TrialRecord parse_trial(const nlohmann::ordered_json& j, const std::string& what);

/// Reads <dir>/log.json, <dir>/resolved_config.json and (if present) <dir>/best.json, as
/// `chop search` writes them into <project>/software/search_ckpts/. `dir` may also be a project
/// directory holding software/search_ckpts/. Throws DataError naming the file that is missing,
/// not JSON, or malformed.
StudyResults load_results_dir(const std::string& dir);

/// The results directory `dir` resolves to (dir itself, or dir/software/search_ckpts).
std::string resolve_results_dir(const std::string& dir);

}  // namespace chop::report
