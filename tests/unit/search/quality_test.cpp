// Search quality: on a fixed lookup-table objective, TPE and evolution beat random search.
#include "chop/search/study.h"

#include <gtest/gtest.h>

#include <cmath>

namespace chop::search {
namespace {

/// A deterministic, mildly rugged function of three 8-way categorical choices (512 points).
double table_value(int64_t a, int64_t b, int64_t c) {
  return std::pow(a - 5.0, 2) + 0.7 * std::pow(b - 2.0, 2) + 1.3 * std::pow(c - 6.0, 2) +
         0.5 * std::sin(1.7 * static_cast<double>(a * b + c));
}

double global_min() {
  double best = INFINITY;
  for (int64_t a = 0; a < 8; ++a)
    for (int64_t b = 0; b < 8; ++b)
      for (int64_t c = 0; c < 8; ++c) best = std::min(best, table_value(a, b, c));
  return best;
}

double mean_regret(const std::string& sampler, int64_t n_trials, int n_seeds) {
  const std::vector<ParamValue> choices = {int64_t{0}, int64_t{1}, int64_t{2}, int64_t{3},
                                           int64_t{4}, int64_t{5}, int64_t{6}, int64_t{7}};
  const double best_possible = global_min();
  double total = 0.0;
  for (int seed = 0; seed < n_seeds; ++seed) {
    StudyOptions o;
    o.sampler = make_sampler(sampler, static_cast<uint64_t>(seed) + 100);
    Study study(o);
    study.optimize([&](Trial& t) {
      const auto a = std::get<int64_t>(t.suggest_categorical("a", choices));
      const auto b = std::get<int64_t>(t.suggest_categorical("b", choices));
      const auto c = std::get<int64_t>(t.suggest_categorical("c", choices));
      return std::vector<double>{table_value(a, b, c)};
    }, n_trials);
    total += study.best_trial()->values[0] - best_possible;
  }
  return total / n_seeds;
}

TEST(SearchQuality, TpeAndEvolutionBeatRandomAfter20And50Trials) {
  for (const int64_t n_trials : {20, 50}) {
    const double random = mean_regret("random", n_trials, 50);
    const double tpe = mean_regret("tpe", n_trials, 50);
    const double evolution = mean_regret("evolution", n_trials, 50);
    std::printf("mean regret after %ld trials over 50 seeds: random %.3f, tpe %.3f, evolution %.3f\n",
                static_cast<long>(n_trials), random, tpe, evolution);
    EXPECT_LT(tpe, random) << n_trials << " trials";
    EXPECT_LT(evolution, random) << n_trials << " trials";
  }
}

}  // namespace
}  // namespace chop::search
