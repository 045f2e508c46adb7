// RandomSampler: independent uniform sampling of every parameter.
#include "chop/search/samplers/random_sampler.h"

#include "chop/support/option_reader.h"

namespace chop::search {

std::unique_ptr<Sampler> RandomSampler::create(uint64_t seed, const nlohmann::json& options) {
  OptionReader(options, "sampler 'random'").finish();
  return std::make_unique<RandomSampler>(seed);
}

double RandomSampler::sample_independent(Study& /*study*/, const FrozenTrial& trial,
                                         const std::string& name,
                                         const Distribution& distribution) {
  Rng rng = param_rng(seed_, trial.number, name);
  return sample_uniform(rng, distribution);
}

std::optional<Params> RandomSampler::propose_unseen(Study& /*study*/, const FrozenTrial& trial,
                                                    const SearchSpace& space, const Params& draft,
                                                    const SeenPredicate& seen) {
  if (!seen(draft)) return draft;
  Rng rng = unseen_rng(seed_, trial.number);
  return uniform_unseen(rng, space, seen);
}

}  // namespace chop::search
