// Numbers behind the report's plots: best so far, Pareto front, parameter importance.
#pragma once

#include <string>
#include <vector>

#include "chop/results/study_results.h"

namespace chop::report {

using namespace chop::results;  // the report shows the search's own result types

/// Complete trials in number order (the x axis of every per-trial plot).
std::vector<const TrialRecord*> complete_trials(const StudyResults& study);

/// For objective `k`: the best value among the first i+1 `trials` (each must have values[k]),
/// honouring the objective's direction.
std::vector<double> best_so_far(const std::vector<const TrialRecord*>& trials, size_t k, bool maximize);

/// True when a is at least as good as b in every objective and better in one.
bool dominates(const std::vector<double>& a, const std::vector<double>& b,
               const std::vector<Objective>& objectives);

/// Numbers of the feasible complete trials that no other feasible complete trial dominates, in
/// number order. With one objective: the trial(s) with the best value.
std::vector<int64_t> pareto_front(const StudyResults& study);

/// How much of an objective's variance a parameter explains, over complete trials that have
/// both. Deterministic, no fitting ("fANOVA-lite"):
/// - a categorical param, or a numeric one with at most 10 distinct values: the correlation ratio
///   eta^2 = sum_g n_g (mean_g - mean)^2 / sum_i (y_i - mean)^2, the groups g being its values;
/// - a numeric param with more distinct values: rho^2, rho being Spearman's rank correlation
///   (average ranks for ties).
/// Both lie in [0, 1]; 0 when the objective or the param does not vary (or < 2 trials).
struct Importance {
  std::string param;
  std::string objective;
  double value = 0;
  std::string method;  ///< "eta^2" or "spearman rho^2"
  int64_t n_trials = 0;
};

/// The importance of every param for every objective: params in param_keys() order within each
/// objective.
std::vector<Importance> param_importance(const StudyResults& study);

/// eta^2 of y grouped by `groups` (equal strings = one group); see Importance.
double correlation_ratio(const std::vector<std::string>& groups, const std::vector<double>& y);

/// Spearman's rank correlation of x and y (average ranks for ties); 0 when either is constant.
double spearman(const std::vector<double>& x, const std::vector<double>& y);

/// A param value as a group label: numbers as JSON prints them, strings unquoted.
std::string param_label(const nlohmann::json& v);

}  // namespace chop::report
