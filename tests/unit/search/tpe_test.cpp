// Unit tests of TPE's pieces with hand-computed values: gamma, weights, bandwidths, estimators.
#include "chop/search/normal_math.h"
#include "chop/search/samplers/parzen_estimator.h"
#include "chop/search/samplers/tpe_sampler.h"
#include "chop/search/study.h"

#include <gtest/gtest.h>

#include <cmath>

namespace chop::search {
namespace {

TEST(Tpe, Gamma) {
  EXPECT_EQ(tpe_gamma(0), 0);
  EXPECT_EQ(tpe_gamma(1), 1);
  EXPECT_EQ(tpe_gamma(10), 1);
  EXPECT_EQ(tpe_gamma(11), 2);
  EXPECT_EQ(tpe_gamma(249), 25);
  EXPECT_EQ(tpe_gamma(1000), 25);
}

TEST(Tpe, Weights) {
  EXPECT_TRUE(tpe_weights(0).empty());
  EXPECT_EQ(tpe_weights(24), std::vector<double>(24, 1.0));
  const auto w = tpe_weights(30);  // linspace(1/30, 1, 5) then 25 ones
  ASSERT_EQ(w.size(), 30u);
  EXPECT_DOUBLE_EQ(w[0], 1.0 / 30);
  EXPECT_DOUBLE_EQ(w[1], 1.0 / 30 + 0.25 * (1 - 1.0 / 30));
  EXPECT_DOUBLE_EQ(w[4], 1.0);
  for (size_t i = 5; i < 30; ++i) EXPECT_EQ(w[i], 1.0);
  EXPECT_DOUBLE_EQ(tpe_weights(26)[0], 1.0 / 26);  // a one-point ramp is its start
}

TEST(Tpe, Sigmas) {
  // Sorted with the prior mean 0.5 and padded: 0 | .1 .2 .4 (.5) .9 | 1.
  ParzenEstimatorParams p;
  p.consider_magic_clip = false;
  auto s = tpe_sigmas({0.4, 0.1, 0.9, 0.2}, 0.0, 1.0, p);
  EXPECT_NEAR(s[0], 0.2, 1e-15);  // max(.4-.2, .5-.4)
  EXPECT_NEAR(s[1], 0.1, 1e-15);  // edge kernel: inner gap only
  EXPECT_NEAR(s[2], 0.4, 1e-15);  // edge kernel: .9-.5
  EXPECT_NEAR(s[3], 0.2, 1e-15);  // max(.1, .2)
  p.consider_magic_clip = true;    // floor (high-low)/min(100, 5) = 0.2
  s = tpe_sigmas({0.4, 0.1, 0.9, 0.2}, 0.0, 1.0, p);
  EXPECT_NEAR(s[1], 0.2, 1e-15);
  EXPECT_NEAR(s[2], 0.4, 1e-15);
}

TEST(Tpe, CategoricalEstimator) {
  // Observations 0, 0, 2 of 3 choices: rows (1/4 + [c == obs]) / 1.75, prior row 1/3, weights 1/4.
  const auto d = Distribution::categorical({int64_t{0}, int64_t{1}, int64_t{2}});
  const ParzenEstimator e({d}, {{0.0, 0.0, 2.0}}, {1.0, 1.0, 1.0}, {});
  const double obs_hit = 1.25 / 1.75, obs_miss = 0.25 / 1.75, prior = 1.0 / 3;
  const double p0 = 0.25 * (2 * obs_hit + obs_miss + prior);
  const double p1 = 0.25 * (3 * obs_miss + prior);
  const auto lp = e.log_pdf({{0.0, 1.0, 2.0}});
  EXPECT_NEAR(lp[0], std::log(p0), 1e-12);
  EXPECT_NEAR(lp[1], std::log(p1), 1e-12);
  EXPECT_NEAR(std::exp(lp[0]) + std::exp(lp[1]) + std::exp(lp[2]), 1.0, 1e-12);
}

TEST(Tpe, NumericalEstimatorIsANormalizedMixture) {
  const auto d = Distribution::float_range(0.0, 10.0);
  const ParzenEstimator e({d}, {{1.0, 2.0, 8.0}}, {1.0, 1.0, 1.0}, {});
  EXPECT_EQ(e.n_kernels(), 4);
  // Integrate the density numerically over the domain.
  std::vector<double> xs;
  for (int i = 0; i < 20000; ++i) xs.push_back((i + 0.5) * 10.0 / 20000);
  const auto lp = e.log_pdf({xs});
  double integral = 0.0;
  for (double v : lp) integral += std::exp(v) * 10.0 / 20000;
  EXPECT_NEAR(integral, 1.0, 1e-6);

  // Int bins: masses sum to one.
  const auto di = Distribution::int_range(1, 8);
  const ParzenEstimator ei({di}, {{2.0, 2.0, 7.0}}, {1.0, 1.0, 1.0}, {});
  double total = 0.0;
  for (const double p : ei.log_pdf({{1, 2, 3, 4, 5, 6, 7, 8}})) total += std::exp(p);
  EXPECT_NEAR(total, 1.0, 1e-9);

  // Log space: samples stay in bounds.
  const auto dl = Distribution::float_range(1e-4, 1.0, true);
  const ParzenEstimator el({dl}, {{1e-3, 2e-3}}, {1.0, 1.0}, {});
  Rng rng(3);
  const auto samples = el.sample(rng, 200);
  for (double v : samples[0]) {
    EXPECT_GE(v, 1e-4);
    EXPECT_LE(v, 1.0);
  }
}

TEST(Tpe, FastLogPdfPathsMatchTheKernelDefinition) {
  // Many kernels (windowed continuous path, merged step path) against the plain mixture formula.
  Rng rng(11);
  for (const auto& d : {Distribution::float_range(-2.0, 3.0), Distribution::float_range(1e-4, 1.0, true),
                        Distribution::int_range(1, 64), Distribution::int_range(1, 64, true)}) {
    std::vector<double> obs;
    for (int i = 0; i < 300; ++i) {
      double v = i % 3 == 0 ? sample_uniform(rng, d) : d.snap(d.low + (d.high - d.low) * 0.3 * rng.uniform());
      obs.push_back(v);
    }
    const ParzenEstimator e({d}, {obs}, tpe_weights(300), {});
    const auto xs = e.sample(rng, 40);
    const auto fast = e.log_pdf(xs);
    for (size_t i = 0; i < xs[0].size(); ++i) {
      std::vector<double> terms;
      for (int64_t k = 0; k < e.n_kernels(); ++k)
        terms.push_back(std::log(e.weights()[static_cast<size_t>(k)]) + e.dimension(0).log_kernel_pdf(k, xs[0][i]));
      EXPECT_NEAR(fast[i], log_sum_exp(terms.data(), static_cast<int64_t>(terms.size())), 1e-9) << d.to_string();
    }
  }
}

TEST(Tpe, MultiObjectiveSelectionTakesWholeRanksThenHypervolume) {
  // Rank 0: (0,4) (1,1) (4,0); rank 1: (2,5) (5,5). Best 2 of rank 0 by greedy hypervolume:
  // (1,1) has the largest box, then an extreme point.
  const std::vector<double> losses = {0, 4, 1, 1, 4, 0, 2, 5, 5, 5};
  auto best = select_best_multi_objective(losses, 2, 2);
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0], 1);
  best = select_best_multi_objective(losses, 2, 4);
  std::sort(best.begin(), best.end());
  EXPECT_EQ(best, (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(Tpe, MultiObjectiveBelowWeightsAreHypervolumeContributions) {
  // Optuna 3.1: (1,3), (2,2), (3,1); reference max(1.1, 0.9) x worst = (3.3, 3.3). Total 2.29;
  // without (1,3): 1.99, without (2,2): 1.29, without (3,1): 1.99; so contributions 0.3, 1.0, 0.3,
  // divided by the largest.
  const auto w = hypervolume_contribution_weights({1, 3, 2, 2, 3, 1}, 2);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_NEAR(w[0], 0.3, 1e-9);
  EXPECT_NEAR(w[1], 1.0, 1e-12);
  EXPECT_NEAR(w[2], 0.3, 1e-9);
  // A repeated point adds no exclusive volume: both copies weigh EPS / max.
  const auto dup = hypervolume_contribution_weights({1, 3, 1, 3, 3, 1}, 2);
  EXPECT_LT(dup[0], 1e-9);
  EXPECT_LT(dup[1], 1e-9);
  EXPECT_DOUBLE_EQ(dup[2], 1.0);
  EXPECT_EQ(hypervolume_contribution_weights({0.5, 0.5}, 2), std::vector<double>{1.0});
  // Negative worst values: the reference is 0.9 x worst (further from the points).
  // Two points, ref (-1.8, -0.9); total 2.2 x 0.1 + 0.2 x 1 = 0.42; alone 0.22 each: contributions 0.2 and 0.2.
  const auto neg = hypervolume_contribution_weights({-4, -1, -2, -2}, 2);
  EXPECT_NEAR(neg[0], 1.0, 1e-9);
  EXPECT_NEAR(neg[1], 1.0, 1e-9);
  const auto neg3 = hypervolume_contribution_weights({-4, -1, -3, -1.5, -2, -2}, 2);
  // ref (-1.8, -0.9). Sweep: (-4,-1) 2.2 x 0.1 = 0.22, (-3,-1.5) 1.2 x 0.5 = 0.6, (-2,-2) 0.2 x 0.5
  // = 0.1: total 0.92. Without (-3,-1.5): 0.22 + 0.2 x 1 = 0.42, so 0.5; without (-4,-1): 1.2 x 0.6
  // + 0.1 = 0.82, so 0.1; without (-2,-2): 0.82, so 0.1.
  EXPECT_NEAR(neg3[0], 0.2, 1e-9);
  EXPECT_NEAR(neg3[1], 1.0, 1e-12);
  EXPECT_NEAR(neg3[2], 0.2, 1e-9);
}

TEST(Tpe, FindsTheMinimumOfAQuadratic) {
  StudyOptions o;
  o.sampler = std::make_shared<TpeSampler>(7);
  Study study(o);
  study.optimize([](Trial& t) {
    const double x = t.suggest_float("x", -10, 10);
    const auto n = t.suggest_int("n", 0, 20);
    return std::vector<double>{(x - 3) * (x - 3) + std::abs(static_cast<double>(n) - 12)};
  }, 80);
  EXPECT_LT(study.best_trial()->values[0], 1.0);
}

TEST(Tpe, MultivariateRuns) {
  StudyOptions o;
  TpeSamplerOptions to;
  to.multivariate = true;
  o.sampler = std::make_shared<TpeSampler>(1, to);
  Study study(o);
  study.optimize([](Trial& t) {
    const double x = t.suggest_float("x", -5, 5);
    const double y = t.suggest_float("y", 1e-3, 1, true);
    const auto c = t.suggest_categorical("c", {std::string("a"), std::string("b")});
    const auto k = t.suggest_int("k", 0, 8, false, 2);
    return std::vector<double>{x * x + std::log10(y) * std::log10(y) + (std::get<std::string>(c) == "a") +
                               static_cast<double>(k)};
  }, 60);
  EXPECT_LT(study.best_trial()->values[0], 2.0);
}

}  // namespace
}  // namespace chop::search
