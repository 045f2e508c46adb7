// Sampler: the interface of every sampler, the sampler registry, and a cached view of trial history.
#pragma once

#include "chop/search/frozen_trial.h"
#include "chop/search/rng.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chop::search {

class Study;
using SearchSpace = std::map<std::string, Distribution>;
/// A configuration: internal value by parameter name.
using Params = std::map<std::string, double>;
/// True for a configuration already evaluated (or being evaluated).
using SeenPredicate = std::function<bool(const Params&)>;

/// A point of the space that a new trial must hold alone (a grid point): the study creates the
/// trial only if no trial holds `key` yet (Storage::create_trial_claiming), with `system_attrs`.
struct TrialClaim {
  bool exhausted = false;  // no point is left: the study stops
  std::string key;
  std::map<std::string, nlohmann::json> system_attrs;
};

/// A sampler proposes parameter values (internal representation). It is stateless between trials
/// in the sense of Optuna: it reads finished trials through the study each time (it may cache
/// what it read, since finished trials never change). All methods are thread-safe.
/// Randomness is drawn from streams derived from (seed, trial number, parameter name), so a
/// sequential run with the same seed gives identical trials.
class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::string name() const = 0;

  /// The whole search space, when the caller knows it before the first trial (chop search does):
  /// a sampler that needs it up front (the grid, so parallel trials and workers never wait for a
  /// first trial to reveal it) takes it; the others learn it from trials and ignore this.
  virtual void set_search_space(const SearchSpace& /*space*/) {}
  /// Called under the study's ask lock before a new trial is created (not for a WAITING trial
  /// that is resumed): nullopt for samplers without exclusive points; otherwise the claim the new
  /// trial must make. When another worker made that claim first, the study asks again.
  virtual std::optional<TrialClaim> next_claim(Study& /*study*/) { return std::nullopt; }
  /// Called once per new trial, before any parameter is sampled (under the study's ask lock).
  virtual void before_trial(Study& /*study*/, const FrozenTrial& /*trial*/) {}
  /// Parameters sampled jointly for this trial; empty for independent samplers.
  virtual SearchSpace infer_relative_search_space(Study& /*study*/, const FrozenTrial& /*trial*/) {
    return {};
  }
  /// Joint sample over `space` (internal values); may omit names, which are then sampled
  /// independently.
  virtual std::map<std::string, double> sample_relative(Study& /*study*/,
                                                        const FrozenTrial& /*trial*/,
                                                        const SearchSpace& /*space*/) {
    return {};
  }
  /// One parameter's internal value, in `distribution`.
  virtual double sample_independent(Study& study, const FrozenTrial& trial,
                                    const std::string& name, const Distribution& distribution) = 0;
  /// Called once per trial after it finished.
  virtual void after_trial(Study& /*study*/, const FrozenTrial& /*trial*/) {}
  /// Distinct proposals (the study's dedup in a fully discrete, known `space`): called under the
  /// study's ask lock with this sampler's proposal `draft` for `trial` (every parameter of
  /// `space`). Returns the configuration to evaluate, one that is not `seen`, or nullopt when
  /// none is left. Default: `draft` when unseen, else the unseen configuration nearest to it
  /// (nearest_unseen), which keeps a mutation-based sampler's intent; random and TPE override it.
  virtual std::optional<Params> propose_unseen(Study& study, const FrozenTrial& trial,
                                               const SearchSpace& space, const Params& draft,
                                               const SeenPredicate& seen);
};

/// Number of configurations of `space` (saturating at INT64_MAX); -1 when a parameter is not
/// discrete (a float without a step).
int64_t space_size(const SearchSpace& space);
/// Spaces up to this many configurations are enumerated whole by the unseen-configuration
/// searches below; larger ones are searched by random draws.
constexpr int64_t kEnumerableSpace = int64_t{1} << 16;
/// Index of the largest score, ties broken uniformly by `rng`.
size_t argmax_random_ties(const std::vector<double>& score, Rng& rng);
/// Every configuration of a discrete `space` that is not `seen` (mixed radix, last name fastest).
std::vector<Params> unseen_configs(const SearchSpace& space, const SeenPredicate& seen);
/// The unseen configuration of `space` with the fewest parameters different from `draft`, ties
/// broken by `rng`; nullopt when every configuration is seen. Exact up to kEnumerableSpace
/// configurations (neighbours first, then the whole space); beyond, 10,000 random draws.
std::optional<Params> nearest_unseen(Rng& rng, const SearchSpace& space, const Params& draft,
                                     const SeenPredicate& seen);
/// A uniformly random unseen configuration of `space` (rejection, then enumeration); nullopt
/// when every configuration is seen.
std::optional<Params> uniform_unseen(Rng& rng, const SearchSpace& space, const SeenPredicate& seen);
/// The rng stream of a trial's unseen-configuration search.
inline Rng unseen_rng(uint64_t seed, int64_t trial_number) {
  return Rng(mix_seed(seed, static_cast<uint64_t>(trial_number), stable_hash("chop:unseen")));
}

/// Uniform random internal value in `d` (log-uniform for log, on the step grid for steps).
double sample_uniform(Rng& rng, const Distribution& d);

/// The rng stream of one (seed, trial, parameter) triple.
inline Rng param_rng(uint64_t seed, int64_t trial_number, const std::string& name) {
  return Rng(mix_seed(seed, static_cast<uint64_t>(trial_number), stable_hash(name)));
}

/// One registered sampler.
struct SamplerInfo {
  const char* name;
  const char* description;
  std::unique_ptr<Sampler> (*create)(uint64_t seed, const nlohmann::json& options);
};

/// Every sampler, listed once (samplers.def), in table order.
const std::vector<SamplerInfo>& sampler_registry();
/// Canonical names plus aliases ("bruteforce", "brute_force" for "grid").
std::vector<std::string> sampler_names();
/// The canonical name of `name` or an alias; ConfigError naming the known samplers otherwise.
std::string canonical_sampler_name(const std::string& name);
/// Builds sampler `name` (or alias) with `seed` and sampler-specific `options` (a JSON object;
/// unknown keys are rejected with the valid ones). ConfigError for an unknown name.
std::unique_ptr<Sampler> make_sampler(const std::string& name, uint64_t seed = 0,
                                      const nlohmann::json& options = nlohmann::json::object());

/// Append-only, columnar cache of one study's finished trials for samplers. A finished trial never
/// changes, so each is read once; columns of internal parameter values are contiguous arrays
/// indexed by trial number (NaN where the trial has no such parameter or is unfinished).
class TrialHistory {
 public:
  /// Catches up with `trials` (the study's trials, number order). Not thread-safe: the owning
  /// sampler locks.
  void update(const std::vector<FrozenTrialPtr>& trials);
  int64_t size() const { return static_cast<int64_t>(trials_.size()); }
  /// Snapshot of trial `number` (finished trials are the cached ones, others the latest seen).
  const FrozenTrial& trial(int64_t number) const { return *trials_[static_cast<size_t>(number)]; }
  TrialState state(int64_t number) const { return states_[static_cast<size_t>(number)]; }
  /// Internal values of parameter `name` by trial number (finished trials only).
  const std::vector<double>& column(const std::string& name);

 private:
  std::vector<FrozenTrialPtr> trials_;
  std::vector<TrialState> states_;
  std::vector<char> cached_;  // finished and already in every column
  std::map<std::string, std::vector<double>> columns_;
};

}  // namespace chop::search
