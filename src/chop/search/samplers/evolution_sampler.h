// EvolutionSampler: regularized (aging) evolution — tournament from the newest population, mutate one parameter.
#pragma once

#include "chop/search/samplers/sampler.h"

#include <mutex>

namespace chop::search {

/// Options of EvolutionSampler.
struct EvolutionSamplerOptions {
  int64_t population_size = 10;  ///< the newest COMPLETE trials form the population
  int64_t sample_size = 3;       ///< tournament size
};

/// Regularized evolution (Real et al. 2019): until population_size trials are COMPLETE, random;
/// then each trial samples sample_size members of the population (the population_size newest
/// COMPLETE trials, so the oldest age out), takes the best (infeasible last; multi-objective:
/// fewest dominators in the sample) and copies its parameters, resampling exactly one of them
/// (to a different value when the domain allows). Trials get user-visible system attrs
/// "evolution:parent" and "evolution:mutated".
class EvolutionSampler : public Sampler {
 public:
  explicit EvolutionSampler(uint64_t seed = 0, EvolutionSamplerOptions options = {});
  static std::unique_ptr<Sampler> create(uint64_t seed, const nlohmann::json& options);
  std::string name() const override { return "evolution"; }

  void before_trial(Study& study, const FrozenTrial& trial) override;
  double sample_independent(Study& study, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override;
  void after_trial(Study& study, const FrozenTrial& trial) override;

 private:
  struct Plan {
    FrozenTrialPtr parent;
    std::string mutated;
  };
  uint64_t seed_;
  EvolutionSamplerOptions options_;
  std::mutex mutex_;
  std::map<int64_t, Plan> plans_;
};

}  // namespace chop::search
