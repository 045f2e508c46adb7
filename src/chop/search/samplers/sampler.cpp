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

std::optional<Params> Sampler::propose_unseen(Study& /*study*/, const FrozenTrial& trial,
                                              const SearchSpace& space, const Params& draft,
                                              const SeenPredicate& seen) {
  if (!seen(draft)) return draft;
  Rng rng = unseen_rng(stable_hash(name()), trial.number);
  return nearest_unseen(rng, space, draft, seen);
}

int64_t space_size(const SearchSpace& space) {
  int64_t n = 1;
  for (const auto& [name, d] : space) {
    const int64_t k = d.n_values();
    if (k < 0) return -1;
    n = n > std::numeric_limits<int64_t>::max() / std::max<int64_t>(k, 1) ? std::numeric_limits<int64_t>::max()
                                                                           : n * k;
  }
  return n;
}

std::vector<Params> unseen_configs(const SearchSpace& space, const SeenPredicate& seen) {
  std::vector<std::pair<std::string, const Distribution*>> dims;
  for (const auto& [name, d] : space) dims.emplace_back(name, &d);
  std::vector<int64_t> index(dims.size(), 0);
  Params p;
  for (const auto& [name, d] : dims) p[name] = d->internal_at(0);
  std::vector<Params> out;
  while (true) {  // mixed radix, last name fastest
    if (!seen(p)) out.push_back(p);
    size_t k = dims.size();
    while (k > 0) {
      --k;
      const Distribution& d = *dims[k].second;
      if (++index[k] < d.n_values()) {
        p[dims[k].first] = d.internal_at(index[k]);
        break;
      }
      index[k] = 0;
      p[dims[k].first] = d.internal_at(0);
      if (k == 0) return out;
    }
    if (dims.empty()) return out;
  }
}

size_t argmax_random_ties(const std::vector<double>& score, Rng& rng) {
  size_t best = 0;
  uint64_t ties = 0;
  for (size_t i = 0; i < score.size(); ++i) {
    if (score[i] > score[best]) {
      best = i;
      ties = 1;
    } else if (score[i] == score[best] && rng.below(++ties) == 0) {
      best = i;  // reservoir sampling among equal scores
    }
  }
  return best;
}

namespace {

Params random_config(Rng& rng, const SearchSpace& space) {
  Params p;
  for (const auto& [name, d] : space) p[name] = d.internal_at(static_cast<int64_t>(rng.below(static_cast<uint64_t>(d.n_values()))));
  return p;
}

/// One of `tries` uniform draws that is not seen; nullopt when all were.
std::optional<Params> random_unseen(Rng& rng, const SearchSpace& space, const SeenPredicate& seen, int tries) {
  for (int i = 0; i < tries; ++i) {
    Params p = random_config(rng, space);
    if (!seen(p)) return p;
  }
  return std::nullopt;
}

/// The unseen configuration with the largest `score`, ties by rng; nullopt when all are seen.
std::optional<Params> best_unseen_enumerated(Rng& rng, const SearchSpace& space, const SeenPredicate& seen,
                                             const std::function<double(const Params&)>& score) {
  const std::vector<Params> unseen = unseen_configs(space, seen);
  if (unseen.empty()) return std::nullopt;
  std::vector<double> scores;
  for (const auto& p : unseen) scores.push_back(score(p));
  return unseen[argmax_random_ties(scores, rng)];
}

}  // namespace

std::optional<Params> nearest_unseen(Rng& rng, const SearchSpace& space, const Params& draft,
                                     const SeenPredicate& seen) {
  // Neighbours (one parameter changed), in random order.
  std::vector<Params> neighbours;
  for (const auto& [name, d] : space)
    for (int64_t i = 0; i < d.n_values(); ++i) {
      const double v = d.internal_at(i);
      if (v == draft.at(name)) continue;
      Params p = draft;
      p[name] = v;
      neighbours.push_back(std::move(p));
    }
  for (size_t i = neighbours.size(); i > 1; --i) std::swap(neighbours[i - 1], neighbours[rng.below(i)]);
  for (const auto& p : neighbours)
    if (!seen(p)) return p;
  const int64_t n = space_size(space);
  if (n <= kEnumerableSpace)
    return best_unseen_enumerated(rng, space, seen, [&](const Params& p) {
      double same = 0;
      for (const auto& [name, v] : p) same += v == draft.at(name);
      return same;
    });
  return random_unseen(rng, space, seen, 10000);
}

std::optional<Params> uniform_unseen(Rng& rng, const SearchSpace& space, const SeenPredicate& seen) {
  if (auto p = random_unseen(rng, space, seen, 64)) return p;
  if (space_size(space) > kEnumerableSpace) return random_unseen(rng, space, seen, 10000);
  return best_unseen_enumerated(rng, space, seen, [](const Params&) { return 0.0; });
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
