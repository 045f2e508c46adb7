// GridSampler: every combination of a discrete search space exactly once, then the study stops.
#pragma once

#include "chop/search/samplers/sampler.h"

#include <mutex>
#include <vector>

namespace chop::search {

/// Enumerates the grid in mixed-radix order (first parameter fastest). Without an explicit
/// space, the space is learned from the first trial's suggestions (order of first appearance;
/// later trials wait until it finishes) and stored in the study (system attr
/// "grid:search_space"), so other processes and resumed runs decode grid points the same way;
/// chop search always gives the space up front. Continuous float parameters are a ConfigError
/// (give them a step or make them categorical). Each new trial is created holding the smallest
/// grid point no trial of the study holds yet (trial system attr "grid_id", claimed atomically
/// as study system attr "grid:<id>"; finished, failed and running trials all keep theirs, as in
/// Optuna), so several processes and resumed studies share one grid and never evaluate a point
/// twice; once every point is held the study stops. A WAITING trial (a retry) keeps its point.
class GridSampler : public Sampler {
 public:
  explicit GridSampler(uint64_t seed = 0) : seed_(seed) {}
  /// A grid over a known space (parameters ordered by name).
  GridSampler(const SearchSpace& space, uint64_t seed = 0);
  /// Registry factory; accepts no options.
  static std::unique_ptr<Sampler> create(uint64_t seed, const nlohmann::json& options);
  std::string name() const override { return "grid"; }
  /// Fixes the grid to `space` (parameters ordered by name); call before the first trial.
  void set_search_space(const SearchSpace& space) override;

  std::optional<TrialClaim> next_claim(Study& study) override;
  void before_trial(Study& study, const FrozenTrial& trial) override;
  double sample_independent(Study& study, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override;
  void after_trial(Study& study, const FrozenTrial& trial) override;
  /// Number of grid points, -1 while the space is still being learned.
  int64_t grid_size() const;

 private:
  int64_t add_param_locked(const std::string& name, const Distribution& d);
  int64_t grid_size_locked() const;
  /// Takes the space another process stored, if this one has not learned it yet.
  void adopt_stored_space_locked(Study& study);

  uint64_t seed_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Distribution>> space_;
  bool space_complete_ = false;
  std::map<int64_t, int64_t> grid_ids_;  // trial number -> grid point, trials of this process
};

}  // namespace chop::search
