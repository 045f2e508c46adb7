// A search's results, typed: trials, their metrics, objectives and directions as the search
// decided them. The one module that writes them (log.json, best.json, trials.csv, study.json,
// resolved_config.json) and reads them back, from a results directory or from a study's storage.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chop/search/frozen_trial.h"

namespace chop::search {
class Study;
}

namespace chop::results {

using search::TrialState;

/// Named numbers in the order they were recorded (metrics of a trial).
using NamedValues = std::vector<std::pair<std::string, double>>;
/// The value named `name`, or nullptr.
const double* find_value(const NamedValues& values, const std::string& name);

/// One objective of the study: what values[i] of every trial means.
struct Objective {
  std::string name;  ///< a metric name, "sum_scaled_metrics", or "value_<i>" (a foreign study)
  bool maximize = true;
};

/// One [search.strategy.metrics.<name>] entry: objective term scale * metric.
struct MetricSpec {
  std::string name;
  double scale = 1.0;
  std::string direction = "maximize";  ///< maximize | minimize
  bool maximize() const { return direction == "maximize"; }
};

struct TrialRecord {
  int64_t number = 0;
  TrialState state = TrialState::Complete;
  std::vector<double> values;  ///< one per objective; empty unless COMPLETE
  std::vector<std::pair<std::string, nlohmann::json>> params;  ///< key -> number/string/bool
  bool measured = false;  ///< the runners ran: the three metric groups below are recorded
  NamedValues software_metrics;
  NamedValues hardware_metrics;
  NamedValues scaled_metrics;
  std::map<int64_t, double> intermediate_values;  ///< step -> value of the pruning metric
  std::vector<double> constraints;                ///< feasible when every entry <= 0
  nlohmann::json config;               ///< the [passes] tables applied (null: not recorded)
  nlohmann::json quantization_scales;  ///< per quantized tensor (null: none)
  std::optional<double> duration_s;
  std::optional<int64_t> dedup_of;  ///< repeats this earlier trial's result
  std::string fail_reason;

  /// The value of param `key`, or nullptr.
  const nlohmann::json* param(const std::string& key) const;
  /// Complete and every constraint satisfied (Optuna's rule: c <= 0).
  bool feasible() const;
};

/// Everything a search's results hold, independent of where they came from.
struct StudyResults {
  std::string name;    ///< study / project name
  std::string source;  ///< the directory or storage it was read from, for the report's header
  std::vector<Objective> objectives;  ///< at least one
  std::vector<MetricSpec> metrics;    ///< [search.strategy.metrics], sorted by name
  std::string pruning_metric = "accuracy";  ///< what intermediate values measure
  std::vector<TrialRecord> trials;    ///< sorted by number
  std::vector<int64_t> best_numbers;  ///< best trial(s) / Pareto front as the search saw it
  nlohmann::ordered_json resolved_config = nlohmann::ordered_json::object();
  /// Strategy "supernet": supernet.json (the supernet's training and scoring, the stand-alone
  /// retraining, the fidelity of the scores); null otherwise.
  nlohmann::ordered_json supernet;

  bool is_multi_objective() const { return objectives.size() > 1; }
  /// Param keys in first-seen order over all trials.
  std::vector<std::string> param_keys() const;
  /// Software then hardware metric names in first-seen order over all trials.
  std::vector<std::string> software_metric_keys() const;
  std::vector<std::string> hardware_metric_keys() const;
  /// The trial numbered `number`, or nullptr.
  const TrialRecord* trial(int64_t number) const;
  /// The best trials in number order (best_numbers).
  std::vector<const TrialRecord*> best() const;
};

/// The "Running" ... "Waiting" names back to states; nullopt for anything else.
std::optional<TrialState> parse_trial_state(const std::string& text);

/// What the values mean: {"objectives": [{name, direction}], "metrics": [{name, scale,
/// direction}], "pruning_metric"}, as study.json and the study attribute "chop:results" hold it.
nlohmann::ordered_json meaning_json(const StudyResults& r);
/// The inverse; DataError naming `what` for a malformed object.
void read_meaning(const nlohmann::ordered_json& j, const std::string& what, StudyResults& out);

/// One trial as log.json / best.json hold it, and back (DataError naming `what`: file and index).
nlohmann::ordered_json trial_json(const TrialRecord& t);
TrialRecord parse_trial(const nlohmann::ordered_json& j, const std::string& what);

/// A stored trial as a record (user attrs software_metrics, config, ... become fields).
TrialRecord from_frozen(const search::FrozenTrial& t);
/// A study's trials, best trials and meaning (its "chop:results" attribute; a study chop did not
/// write gets objectives value_0.. with its stored directions) and resolved config.
StudyResults from_study(search::Study& study, const std::string& source);
/// Opens the study `name` in the storage at `url` and reads it (from_study). ConfigError for a
/// bad URL; SearchError when no such study exists (listing the ones there are).
StudyResults load_study(const std::string& url, const std::string& name);

/// Writes log.json, best.json, trials.csv, study.json and resolved_config.json (and a
/// supernet's supernet.json) into dir, each atomically.
void write_results_dir(const StudyResults& r, const std::string& dir);
/// Reads what write_results_dir writes. `dir` may also be a project directory holding
/// software/search_ckpts/. Throws DataError naming the file that is missing, not JSON, or malformed.
StudyResults load_results_dir(const std::string& dir);
/// The results directory `dir` resolves to (dir itself, or dir/software/search_ckpts).
std::string resolve_results_dir(const std::string& dir);

/// MASE's table: index, number, software_metrics, hardware_metrics, scaled_metrics (3 places).
std::string best_trials_table(const StudyResults& r);

}  // namespace chop::results
