// Best so far, Pareto front and parameter importance against hand-computed numbers.
#include <gtest/gtest.h>

#include "chop/report/analysis.h"
#include "unit/report/fixture.h"

using namespace chop::report;
using namespace chop::report::testing;

TEST(Analysis, CompleteTrialsInNumberOrder) {
  auto s = fixture_study();
  std::vector<int64_t> numbers;
  for (const auto* t : complete_trials(s)) numbers.push_back(t->number);
  EXPECT_EQ(numbers, (std::vector<int64_t>{0, 1, 3, 5, 6}));
}

TEST(Analysis, BestSoFarHonoursDirection) {
  auto s = fixture_study();
  auto trials = complete_trials(s);
  EXPECT_EQ(best_so_far(trials, 0, true), (std::vector<double>{0.60, 0.70, 0.70, 0.80, 0.80}));
  EXPECT_EQ(best_so_far(trials, 1, false), (std::vector<double>{2, 2, 2, 2, 2}));
  EXPECT_EQ(best_so_far(trials, 1, true), (std::vector<double>{2, 4, 5, 6, 8}));
}

TEST(Analysis, ParetoFrontSkipsDominatedAndInfeasible) {
  auto s = fixture_study();
  EXPECT_EQ(pareto_front(s), (std::vector<int64_t>{0, 1, 6}));
  // Without its constraint trial 5 (0.80, 6) dominates 6 (0.75, 8).
  s.trials[5].constraints = {-1.0};
  EXPECT_EQ(pareto_front(s), (std::vector<int64_t>{0, 1, 5}));
}

TEST(Analysis, ParetoFrontSingleObjectiveIsTheBest) {
  auto s = fixture_study();
  s.objectives.resize(1);
  for (auto& t : s.trials)
    if (!t.values.empty()) t.values.resize(1);
  EXPECT_EQ(pareto_front(s), (std::vector<int64_t>{6}));  // 5 is infeasible
}

TEST(Analysis, Dominates) {
  std::vector<Objective> o{{"a", true}, {"b", false}};
  EXPECT_TRUE(dominates({1, 1}, {0, 2}, o));
  EXPECT_TRUE(dominates({1, 1}, {1, 2}, o));
  EXPECT_FALSE(dominates({1, 1}, {1, 1}, o));
  EXPECT_FALSE(dominates({1, 3}, {0, 2}, o));
}

TEST(Analysis, CorrelationRatioByHand) {
  // groups a: {1, 3} mean 2; b: {5} ; mean 3, total SS 8, between 2*1 + 1*4 = 6.
  EXPECT_DOUBLE_EQ(correlation_ratio({"a", "a", "b"}, {1, 3, 5}), 6.0 / 8.0);
  EXPECT_DOUBLE_EQ(correlation_ratio({"a", "b"}, {1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(correlation_ratio({"a"}, {1}), 0.0);
}

TEST(Analysis, SpearmanByHand) {
  EXPECT_NEAR(spearman({1, 2, 3, 4, 5}, {2, 4, 6, 8, 100}), 1.0, 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3, 4, 5}, {5, 4, 3, 2, 1}), -1.0, 1e-12);
  // Ties: ranks x = 1, 2.5, 2.5, 4 against 1..4: r = 4.5 / sqrt(4.5 * 5).
  EXPECT_NEAR(spearman({1, 2, 2, 3}, {1, 2, 3, 4}), 4.5 / std::sqrt(22.5), 1e-12);
  EXPECT_DOUBLE_EQ(spearman({1, 1, 1}, {1, 2, 3}), 0.0);
}

TEST(Analysis, ImportanceOfTheFixtureByHand) {
  auto imp = param_importance(fixture_study());
  ASSERT_EQ(imp.size(), 4u);
  // accuracy over trials 0,1,3,5,6 = .6 .7 .65 .8 .75, mean .7, total SS .025.
  EXPECT_EQ(imp[0].param, kCm);
  EXPECT_EQ(imp[0].objective, "accuracy");
  EXPECT_EQ(imp[0].method, "eta^2");
  EXPECT_EQ(imp[0].n_trials, 5);
  EXPECT_NEAR(imp[0].value, 0.02375 / 0.025, 1e-9);  // cm groups {1},{2,2},{3},{4}
  EXPECT_EQ(imp[1].param, kName);
  EXPECT_NEAR(imp[1].value, 0.0, 1e-12);  // both names average .7
  // bops = 2 4 5 6 8, mean 5, total SS 20.
  EXPECT_EQ(imp[2].objective, "bops");
  EXPECT_NEAR(imp[2].value, 19.5 / 20, 1e-9);
  EXPECT_NEAR(imp[3].value, 7.5 / 20, 1e-9);
}

TEST(Analysis, ImportanceUsesSpearmanForManyNumericValues) {
  StudyResults s;
  s.objectives = {{"loss", false}};
  for (int i = 0; i < 12; ++i) {
    TrialRecord t;
    t.number = i;
    t.values = {static_cast<double>(i * i)};
    t.params = {{"lr", 0.001 * (i + 1)}, {"width", i % 2 ? 16 : 32}};
    s.trials.push_back(t);
  }
  auto imp = param_importance(s);
  ASSERT_EQ(imp.size(), 2u);
  EXPECT_EQ(imp[0].method, "spearman rho^2");
  EXPECT_NEAR(imp[0].value, 1.0, 1e-12);
  EXPECT_EQ(imp[1].method, "eta^2");
}
