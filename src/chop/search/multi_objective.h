// Multi-objective utilities: domination, non-dominated sorting, Pareto front, hypervolume, crowding.
#pragma once

#include "chop/search/frozen_trial.h"

#include <vector>

namespace chop::search {

/// Losses are row-major n x m arrays of values turned into minimization.

/// `values` with maximized objectives negated.
std::vector<double> to_losses(const std::vector<double>& values,
                              const std::vector<StudyDirection>& directions);
/// True when a is no worse than b everywhere and better somewhere (minimization).
bool dominates(const double* a, const double* b, int64_t m);
/// Non-domination rank of each of the n points (0 = the Pareto front). O(n log n) for m = 2,
/// O(m n^2) otherwise. Identical points share a rank.
std::vector<int64_t> non_domination_ranks(const std::vector<double>& losses, int64_t m);
/// Exact hypervolume dominated by the points and bounded by `reference` (minimization); points
/// that do not strictly dominate the reference add nothing. 2-D by a sweep, n-D by slicing.
double hypervolume(const std::vector<double>& losses, int64_t m,
                   const std::vector<double>& reference);
/// NSGA-II crowding distance of each point within its set (+inf at the extremes).
std::vector<double> crowding_distance(const std::vector<double>& losses, int64_t m);
/// The feasible COMPLETE trials no other feasible COMPLETE trial dominates, in number order
/// (for one objective: the trial(s) with the best value).
std::vector<FrozenTrialPtr> pareto_front(const std::vector<FrozenTrialPtr>& trials,
                                         const std::vector<StudyDirection>& directions);

}  // namespace chop::search
