// TpeSampler: tree-structured Parzen estimator with Optuna's defaults, univariate or multivariate.
#pragma once

#include "chop/search/samplers/parzen_estimator.h"
#include "chop/search/samplers/sampler.h"

#include <mutex>

namespace chop::search {

/// Options of TpeSampler; defaults are Optuna's TPESampler defaults, except that running trials
/// always count as "above" (the constant-liar trick for parallel workers).
struct TpeSamplerOptions {
  int64_t n_startup_trials = 10;
  int64_t n_ei_candidates = 24;
  double prior_weight = 1.0;
  bool consider_magic_clip = true;
  bool consider_endpoints = false;
  bool multivariate = false;
  bool constant_liar = true;
};

/// TPE: splits finished trials into "below" (the best gamma(n)) and "above", fits l(x) and g(x),
/// draws n_ei_candidates from l and keeps the one maximizing log l - log g. Multi-objective:
/// below = best non-domination ranks, the last rank cut by greedy hypervolume contribution, each
/// below trial weighted by its hypervolume contribution; pruned trials are left out (as Optuna 3.1).
/// Infeasible trials rank after feasible ones. The split is computed once per trial.
class TpeSampler : public Sampler {
 public:
  explicit TpeSampler(uint64_t seed = 0, TpeSamplerOptions options = {});
  /// Registry factory; options: the TpeSamplerOptions fields by name.
  static std::unique_ptr<Sampler> create(uint64_t seed, const nlohmann::json& options);
  std::string name() const override { return "tpe"; }

  SearchSpace infer_relative_search_space(Study& study, const FrozenTrial& trial) override;
  std::map<std::string, double> sample_relative(Study& study, const FrozenTrial& trial,
                                                const SearchSpace& space) override;
  double sample_independent(Study& study, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override;
  void after_trial(Study& study, const FrozenTrial& trial) override;
  /// Distinct proposals in a space of up to kEnumerableSpace configurations: during the startup
  /// trials, a space-filling design (the unseen configuration farthest in Hamming distance from
  /// every other trial's, instead of random draws); then the unseen configuration maximizing the
  /// acquisition log l(x) - log g(x) exactly (the estimators of the proposal: per parameter, or
  /// joint when multivariate) instead of the best of n_ei_candidates draws. Larger spaces: the
  /// draft, or the nearest unseen configuration.
  std::optional<Params> propose_unseen(Study& study, const FrozenTrial& trial, const SearchSpace& space,
                                       const Params& draft, const SeenPredicate& seen) override;

 private:
  struct Split {
    bool startup = true;
    std::vector<int64_t> below, above;  // trial numbers, ascending; above includes running
    /// Multi-objective: one weight per below trial (hypervolume contribution); empty: tpe_weights.
    std::vector<double> below_weights;
    /// Weights of the below observations kept (indices into `below`).
    std::vector<double> weights_of(const std::vector<size_t>& kept) const;
  };
  /// The split for `trial`, computed on first use. Caller holds mutex_.
  const Split& split_locked(Study& study, const FrozenTrial& trial);
  /// Observations of `names` over `numbers` (trials that have all of them), caller holds mutex_.
  /// `kept` (optional) receives the indices into `numbers` of the trials kept.
  std::vector<std::vector<double>> observations_locked(const std::vector<int64_t>& numbers,
                                                       const std::vector<std::string>& names,
                                                       const std::vector<Distribution>& dists,
                                                       std::vector<size_t>* kept = nullptr);

  uint64_t seed_;
  TpeSamplerOptions options_;
  ParzenEstimatorParams parzen_;
  std::mutex mutex_;
  int64_t study_id_ = -1;
  TrialHistory history_;
  std::map<int64_t, Split> splits_;  // by trial number, dropped when the trial finishes
};

/// Weight added to every hypervolume contribution, and the weight of an infeasible below trial
/// (Optuna's EPS).
constexpr double kHvWeightEps = 1e-12;
/// Optuna 3.1's weights of multi-objective TPE's below trials (row-major n x m losses): each
/// point's exclusive hypervolume contribution plus EPS, divided by the largest, with the
/// reference point max(1.1 worst, 0.9 worst) per objective (EPS where the worst is 0).
std::vector<double> hypervolume_contribution_weights(const std::vector<double>& losses, int64_t m);

/// Indices of the `k` best points (minimization, row-major n x m losses) chosen like TPE's
/// multi-objective split: whole non-domination ranks first, the last rank cut greedily by
/// hypervolume contribution.
std::vector<int64_t> select_best_multi_objective(const std::vector<double>& losses, int64_t m,
                                                 int64_t k);

}  // namespace chop::search
