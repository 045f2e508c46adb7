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
/// below = best non-domination ranks, the last rank cut by greedy hypervolume contribution.
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

 private:
  struct Split {
    bool startup = true;
    std::vector<int64_t> below, above;  // trial numbers, ascending; above includes running
  };
  /// The split for `trial`, computed on first use. Caller holds mutex_.
  const Split& split_locked(Study& study, const FrozenTrial& trial);
  /// Observations of `names` over `numbers` (trials that have all of them), caller holds mutex_.
  std::vector<std::vector<double>> observations_locked(const std::vector<int64_t>& numbers,
                                                       const std::vector<std::string>& names,
                                                       const std::vector<Distribution>& dists);

  uint64_t seed_;
  TpeSamplerOptions options_;
  ParzenEstimatorParams parzen_;
  std::mutex mutex_;
  int64_t study_id_ = -1;
  TrialHistory history_;
  std::map<int64_t, Split> splits_;  // by trial number, dropped when the trial finishes
};

/// Indices of the `k` best points (minimization, row-major n x m losses) chosen like TPE's
/// multi-objective split: whole non-domination ranks first, the last rank cut greedily by
/// hypervolume contribution.
std::vector<int64_t> select_best_multi_objective(const std::vector<double>& losses, int64_t m,
                                                 int64_t k);

}  // namespace chop::search
