// RandomSampler: independent uniform sampling of every parameter.
#pragma once

#include "chop/search/samplers/sampler.h"

namespace chop::search {

/// Uniform (log-uniform for log parameters, uniform over the step grid for steps) and
/// independent of history.
class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(uint64_t seed = 0) : seed_(seed) {}
  /// Registry factory; accepts no options.
  static std::unique_ptr<Sampler> create(uint64_t seed, const nlohmann::json& options);
  std::string name() const override { return "random"; }
  double sample_independent(Study& study, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override;
  /// `draft` when unseen, else a uniformly random unseen configuration.
  std::optional<Params> propose_unseen(Study& study, const FrozenTrial& trial, const SearchSpace& space,
                                       const Params& draft, const SeenPredicate& seen) override;

 private:
  uint64_t seed_;
};

}  // namespace chop::search
