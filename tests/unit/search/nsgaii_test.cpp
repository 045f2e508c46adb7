// Tests of NsgaIISampler's differential-evolution variation ("crossover": "de"): option checks,
// the DE/rand/1 arithmetic with clipping and reflection, bounds and types on a mixed space,
// reproducibility, and the ZDT1 benchmark.
#include "chop/search/bench.h"
#include "chop/search/study.h"
#include "chop/support/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace chop::search {
namespace {

Study make_study(uint64_t seed, const nlohmann::json& options, int64_t n_objectives = 1) {
  StudyOptions o;
  o.directions.assign(static_cast<size_t>(n_objectives), StudyDirection::Minimize);
  o.sampler = make_sampler("nsgaii", seed, options);
  return Study(o);
}

TEST(NsgaIIDifferentialEvolution, OptionsAreChecked) {
  EXPECT_NO_THROW(make_sampler("nsgaii", 0, {{"crossover", "de"}, {"de_f", 0.5}, {"de_cr", 0.1}, {"de_bounds", "reflect"}}));
  EXPECT_THROW(make_sampler("nsgaii", 0, {{"crossover", "de"}, {"de_f", 0.0}}), ConfigError);
  EXPECT_THROW(make_sampler("nsgaii", 0, {{"crossover", "de"}, {"de_cr", 1.5}}), ConfigError);
  EXPECT_THROW(make_sampler("nsgaii", 0, {{"crossover", "de"}, {"de_bounds", "wrap"}}), ConfigError);
  EXPECT_THROW(make_sampler("nsgaii", 0, {{"crossover", "pso"}}), ConfigError);
  EXPECT_THROW(make_sampler("nsgaii", 0, {{"de_fx", 0.5}}), ConfigError) << "unknown keys are rejected";
}

/// With de_cr = 1 and no mutation, every child of generation 1 is r1 + F (r2 - r3) of three
/// generation-0 values (r2 != r3), brought back into [0, 1]; with de_cr = 0 it is a parent's value.
TEST(NsgaIIDifferentialEvolution, ChildIsDeMutantOfParents) {
  constexpr int64_t kPop = 4;
  constexpr double kF = 0.7;
  for (const std::string bounds : {"clip", "reflect"}) {
    Study study = make_study(11, {{"crossover", "de"}, {"population_size", kPop}, {"de_f", kF}, {"de_cr", 1.0},
                                  {"mutation_prob", 0.0}, {"de_bounds", bounds}});
    study.optimize([](Trial& t) { return std::vector<double>{t.suggest_float("x", 0.0, 1.0)}; }, 2 * kPop);
    const auto trials = study.trials();
    ASSERT_EQ(trials.size(), static_cast<size_t>(2 * kPop));
    std::vector<double> gen0;
    for (int64_t i = 0; i < kPop; ++i) gen0.push_back(trials[static_cast<size_t>(i)]->params.at("x"));
    for (int64_t i = kPop; i < 2 * kPop; ++i) {
      const double x = trials[static_cast<size_t>(i)]->params.at("x");
      EXPECT_EQ(trials[static_cast<size_t>(i)]->system_attrs.at("nsga2:generation"), 1);
      bool found = false;
      for (double r1 : gen0)
        for (size_t j = 0; j < gen0.size(); ++j)
          for (size_t k = 0; k < gen0.size(); ++k) {
            if (j == k) continue;
            double v = r1 + kF * (gen0[j] - gen0[k]);
            if (bounds == "reflect") v = v < 0.0 ? -v : (v > 1.0 ? 2.0 - v : v);
            found = found || std::abs(x - std::clamp(v, 0.0, 1.0)) < 1e-12;
          }
      EXPECT_TRUE(found) << bounds << ": trial " << i << " x=" << x << " is no DE mutant of generation 0";
      EXPECT_GE(x, 0.0);
      EXPECT_LE(x, 1.0);
    }
  }
  Study copy = make_study(12, {{"crossover", "de"}, {"population_size", kPop}, {"de_cr", 0.0}, {"mutation_prob", 0.0}});
  copy.optimize([](Trial& t) { return std::vector<double>{t.suggest_float("x", 0.0, 1.0)}; }, 3 * kPop);
  const auto trials = copy.trials();
  for (int64_t i = kPop; i < 3 * kPop; ++i) {
    const double x = trials[static_cast<size_t>(i)]->params.at("x");
    bool earlier = false;
    for (int64_t j = 0; j < i; ++j) earlier = earlier || trials[static_cast<size_t>(j)]->params.at("x") == x;
    EXPECT_TRUE(earlier) << "de_cr = 0 without mutation copies the target parent";
  }
}

/// Bounds, int / step / log domains and categoricals, over generations of 8 with mutation on.
TEST(NsgaIIDifferentialEvolution, BoundsAndTypesOnAMixedSpace) {
  for (const std::string bounds : {"clip", "reflect"}) {
    Study study = make_study(3, {{"crossover", "de"}, {"population_size", 8}, {"de_f", 0.9}, {"de_cr", 0.5},
                                 {"de_bounds", bounds}, {"mutation_prob", 0.2}},
                             2);
    study.optimize([](Trial& t) {
      const double f = t.suggest_float("f", -3.5, 7.25);
      const double fl = t.suggest_float("fl", 1e-5, 1e2, true);
      const double fs = t.suggest_float("fs", 0.0, 1.0, false, 0.25);
      const int64_t i = t.suggest_int("i", -5, 5);
      const int64_t il = t.suggest_int("il", 1, 1000, true);
      const int64_t is = t.suggest_int("is", 0, 20, false, 4);
      const ParamValue c = t.suggest_categorical("c", {std::string("a"), int64_t{2}, 3.5});
      const double cv = std::holds_alternative<std::string>(c) ? 0.0 : 1.0;
      return std::vector<double>{f * f + std::log10(fl) + fs + static_cast<double>(i) + cv,
                                 -f + static_cast<double>(il + is)};
    }, 200);
    const auto trials = study.trials();
    ASSERT_EQ(trials.size(), 200u);
    std::set<double> distinct_f;
    for (const auto& t : trials) {
      ASSERT_EQ(t->state, TrialState::Complete) << t->fail_reason();
      const auto p = t->external_params();
      const double f = std::get<double>(p.at("f"));
      EXPECT_GE(f, -3.5);
      EXPECT_LE(f, 7.25);
      const double fl = std::get<double>(p.at("fl"));
      EXPECT_GE(fl, 1e-5);
      EXPECT_LE(fl, 1e2);
      const double fs = std::get<double>(p.at("fs"));
      EXPECT_DOUBLE_EQ(fs, std::round(fs / 0.25) * 0.25);
      EXPECT_GE(fs, 0.0);
      EXPECT_LE(fs, 1.0);
      const int64_t i = std::get<int64_t>(p.at("i"));
      EXPECT_GE(i, -5);
      EXPECT_LE(i, 5);
      const int64_t il = std::get<int64_t>(p.at("il"));
      EXPECT_GE(il, 1);
      EXPECT_LE(il, 1000);
      const int64_t is = std::get<int64_t>(p.at("is"));
      EXPECT_EQ(is % 4, 0);
      EXPECT_GE(is, 0);
      EXPECT_LE(is, 20);
      const ParamValue c = p.at("c");
      EXPECT_TRUE(c == ParamValue(std::string("a")) || c == ParamValue(int64_t{2}) || c == ParamValue(3.5));
      distinct_f.insert(f);
    }
    // de_cr 0.5: about half the children take a new f (clipped mutants repeat the bounds).
    EXPECT_GT(distinct_f.size(), 80u) << "DE children are new points, not copies of parents";
    EXPECT_GT(trials.back()->system_attrs.at("nsga2:generation").get<int64_t>(), 20);
  }
}

TEST(NsgaIIDifferentialEvolution, ReproducibleWithSeed) {
  auto run = [](uint64_t seed) {
    Study study = make_study(seed, {{"crossover", "de"}, {"population_size", 6}});
    study.optimize([](Trial& t) {
      return std::vector<double>{std::pow(t.suggest_float("x", -2.0, 2.0) - 1, 2) +
                                 static_cast<double>(t.suggest_int("k", 0, 9))};
    }, 60);
    std::vector<std::map<std::string, double>> params;
    for (const auto& t : study.trials()) params.push_back(t->params);
    return params;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

/// docs/benchmarks.md: with population 20, de_f 0.8, de_cr 0.3 NSGA-II reaches >= 0.95 of ZDT1's
/// true-front hypervolume at 2,000 evaluations (seeds 0-7); at 1,000 it is already far above the
/// default operators' 0.39 at 2,000.
TEST(NsgaIIDifferentialEvolution, Zdt1Benchmark) {
  SamplerBenchOptions o;
  o.sampler = "nsgaii";
  o.n_trials = 1000;
  o.n_objectives = 2;
  o.seed = 0;
  o.space = "zdt1";
  o.sampler_options = {{"crossover", "de"}, {"population_size", 20}, {"de_f", 0.8}, {"de_cr", 0.3}};
  const auto j = run_sampler_bench(o);
  EXPECT_GT(j["hypervolume_ratio"].get<double>(), 0.6);
}

}  // namespace
}  // namespace chop::search
