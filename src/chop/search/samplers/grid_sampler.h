// GridSampler: every combination of a discrete search space exactly once, then the study stops.
#pragma once

#include "chop/search/samplers/sampler.h"

#include <mutex>
#include <vector>

namespace chop::search {

/// Enumerates the grid in mixed-radix order (first parameter fastest). Without an explicit
/// space, the space is learned from the first trial's suggestions (order of first appearance);
/// continuous float parameters are a SearchError (give them a step or make them categorical).
/// Trial k gets grid point k (system attr "grid_id"); once all points are handed out,
/// is_exhausted() is true and Study::optimize stops early.
class GridSampler : public Sampler {
 public:
  explicit GridSampler(uint64_t seed = 0) : seed_(seed) {}
  /// A grid over a known space (parameters ordered by name).
  GridSampler(const SearchSpace& space, uint64_t seed = 0);
  /// Registry factory; accepts no options.
  static std::unique_ptr<Sampler> create(uint64_t seed, const nlohmann::json& options);
  std::string name() const override { return "grid"; }

  void before_trial(Study& study, const FrozenTrial& trial) override;
  double sample_independent(Study& study, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override;
  void after_trial(Study& study, const FrozenTrial& trial) override;
  bool is_exhausted(Study& study) override;
  /// Number of grid points, -1 while the space is still being learned.
  int64_t grid_size() const;

 private:
  int64_t add_param_locked(const std::string& name, const Distribution& d);

  uint64_t seed_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Distribution>> space_;
  bool space_complete_ = false;
  int64_t next_id_ = 0;
  std::map<int64_t, int64_t> grid_ids_;  // trial number -> grid point
};

}  // namespace chop::search
