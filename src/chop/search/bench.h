// Sampler benchmark: sampler overhead and search progress on a synthetic space or a lookup table.
#pragma once

#include "chop/search/frozen_trial.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chop::search {

/// A replayable objective: every point of a discrete space with its objective values.
struct LookupTable {
  std::vector<std::string> param_names;
  std::vector<std::vector<std::string>> choices;  ///< distinct values per parameter (as text)
  std::vector<std::string> objective_names;
  std::map<std::vector<int64_t>, std::vector<double>> values;  ///< choice indices -> objectives
};

/// Reads a CSV with a header: one column per parameter (each a categorical over its distinct
/// values, numbers sorted numerically), then the last `n_objectives` columns are objective values.
/// DataError on a missing file or a malformed row.
LookupTable read_lookup_table(const std::string& path, int64_t n_objectives);

/// What `run_sampler_bench` runs.
struct SamplerBenchOptions {
  std::string sampler = "tpe";                        ///< registry name or alias
  nlohmann::json sampler_options = nlohmann::json::object();
  int64_t n_trials = 1000;
  int64_t n_objectives = 1;
  uint64_t seed = 0;
  /// "synthetic8": 4 categorical with choices 1-4, 2 int in 1..64, 2 float in 1e-4..1 (one
  /// log); a sum of shifted quadratics, a second conflicting one for 2 objectives.
  /// "zdt1": Zitzler-Deb-Thiele's ZDT1, 30 floats in [0, 1], 2 objectives.
  std::string space = "synthetic8";
  std::optional<std::string> table_path;  ///< replay this lookup table instead of `space`
  /// One per objective; empty: minimize every objective.
  std::vector<StudyDirection> directions;
  /// The study's dedup (distinct proposals, reused repeats); nullopt: on for a lookup table (a
  /// fully discrete space, as chop search), off for the synthetic spaces.
  std::optional<bool> dedup;
};

/// Runs a sampler on one thread. Returns {"sampler", "n_trials", "n_objectives", "directions",
/// "dedup", "exhausted", "seed", "space", "total_seconds", "ms_per_trial": {"1-100", "101-500",
/// "501-N", "all"}, "best"} where "best" is the best value after each trial (single objective, in
/// its direction; a table also gives its "optimum") or the hypervolume of the front so far (two
/// objectives, in loss space: maximized objectives negated; reference point in "reference": for
/// a table the worst loss plus a tenth of the table's range per objective; zdt1 and tables also
/// give "true_front_hypervolume" and the final "hypervolume_ratio"). Timing covers ask,
/// objective and tell.
nlohmann::json run_sampler_bench(const SamplerBenchOptions& options);

}  // namespace chop::search
