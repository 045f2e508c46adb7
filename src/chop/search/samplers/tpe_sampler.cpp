// TpeSampler: tree-structured Parzen estimator with Optuna's defaults, univariate or multivariate.
#include "chop/search/samplers/tpe_sampler.h"

#include "chop/search/multi_objective.h"
#include "chop/search/study.h"
#include "chop/support/option_reader.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace chop::search {

TpeSampler::TpeSampler(uint64_t seed, TpeSamplerOptions options) : seed_(seed), options_(options) {
  CHOP_CHECK(options_.n_startup_trials >= 0, ConfigError,
             "`n_startup_trials >= 0` must hold, but got {}", options_.n_startup_trials);
  CHOP_CHECK(options_.n_ei_candidates >= 1, ConfigError,
             "`n_ei_candidates >= 1` must hold, but got {}", options_.n_ei_candidates);
  CHOP_CHECK(options_.prior_weight > 0, ConfigError, "`prior_weight > 0` must hold, but got {}",
             options_.prior_weight);
  parzen_.prior_weight = options_.prior_weight;
  parzen_.consider_magic_clip = options_.consider_magic_clip;
  parzen_.consider_endpoints = options_.consider_endpoints;
  parzen_.multivariate = options_.multivariate;
}

std::unique_ptr<Sampler> TpeSampler::create(uint64_t seed, const nlohmann::json& options) {
  OptionReader r(options, "sampler 'tpe'");
  TpeSamplerOptions o;
  o.n_startup_trials = r.get("n_startup_trials", o.n_startup_trials);
  o.n_ei_candidates = r.get("n_ei_candidates", o.n_ei_candidates);
  o.prior_weight = r.get("prior_weight", o.prior_weight);
  o.consider_magic_clip = r.get("consider_magic_clip", o.consider_magic_clip);
  o.consider_endpoints = r.get("consider_endpoints", o.consider_endpoints);
  o.multivariate = r.get("multivariate", o.multivariate);
  o.constant_liar = r.get("constant_liar", o.constant_liar);
  r.finish();
  return std::make_unique<TpeSampler>(seed, o);
}

namespace {

/// Optuna 3.1's reference point for the points `rows` of row-major losses: max(1.1 worst,
/// 0.9 worst) per objective, EPS where the worst is 0.
std::vector<double> reference_beyond_worst(const std::vector<double>& losses, int64_t m,
                                           const std::vector<int64_t>& rows) {
  std::vector<double> ref(static_cast<size_t>(m), -std::numeric_limits<double>::infinity());
  for (int64_t p : rows)
    for (int64_t d = 0; d < m; ++d) ref[d] = std::max(ref[d], losses[p * m + d]);
  for (auto& r : ref) r = r == 0 ? kHvWeightEps : std::max(1.1 * r, 0.9 * r);
  return ref;
}

/// Greedy hypervolume subset selection in 2-D: adds `need` points of `rank` (indices into losses)
/// one at a time, each with the largest exclusive area. The selected staircase is kept sorted by
/// x, so a candidate's gain (its box minus the part the staircase covers) is one O(k) sweep.
void greedy_hssp_2d(const std::vector<double>& losses, const std::vector<int64_t>& rank,
                    const std::vector<double>& ref, size_t need, std::vector<char>& used,
                    std::vector<int64_t>& chosen) {
  const double rx = ref[0], ry = ref[1];
  std::vector<std::pair<double, double>> selected;  // sorted by x
  for (size_t s = 0; s < need; ++s) {
    double best_gain = -1.0;
    size_t best = 0;
    for (size_t c = 0; c < rank.size(); ++c) {
      if (used[c]) continue;
      const double px = losses[2 * rank[c]], py = losses[2 * rank[c] + 1];
      double covered = 0.0, cur_y = ry;
      for (const auto& [sx, sy] : selected) {
        const double x = std::max(sx, px), y = std::max(sy, py);
        if (x >= rx || y >= cur_y) continue;
        covered += (rx - x) * (cur_y - y);
        cur_y = y;
      }
      const double gain = std::max(0.0, rx - px) * std::max(0.0, ry - py) - covered;
      if (gain > best_gain) {
        best_gain = gain;
        best = c;
      }
    }
    used[best] = 1;
    const std::pair<double, double> p{losses[2 * rank[best]], losses[2 * rank[best] + 1]};
    selected.insert(std::upper_bound(selected.begin(), selected.end(), p), p);
    chosen.push_back(rank[best]);
  }
}

}  // namespace

std::vector<int64_t> select_best_multi_objective(const std::vector<double>& losses, int64_t m,
                                                 int64_t k) {
  const int64_t n = static_cast<int64_t>(losses.size()) / m;
  const auto ranks = non_domination_ranks(losses, m);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ranks[a] < ranks[b]; });
  std::vector<int64_t> chosen;
  size_t i = 0;
  while (i < order.size() && static_cast<int64_t>(chosen.size()) < k) {
    size_t j = i;
    while (j < order.size() && ranks[order[j]] == ranks[order[i]]) ++j;
    const auto need = static_cast<size_t>(k) - chosen.size();
    if (j - i <= need) {
      chosen.insert(chosen.end(), order.begin() + static_cast<long>(i), order.begin() + static_cast<long>(j));
      i = j;
      continue;
    }
    // Partial rank: greedy hypervolume subset selection, reference just beyond the rank's worst.
    std::vector<int64_t> rank(order.begin() + static_cast<long>(i), order.begin() + static_cast<long>(j));
    const std::vector<double> ref = reference_beyond_worst(losses, m, rank);
    std::vector<char> used(rank.size(), 0);
    if (m == 2) {
      greedy_hssp_2d(losses, rank, ref, need, used, chosen);
      break;
    }
    std::vector<double> selected;
    double base = 0.0;
    for (size_t s = 0; s < need; ++s) {
      double best_gain = -1.0;
      size_t best = 0;
      for (size_t c = 0; c < rank.size(); ++c) {
        if (used[c]) continue;
        std::vector<double> trial_set = selected;
        trial_set.insert(trial_set.end(), losses.begin() + rank[c] * m, losses.begin() + (rank[c] + 1) * m);
        const double gain = hypervolume(trial_set, m, ref) - base;
        if (gain > best_gain) {
          best_gain = gain;
          best = c;
        }
      }
      used[best] = 1;
      selected.insert(selected.end(), losses.begin() + rank[best] * m, losses.begin() + (rank[best] + 1) * m);
      base += best_gain;
      chosen.push_back(rank[best]);
    }
    break;
  }
  return chosen;
}

std::vector<double> hypervolume_contribution_weights(const std::vector<double>& losses, int64_t m) {
  const auto n = static_cast<int64_t>(losses.size()) / m;
  if (n == 0) return {};
  if (n == 1) return {1.0};
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  const std::vector<double> ref = reference_beyond_worst(losses, m, all);
  const double total = hypervolume(losses, m, ref);
  std::vector<double> w(static_cast<size_t>(n));
  std::vector<double> others;
  for (int64_t i = 0; i < n; ++i) {
    others.assign(losses.begin(), losses.begin() + i * m);
    others.insert(others.end(), losses.begin() + (i + 1) * m, losses.end());
    w[static_cast<size_t>(i)] = total - hypervolume(others, m, ref) + kHvWeightEps;
  }
  const double top = *std::max_element(w.begin(), w.end());
  for (auto& x : w) x = std::clamp(x / top, 0.0, 1.0);
  return w;
}

std::vector<double> TpeSampler::Split::weights_of(const std::vector<size_t>& kept) const {
  if (below_weights.empty()) return tpe_weights(static_cast<int64_t>(kept.size()));
  std::vector<double> w;
  for (size_t k : kept) w.push_back(below_weights[k]);
  return w;
}

const TpeSampler::Split& TpeSampler::split_locked(Study& study, const FrozenTrial& trial) {
  auto found = splits_.find(trial.number);
  if (found != splits_.end()) return found->second;
  if (study_id_ != study.study_id()) {
    study_id_ = study.study_id();
    history_ = TrialHistory();
    splits_.clear();
  }
  history_.update(study.trials());
  Split split;
  std::vector<int64_t> complete, pruned, infeasible;
  for (int64_t i = 0; i < history_.size(); ++i) {
    const FrozenTrial& t = history_.trial(i);
    const TrialState s = history_.state(i);
    if (s != TrialState::Complete && s != TrialState::Pruned) continue;
    if (s == TrialState::Pruned && study.is_multi_objective()) continue;  // as Optuna 3.1
    if (!t.feasible()) infeasible.push_back(i);
    else if (s == TrialState::Complete) complete.push_back(i);
    else pruned.push_back(i);
  }
  const auto n = static_cast<int64_t>(complete.size() + pruned.size() + infeasible.size());
  split.startup = n < options_.n_startup_trials;
  if (split.startup) return splits_.emplace(trial.number, split).first->second;

  int64_t n_below = tpe_gamma(n);
  std::vector<int64_t> below;
  // Completed trials by loss (multi-objective: ranks, then hypervolume contribution).
  const auto& dirs = study.directions();
  const auto m = static_cast<int64_t>(dirs.size());
  if (m == 1) {
    const double sign = dirs[0] == StudyDirection::Maximize ? -1.0 : 1.0;
    std::vector<std::pair<double, int64_t>> ranked(complete.size());  // (loss, number): stable
    for (size_t i = 0; i < complete.size(); ++i)
      ranked[i] = {sign * history_.trial(complete[i]).values[0], complete[i]};
    const auto n_take = static_cast<size_t>(std::min<int64_t>(n_below, static_cast<int64_t>(ranked.size())));
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<long>(n_take), ranked.end());
    for (size_t i = 0; i < n_take; ++i) below.push_back(ranked[i].second);
  } else {
    std::vector<double> losses;
    for (int64_t c : complete) {
      const auto l = to_losses(history_.trial(c).values, dirs);
      losses.insert(losses.end(), l.begin(), l.end());
    }
    const auto best = select_best_multi_objective(losses, m, std::min<int64_t>(n_below, static_cast<int64_t>(complete.size())));
    for (int64_t b : best) below.push_back(complete[static_cast<size_t>(b)]);
  }
  n_below -= static_cast<int64_t>(below.size());
  // Pruned trials: further step first, then better last value; none reported last.
  const double psign = study.pruning_direction() == StudyDirection::Maximize ? -1.0 : 1.0;
  auto pruned_key = [&](int64_t i) {
    const auto& iv = history_.trial(i).intermediate_values;
    if (iv.empty()) return std::make_pair(1.0, 0.0);
    const double v = iv.rbegin()->second;
    return std::make_pair(-static_cast<double>(iv.rbegin()->first),
                          std::isnan(v) ? std::numeric_limits<double>::infinity() : psign * v);
  };
  std::stable_sort(pruned.begin(), pruned.end(), [&](int64_t a, int64_t b) { return pruned_key(a) < pruned_key(b); });
  for (size_t i = 0; i < pruned.size() && n_below > 0; ++i, --n_below) below.push_back(pruned[i]);
  // Infeasible trials: smaller total violation first.
  auto violation = [&](int64_t i) {
    double v = 0.0;
    for (double c : history_.trial(i).constraints) v += std::max(c, 0.0);
    return v;
  };
  std::stable_sort(infeasible.begin(), infeasible.end(), [&](int64_t a, int64_t b) { return violation(a) < violation(b); });
  for (size_t i = 0; i < infeasible.size() && n_below > 0; ++i, --n_below) below.push_back(infeasible[i]);
  // Everything else that was split (plus running trials) is above; both sides in number order.
  std::vector<char> is_below(static_cast<size_t>(history_.size()), 0);
  for (int64_t b : below) is_below[static_cast<size_t>(b)] = 1;
  std::sort(below.begin(), below.end());
  std::vector<int64_t> above;
  for (int64_t i = 0; i < history_.size(); ++i) {
    const TrialState st = history_.state(i);
    const bool split_state = st == TrialState::Complete ||
                             (st == TrialState::Pruned && !study.is_multi_objective());
    const bool liar = st == TrialState::Running && i != trial.number && options_.constant_liar;
    if ((split_state && !is_below[static_cast<size_t>(i)]) || liar) above.push_back(i);
  }
  if (m > 1) {
    // Optuna 3.1: below trials weigh by their hypervolume contribution among the feasible
    // below trials (infeasible ones get EPS), not by the age ramp of tpe_weights.
    std::vector<double> losses;
    std::vector<size_t> feasible;
    for (size_t b = 0; b < below.size(); ++b) {
      const FrozenTrial& t = history_.trial(below[b]);
      if (!t.feasible() || t.state != TrialState::Complete) continue;
      feasible.push_back(b);
      const auto l = to_losses(t.values, dirs);
      losses.insert(losses.end(), l.begin(), l.end());
    }
    split.below_weights.assign(below.size(), kHvWeightEps);
    const auto w = hypervolume_contribution_weights(losses, m);
    for (size_t f = 0; f < feasible.size(); ++f) split.below_weights[feasible[f]] = w[f];
  }
  split.below = std::move(below);
  split.above = std::move(above);
  return splits_.emplace(trial.number, std::move(split)).first->second;
}

std::vector<std::vector<double>> TpeSampler::observations_locked(
    const std::vector<int64_t>& numbers, const std::vector<std::string>& names,
    const std::vector<Distribution>& dists, std::vector<size_t>* kept) {
  std::vector<const std::vector<double>*> cols;
  for (const auto& name : names) cols.push_back(&history_.column(name));
  std::vector<std::vector<double>> obs(names.size());
  std::vector<double> row(names.size());
  for (size_t n = 0; n < numbers.size(); ++n) {
    const int64_t num = numbers[n];
    bool ok = true;
    const bool finished = is_finished(history_.state(num));
    for (size_t d = 0; d < names.size() && ok; ++d) {
      double v;
      if (finished) {
        v = (*cols[d])[static_cast<size_t>(num)];
      } else {  // running trial: read its latest snapshot
        const auto& params = history_.trial(num).params;
        auto it = params.find(names[d]);
        v = it == params.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
      }
      ok = !std::isnan(v) && dists[d].contains(v);
      row[d] = v;
    }
    if (!ok) continue;
    if (kept) kept->push_back(n);
    for (size_t d = 0; d < names.size(); ++d) obs[d].push_back(row[d]);
  }
  return obs;
}

namespace {

/// Index of the candidate maximizing log l - log g (first on ties).
size_t best_candidate(const std::vector<double>& log_l, const std::vector<double>& log_g) {
  size_t best = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < log_l.size(); ++i) {
    const double score = log_l[i] - log_g[i];
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  return best;
}

}  // namespace

double TpeSampler::sample_independent(Study& study, const FrozenTrial& trial,
                                      const std::string& name, const Distribution& distribution) {
  Rng rng = param_rng(seed_, trial.number, name);
  std::vector<std::vector<double>> below, above;
  std::vector<double> below_weights;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const Split& split = split_locked(study, trial);
    if (split.startup) return sample_uniform(rng, distribution);
    std::vector<size_t> kept;
    below = observations_locked(split.below, {name}, {distribution}, &kept);
    above = observations_locked(split.above, {name}, {distribution});
    below_weights = split.weights_of(kept);
  }
  ParzenEstimatorParams univariate = parzen_;
  univariate.multivariate = false;
  const ParzenEstimator l({distribution}, below, below_weights, univariate);
  const ParzenEstimator g({distribution}, above, tpe_weights(static_cast<int64_t>(above[0].size())), univariate);
  const auto candidates = l.sample(rng, options_.n_ei_candidates);
  const size_t best = best_candidate(l.log_pdf(candidates), g.log_pdf(candidates));
  return candidates[0][best];
}

SearchSpace TpeSampler::infer_relative_search_space(Study& study, const FrozenTrial& /*trial*/) {
  if (!options_.multivariate) return {};
  // Intersection of the distributions of all finished (COMPLETE / PRUNED) trials.
  std::optional<SearchSpace> space;
  for (const auto& t : study.trials(std::vector{TrialState::Complete, TrialState::Pruned})) {
    if (!space) {
      space = t->distributions;
      continue;
    }
    for (auto it = space->begin(); it != space->end();) {
      auto other = t->distributions.find(it->first);
      if (other == t->distributions.end() || other->second != it->second) it = space->erase(it);
      else ++it;
    }
  }
  SearchSpace out;
  if (!space) return out;
  for (const auto& [name, d] : *space)
    if (!d.single()) out.emplace(name, d);
  return out;
}

std::map<std::string, double> TpeSampler::sample_relative(Study& study, const FrozenTrial& trial,
                                                          const SearchSpace& space) {
  std::vector<std::string> names;
  std::vector<Distribution> dists;
  for (const auto& [name, d] : space) {
    names.push_back(name);
    dists.push_back(d);
  }
  std::vector<std::vector<double>> below, above;
  std::vector<double> below_weights;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const Split& split = split_locked(study, trial);
    if (split.startup) return {};
    std::vector<size_t> kept;
    below = observations_locked(split.below, names, dists, &kept);
    above = observations_locked(split.above, names, dists);
    below_weights = split.weights_of(kept);
  }
  Rng rng(mix_seed(seed_, static_cast<uint64_t>(trial.number), 0x7e1a71e));
  const ParzenEstimator l(dists, below, below_weights, parzen_);
  const ParzenEstimator g(dists, above, tpe_weights(static_cast<int64_t>(above[0].size())), parzen_);
  const auto candidates = l.sample(rng, options_.n_ei_candidates);
  const size_t best = best_candidate(l.log_pdf(candidates), g.log_pdf(candidates));
  std::map<std::string, double> out;
  for (size_t d = 0; d < names.size(); ++d) out[names[d]] = candidates[d][best];
  return out;
}

std::optional<Params> TpeSampler::propose_unseen(Study& study, const FrozenTrial& trial,
                                                 const SearchSpace& space, const Params& draft,
                                                 const SeenPredicate& seen) {
  Rng rng = unseen_rng(seed_, trial.number);
  if (space_size(space) > kEnumerableSpace) return nearest_unseen(rng, space, draft, seen);
  const std::vector<Params> unseen = unseen_configs(space, seen);
  if (unseen.empty()) return std::nullopt;
  std::vector<double> score(unseen.size(), 0.0);
  std::lock_guard<std::mutex> lock(mutex_);
  const Split& split = split_locked(study, trial);
  if (split.startup) {
    // Space-filling startup: the unseen configuration farthest (Hamming distance: parameters
    // that differ) from every other trial's.
    for (auto& s : score) s = static_cast<double>(space.size());
    for (int64_t t = 0; t < history_.size(); ++t) {
      if (t == trial.number || history_.state(t) == TrialState::Fail) continue;
      const auto& params = history_.trial(t).params;
      for (size_t i = 0; i < unseen.size(); ++i) {
        double diff = 0;
        for (const auto& [name, v] : unseen[i]) {
          auto it = params.find(name);
          diff += it == params.end() || it->second != v;
        }
        score[i] = std::min(score[i], diff);
      }
    }
    return unseen[argmax_random_ties(score, rng)];
  }
  // Exact maximization of the acquisition over the unseen configurations: per parameter
  // (univariate: the scores add up) or jointly (multivariate), with the proposal's estimators.
  std::vector<std::vector<std::string>> groups;
  for (const auto& [name, d] : space) {
    if (d.single()) continue;
    if (groups.empty() || !options_.multivariate) groups.emplace_back();
    groups.back().push_back(name);
  }
  for (const auto& names : groups) {
    std::vector<Distribution> dists;
    for (const auto& n : names) dists.push_back(space.at(n));
    std::vector<size_t> kept;
    const auto below = observations_locked(split.below, names, dists, &kept);
    const auto above = observations_locked(split.above, names, dists);
    ParzenEstimatorParams params = parzen_;
    params.multivariate = names.size() > 1;
    const ParzenEstimator l(dists, below, split.weights_of(kept), params);
    const ParzenEstimator g(dists, above, tpe_weights(static_cast<int64_t>(above[0].size())), params);
    std::vector<std::vector<double>> samples(names.size());
    for (size_t d = 0; d < names.size(); ++d)
      for (const auto& p : unseen) samples[d].push_back(p.at(names[d]));
    const auto log_l = l.log_pdf(samples), log_g = g.log_pdf(samples);
    for (size_t i = 0; i < unseen.size(); ++i) score[i] += log_l[i] - log_g[i];
  }
  return unseen[argmax_random_ties(score, rng)];
}

void TpeSampler::after_trial(Study& /*study*/, const FrozenTrial& trial) {
  std::lock_guard<std::mutex> lock(mutex_);
  splits_.erase(trial.number);
}

}  // namespace chop::search
