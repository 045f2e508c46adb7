// EvolutionSampler: regularized (aging) evolution — tournament from the newest population, mutate one parameter.
#include "chop/search/samplers/evolution_sampler.h"

#include "chop/search/multi_objective.h"
#include "chop/search/study.h"
#include "chop/support/option_reader.h"

#include <algorithm>
#include <cmath>

namespace chop::search {

EvolutionSampler::EvolutionSampler(uint64_t seed, EvolutionSamplerOptions options)
    : seed_(seed), options_(options) {
  CHOP_CHECK(options_.population_size >= 1, ConfigError,
             "`population_size >= 1` must hold, but got {}", options_.population_size);
  CHOP_CHECK(options_.sample_size >= 1 && options_.sample_size <= options_.population_size,
             ConfigError, "`1 <= sample_size <= population_size` must hold, but got sample_size={}, population_size={}",
             options_.sample_size, options_.population_size);
}

std::unique_ptr<Sampler> EvolutionSampler::create(uint64_t seed, const nlohmann::json& options) {
  OptionReader r(options, "sampler 'evolution'");
  EvolutionSamplerOptions o;
  o.population_size = r.get("population_size", o.population_size);
  o.sample_size = r.get("sample_size", o.sample_size);
  r.finish();
  return std::make_unique<EvolutionSampler>(seed, o);
}

void EvolutionSampler::before_trial(Study& study, const FrozenTrial& trial) {
  const auto complete = study.trials(std::vector{TrialState::Complete});
  if (static_cast<int64_t>(complete.size()) < options_.population_size) return;
  // complete is in number order; the newest population_size trials are the population.
  std::vector<FrozenTrialPtr> population(complete.end() - options_.population_size, complete.end());
  Rng rng(mix_seed(seed_, static_cast<uint64_t>(trial.number), 0xe7017));
  std::vector<FrozenTrialPtr> sample;
  for (int64_t i = 0; i < options_.sample_size; ++i) {
    // Partial Fisher-Yates: distinct members.
    const auto j = static_cast<size_t>(i) + rng.below(population.size() - static_cast<size_t>(i));
    std::swap(population[static_cast<size_t>(i)], population[j]);
    sample.push_back(population[static_cast<size_t>(i)]);
  }
  const auto& dirs = study.directions();
  const auto m = static_cast<int64_t>(dirs.size());
  auto score = [&](const FrozenTrialPtr& t) {
    double violation = 0.0;
    for (double c : t->constraints) violation += std::max(c, 0.0);
    const auto l = to_losses(t->values, dirs);
    double dominated_by = 0.0;
    for (const auto& o : sample) {
      const auto lo = to_losses(o->values, dirs);
      dominated_by += dominates(lo.data(), l.data(), m);
    }
    return std::make_tuple(violation, m == 1 ? l[0] : dominated_by, t->number);
  };
  FrozenTrialPtr parent = sample[0];
  for (const auto& s : sample)
    if (score(s) < score(parent)) parent = s;
  Plan plan;
  plan.parent = parent;
  std::vector<std::string> mutable_names;
  for (const auto& [name, d] : parent->distributions)
    if (!d.single()) mutable_names.push_back(name);
  if (!mutable_names.empty()) plan.mutated = mutable_names[rng.below(mutable_names.size())];
  {
    std::lock_guard<std::mutex> lock(mutex_);
    plans_[trial.number] = plan;
  }
  study.storage().set_trial_system_attr(trial.trial_id, "evolution:parent", parent->number);
  study.storage().set_trial_system_attr(trial.trial_id, "evolution:mutated", plan.mutated);
}

double EvolutionSampler::sample_independent(Study& /*study*/, const FrozenTrial& trial,
                                            const std::string& name,
                                            const Distribution& distribution) {
  Rng rng = param_rng(seed_, trial.number, name);
  Plan plan;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = plans_.find(trial.number);
    if (it == plans_.end()) return sample_uniform(rng, distribution);
    plan = it->second;
  }
  auto p = plan.parent->params.find(name);
  const bool inherited = p != plan.parent->params.end() &&
                         plan.parent->distributions.at(name) == distribution;
  if (!inherited) return sample_uniform(rng, distribution);
  if (name != plan.mutated) return p->second;
  double v = sample_uniform(rng, distribution);
  for (int tries = 0; tries < 16 && v == p->second; ++tries) v = sample_uniform(rng, distribution);
  return v;
}

void EvolutionSampler::after_trial(Study& /*study*/, const FrozenTrial& trial) {
  std::lock_guard<std::mutex> lock(mutex_);
  plans_.erase(trial.number);
}

}  // namespace chop::search
