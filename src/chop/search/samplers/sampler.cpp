// Sampler: the interface of every sampler, the sampler registry, and a cached view of trial history.
#include "chop/search/samplers/sampler.h"

#include "chop/search/samplers/evolution_sampler.h"
#include "chop/search/samplers/grid_sampler.h"
#include "chop/search/samplers/nsgaii_sampler.h"
#include "chop/search/samplers/random_sampler.h"
#include "chop/search/samplers/tpe_sampler.h"
#include "chop/support/error.h"
#include "chop/support/strings.h"

#include <cmath>
#include <limits>

namespace chop::search {

double sample_uniform(Rng& rng, const Distribution& d) {
  if (d.kind == DistributionKind::Categorical)
    return static_cast<double>(rng.below(d.choices.size()));
  if (d.log) {
    // Ints widen by half a step so that every value has a fair share of the log range.
    const double lo = d.kind == DistributionKind::Int ? d.low - 0.5 : d.low;
    const double hi = d.kind == DistributionKind::Int ? d.high + 0.5 : d.high;
    return d.snap(std::exp(rng.uniform(std::log(lo), std::log(hi))));
  }
  if (d.step) return d.internal_at(static_cast<int64_t>(rng.below(static_cast<uint64_t>(d.n_values()))));
  return std::min(rng.uniform(d.low, d.high), d.high);
}

const std::vector<SamplerInfo>& sampler_registry() {
  static const std::vector<SamplerInfo> registry = {
#define CHOP_SAMPLER(name, Class, description) {#name, description, &Class::create},
#define CHOP_SAMPLER_ALIAS(alias, name)
#include "chop/search/samplers/samplers.def"
#undef CHOP_SAMPLER
#undef CHOP_SAMPLER_ALIAS
  };
  return registry;
}

namespace {
const std::vector<std::pair<std::string, std::string>>& sampler_aliases() {
  static const std::vector<std::pair<std::string, std::string>> aliases = {
#define CHOP_SAMPLER(name, Class, description)
#define CHOP_SAMPLER_ALIAS(alias, name) {#alias, #name},
#include "chop/search/samplers/samplers.def"
#undef CHOP_SAMPLER
#undef CHOP_SAMPLER_ALIAS
  };
  return aliases;
}
}  // namespace

std::vector<std::string> sampler_names() {
  std::vector<std::string> names;
  for (const auto& info : sampler_registry()) names.push_back(info.name);
  for (const auto& [alias, name] : sampler_aliases()) names.push_back(alias);
  return names;
}

std::string canonical_sampler_name(const std::string& name) {
  for (const auto& info : sampler_registry())
    if (name == info.name) return name;
  for (const auto& [alias, target] : sampler_aliases())
    if (name == alias) return target;
  throw ConfigError(unknown_name_message("sampler", name, sampler_names()));
}

std::unique_ptr<Sampler> make_sampler(const std::string& name, uint64_t seed,
                                      const nlohmann::json& options) {
  const std::string canonical = canonical_sampler_name(name);
  for (const auto& info : sampler_registry())
    if (canonical == info.name) return info.create(seed, options);
  CHOP_ASSERT(false, "sampler '{}' resolved but not registered", canonical);
}

void TrialHistory::update(const std::vector<FrozenTrialPtr>& trials) {
  const size_t old_size = trials_.size();
  if (trials.size() > old_size) {
    trials_.resize(trials.size());
    states_.resize(trials.size(), TrialState::Waiting);
    cached_.resize(trials.size(), 0);
    for (auto& [name, col] : columns_) col.resize(trials.size(), std::numeric_limits<double>::quiet_NaN());
  }
  for (size_t i = 0; i < trials.size(); ++i) {
    if (cached_[i]) continue;
    const auto& t = trials[i];
    trials_[i] = t;
    states_[i] = t->state;
    if (!is_finished(t->state)) continue;
    cached_[i] = 1;
    for (auto& [name, col] : columns_) {
      auto it = t->params.find(name);
      if (it != t->params.end()) col[i] = it->second;
    }
  }
}

const std::vector<double>& TrialHistory::column(const std::string& name) {
  auto it = columns_.find(name);
  if (it != columns_.end()) return it->second;
  std::vector<double> col(trials_.size(), std::numeric_limits<double>::quiet_NaN());
  for (size_t i = 0; i < trials_.size(); ++i) {
    if (!cached_[i]) continue;
    auto p = trials_[i]->params.find(name);
    if (p != trials_[i]->params.end()) col[i] = p->second;
  }
  return columns_.emplace(name, std::move(col)).first->second;
}

}  // namespace chop::search
