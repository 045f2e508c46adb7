// NsgaIISampler: the NSGA-II genetic algorithm (uniform, SBX or differential-evolution variation,
// mutation, crowding distance).
#include "chop/search/samplers/nsgaii_sampler.h"

#include "chop/search/multi_objective.h"
#include "chop/search/study.h"
#include "chop/support/option_reader.h"
#include "chop/support/strings.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace chop::search {

NsgaIISampler::NsgaIISampler(uint64_t seed, NsgaIISamplerOptions options)
    : seed_(seed), options_(options) {
  CHOP_CHECK(options_.population_size >= 2, ConfigError,
             "`population_size >= 2` must hold, but got {}", options_.population_size);
  CHOP_CHECK(options_.crossover_prob >= 0 && options_.crossover_prob <= 1, ConfigError,
             "`0 <= crossover_prob <= 1` must hold, but got {}", options_.crossover_prob);
  CHOP_CHECK(options_.swapping_prob >= 0 && options_.swapping_prob <= 1, ConfigError,
             "`0 <= swapping_prob <= 1` must hold, but got {}", options_.swapping_prob);
  CHOP_CHECK(options_.crossover == "sbx" || options_.crossover == "uniform" || options_.crossover == "de",
             ConfigError, "{}", unknown_name_message("crossover", options_.crossover, {"sbx", "uniform", "de"}));
  CHOP_CHECK(options_.de_f > 0 && options_.de_cr >= 0 && options_.de_cr <= 1, ConfigError,
             "`de_f > 0` and `0 <= de_cr <= 1` must hold, but got de_f={}, de_cr={}", options_.de_f,
             options_.de_cr);
  CHOP_CHECK(options_.de_bounds == "clip" || options_.de_bounds == "reflect", ConfigError, "{}",
             unknown_name_message("de_bounds", options_.de_bounds, {"clip", "reflect"}));
  CHOP_CHECK(options_.sbx_eta > 0 && options_.mutation_eta > 0, ConfigError,
             "`sbx_eta > 0` and `mutation_eta > 0` must hold, but got sbx_eta={}, mutation_eta={}",
             options_.sbx_eta, options_.mutation_eta);
  CHOP_CHECK(options_.mutation_prob <= 1, ConfigError,
             "`mutation_prob <= 1` must hold, but got {}", options_.mutation_prob);
}

std::unique_ptr<Sampler> NsgaIISampler::create(uint64_t seed, const nlohmann::json& options) {
  OptionReader r(options, "sampler 'nsgaii'");
  NsgaIISamplerOptions o;
  o.population_size = r.get("population_size", o.population_size);
  o.mutation_prob = r.get("mutation_prob", o.mutation_prob);
  o.crossover_prob = r.get("crossover_prob", o.crossover_prob);
  o.swapping_prob = r.get("swapping_prob", o.swapping_prob);
  o.crossover = r.get("crossover", o.crossover);
  o.sbx_eta = r.get("sbx_eta", o.sbx_eta);
  o.mutation_eta = r.get("mutation_eta", o.mutation_eta);
  o.de_f = r.get("de_f", o.de_f);
  o.de_cr = r.get("de_cr", o.de_cr);
  o.de_bounds = r.get("de_bounds", o.de_bounds);
  r.finish();
  return std::make_unique<NsgaIISampler>(seed, o);
}

std::vector<int64_t> nsga_select_elite(const std::vector<const FrozenTrial*>& trials,
                                       const std::vector<StudyDirection>& directions, int64_t k) {
  const auto m = static_cast<int64_t>(directions.size());
  std::vector<size_t> feasible, infeasible;
  std::vector<double> losses;
  for (size_t i = 0; i < trials.size(); ++i) {
    if (!trials[i]->feasible()) {
      infeasible.push_back(i);
      continue;
    }
    feasible.push_back(i);
    const auto l = to_losses(trials[i]->values, directions);
    losses.insert(losses.end(), l.begin(), l.end());
  }
  const auto ranks = non_domination_ranks(losses, m);
  std::vector<int64_t> out;
  int64_t max_rank = 0;
  for (auto r : ranks) max_rank = std::max(max_rank, r);
  for (int64_t r = 0; r <= max_rank && static_cast<int64_t>(out.size()) < k; ++r) {
    std::vector<size_t> front;
    std::vector<double> front_losses;
    for (size_t i = 0; i < feasible.size(); ++i)
      if (ranks[i] == r) {
        front.push_back(i);
        front_losses.insert(front_losses.end(), losses.begin() + static_cast<long>(i) * m,
                            losses.begin() + static_cast<long>(i + 1) * m);
      }
    std::vector<size_t> order(front.size());
    std::iota(order.begin(), order.end(), 0);
    if (static_cast<int64_t>(out.size() + front.size()) > k) {
      const auto crowd = crowding_distance(front_losses, m);
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return crowd[a] > crowd[b]; });
    }
    for (size_t o : order) {
      if (static_cast<int64_t>(out.size()) >= k) break;
      out.push_back(trials[feasible[front[o]]]->number);
    }
  }
  auto violation = [&](size_t i) {
    double v = 0.0;
    for (double c : trials[i]->constraints) v += std::max(c, 0.0);
    return v;
  };
  std::stable_sort(infeasible.begin(), infeasible.end(), [&](size_t a, size_t b) { return violation(a) < violation(b); });
  for (size_t i : infeasible) {
    if (static_cast<int64_t>(out.size()) >= k) break;
    out.push_back(trials[i]->number);
  }
  return out;
}

const std::vector<int64_t>& NsgaIISampler::parents_locked(Study& study, int64_t generation) {
  auto it = parents_.find(generation);
  if (it != parents_.end()) return it->second;
  if (generation == 0) return parents_[0];
  const auto& previous = parents_locked(study, generation - 1);
  std::vector<const FrozenTrial*> pool;
  for (int64_t p : previous) pool.push_back(&history_.trial(p));
  for (int64_t i = 0; i < history_.size(); ++i)
    if (generation_of_[static_cast<size_t>(i)] == generation - 1 && history_.state(i) == TrialState::Complete)
      pool.push_back(&history_.trial(i));
  return parents_[generation] = nsga_select_elite(pool, study.directions(), options_.population_size);
}

void NsgaIISampler::before_trial(Study& study, const FrozenTrial& trial) {
  int64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    history_.update(study.trials());
    generation_of_.resize(static_cast<size_t>(history_.size()), -1);
    int64_t current = 0;
    for (int64_t g : generation_of_) current = std::max(current, g);
    int64_t n_complete = 0;
    for (int64_t i = 0; i < history_.size(); ++i)
      n_complete += generation_of_[static_cast<size_t>(i)] == current && history_.state(i) == TrialState::Complete;
    generation = n_complete >= options_.population_size ? current + 1 : current;
    generation_of_[static_cast<size_t>(trial.number)] = generation;
    const auto& parents = parents_locked(study, generation);
    Plan plan;
    if (!parents.empty()) {
      Rng rng(mix_seed(seed_, static_cast<uint64_t>(trial.number), 0x45a2));
      const auto& dirs = study.directions();
      auto tournament = [&]() {
        const int64_t a = parents[rng.below(parents.size())];
        const int64_t b = parents[rng.below(parents.size())];
        const FrozenTrial& ta = history_.trial(a);
        const FrozenTrial& tb = history_.trial(b);
        if (ta.feasible() != tb.feasible()) return ta.feasible() ? a : b;
        const auto la = to_losses(ta.values, dirs), lb = to_losses(tb.values, dirs);
        if (dominates(la.data(), lb.data(), static_cast<int64_t>(dirs.size()))) return a;
        if (dominates(lb.data(), la.data(), static_cast<int64_t>(dirs.size()))) return b;
        return rng.uniform() < 0.5 ? a : b;
      };
      plan.parent_a = tournament();
      plan.parent_b = tournament();
      plan.crossover = rng.uniform() < options_.crossover_prob;
      if (options_.crossover == "de" && parents.size() >= 2) {
        const uint64_t n = parents.size();
        const uint64_t i2 = rng.below(n);
        uint64_t i3 = rng.below(n - 1);
        if (i3 >= i2) ++i3;
        plan.de_r2 = parents[i2];
        plan.de_r3 = parents[i3];
      }
    }
    plans_[trial.number] = plan;
  }
  study.storage().set_trial_system_attr(trial.trial_id, "nsga2:generation", generation);
}

namespace {

/// Bounds of a numerical domain in the space crossover works in (log for log domains).
std::pair<double, double> search_bounds(const Distribution& d) {
  return d.log ? std::make_pair(std::log(d.low), std::log(d.high)) : std::make_pair(d.low, d.high);
}

/// One child coordinate of Deb's simulated binary crossover of x1 and x2 within [lo, hi].
double sbx(Rng& rng, double x1, double x2, double lo, double hi, double eta) {
  if (std::abs(x1 - x2) < 1e-14 || hi <= lo) return x1;
  const double y1 = std::min(x1, x2), y2 = std::max(x1, x2);
  auto spread = [&](double beta) {
    const double alpha = 2.0 - std::pow(beta, -(eta + 1.0));
    const double u = rng.uniform();
    return u <= 1.0 / alpha ? std::pow(u * alpha, 1.0 / (eta + 1.0))
                            : std::pow(1.0 / (2.0 - u * alpha), 1.0 / (eta + 1.0));
  };
  const double c1 = 0.5 * ((y1 + y2) - spread(1.0 + 2.0 * (y1 - lo) / (y2 - y1)) * (y2 - y1));
  const double c2 = 0.5 * ((y1 + y2) + spread(1.0 + 2.0 * (hi - y2) / (y2 - y1)) * (y2 - y1));
  return std::clamp(rng.uniform() < 0.5 ? c1 : c2, lo, hi);
}

/// Differential-evolution mutant r1 + f (r2 - r3), brought back into [lo, hi] by clipping or by
/// reflecting about the crossed bound (then clipping, for overshoots wider than the domain).
double de_mutant(double r1, double r2, double r3, double lo, double hi, double f, bool reflect) {
  double v = r1 + f * (r2 - r3);
  if (reflect) {
    if (v < lo) v = 2.0 * lo - v;
    if (v > hi) v = 2.0 * hi - v;
  }
  return std::clamp(v, lo, hi);
}

/// Deb's polynomial mutation of x within [lo, hi].
double polynomial_mutation(Rng& rng, double x, double lo, double hi, double eta) {
  if (hi <= lo) return x;
  const double d1 = (x - lo) / (hi - lo), d2 = (hi - x) / (hi - lo);
  const double u = rng.uniform();
  const double power = 1.0 / (eta + 1.0);
  double dq;
  if (u < 0.5) {
    const double v = 2.0 * u + (1.0 - 2.0 * u) * std::pow(1.0 - d1, eta + 1.0);
    dq = std::pow(v, power) - 1.0;
  } else {
    const double v = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * std::pow(1.0 - d2, eta + 1.0);
    dq = 1.0 - std::pow(v, power);
  }
  return std::clamp(x + dq * (hi - lo), lo, hi);
}

}  // namespace

double NsgaIISampler::sample_independent(Study& /*study*/, const FrozenTrial& trial,
                                         const std::string& name, const Distribution& distribution) {
  Rng rng = param_rng(seed_, trial.number, name);
  double a = std::nan(""), b = std::nan(""), r2 = std::nan(""), r3 = std::nan("");
  bool crossover = false, same_parents = false;
  double n_params = 1.0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = plans_.find(trial.number);
    if (it == plans_.end() || it->second.parent_a < 0) return sample_uniform(rng, distribution);
    const Plan& plan = it->second;
    crossover = plan.crossover;
    same_parents = plan.parent_a == plan.parent_b;
    n_params = std::max<double>(1.0, static_cast<double>(history_.trial(plan.parent_a).params.size()));
    auto value_of = [&](int64_t number) {
      if (number < 0) return std::nan("");
      const FrozenTrial& parent = history_.trial(number);
      auto p = parent.params.find(name);
      return p != parent.params.end() && parent.distributions.at(name) == distribution ? p->second : std::nan("");
    };
    a = value_of(plan.parent_a);
    b = value_of(plan.parent_b);
    r2 = value_of(plan.de_r2);
    r3 = value_of(plan.de_r3);
  }
  const double mutation = options_.mutation_prob < 0 ? 1.0 / n_params : options_.mutation_prob;
  const bool de_mode = options_.crossover == "de" && distribution.is_numerical();
  const bool sbx_mode = options_.crossover == "sbx" && distribution.is_numerical();
  const bool polynomial = (sbx_mode || de_mode);  // polynomial mutation, else resampling
  double child = a;
  if (de_mode) {
    // DE/rand/1/bin: target a, base b; crossover_prob does not apply (de_cr is the crossover).
    if (!std::isnan(a) && !std::isnan(b) && !std::isnan(r2) && !std::isnan(r3) && rng.uniform() < options_.de_cr) {
      const auto [lo, hi] = search_bounds(distribution);
      auto t = [&](double x) { return distribution.log ? std::log(x) : x; };
      const double v = de_mutant(t(b), t(r2), t(r3), lo, hi, options_.de_f, options_.de_bounds == "reflect");
      child = distribution.snap(distribution.log ? std::exp(v) : v);
    }
  } else if (crossover && !same_parents && !std::isnan(b)) {  // one parent twice: nothing to cross
    if (sbx_mode && !std::isnan(a)) {
      if (rng.uniform() < options_.swapping_prob) {
        const auto [lo, hi] = search_bounds(distribution);
        const double ta = distribution.log ? std::log(a) : a, tb = distribution.log ? std::log(b) : b;
        const double t = sbx(rng, ta, tb, lo, hi, options_.sbx_eta);
        child = distribution.snap(distribution.log ? std::exp(t) : t);
      }
    } else if (rng.uniform() < options_.swapping_prob) {
      child = b;
    }
  }
  if (std::isnan(child)) return sample_uniform(rng, distribution);
  if (rng.uniform() >= mutation) return child;
  if (!polynomial) return sample_uniform(rng, distribution);
  const auto [lo, hi] = search_bounds(distribution);
  const double t = polynomial_mutation(rng, distribution.log ? std::log(child) : child, lo, hi,
                                       options_.mutation_eta);
  return distribution.snap(distribution.log ? std::exp(t) : t);
}

void NsgaIISampler::after_trial(Study& /*study*/, const FrozenTrial& trial) {
  std::lock_guard<std::mutex> lock(mutex_);
  plans_.erase(trial.number);
}

}  // namespace chop::search
