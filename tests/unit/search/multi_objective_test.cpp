// Unit tests of Pareto fronts, non-dominated sorting, hypervolume and crowding distance.
#include "chop/search/multi_objective.h"
#include "chop/search/rng.h"
#include "chop/search/study.h"

#include <gtest/gtest.h>

namespace chop::search {
namespace {

TEST(MultiObjective, Dominates) {
  const double a[] = {1, 2}, b[] = {1, 3}, c[] = {0, 4};
  EXPECT_TRUE(dominates(a, b, 2));
  EXPECT_FALSE(dominates(b, a, 2));
  EXPECT_FALSE(dominates(a, a, 2));
  EXPECT_FALSE(dominates(a, c, 2));
}

TEST(MultiObjective, RanksHandComputed) {
  // (1,3) (2,2) (3,1) front; (2,3) behind (1,3)/(2,2); (3,3) behind (2,3); duplicate (2,2).
  const std::vector<double> l = {1, 3, 2, 2, 3, 1, 2, 3, 3, 3, 2, 2};
  EXPECT_EQ(non_domination_ranks(l, 2), (std::vector<int64_t>{0, 0, 0, 1, 2, 0}));
}

TEST(MultiObjective, FastTwoDimensionalRanksMatchDeb) {
  Rng rng(5);
  std::vector<double> l2, l3;
  for (int i = 0; i < 300; ++i) {
    const double x = static_cast<double>(rng.below(20)), y = static_cast<double>(rng.below(20));
    l2.insert(l2.end(), {x, y});
    l3.insert(l3.end(), {x, y, 0.0});  // the 3-D path on the same points
  }
  EXPECT_EQ(non_domination_ranks(l2, 2), non_domination_ranks(l3, 3));
}

TEST(MultiObjective, HypervolumeKnownFronts) {
  EXPECT_DOUBLE_EQ(hypervolume({1, 3, 2, 2, 3, 1}, 2, {4, 4}), 6.0);
  EXPECT_DOUBLE_EQ(hypervolume({1, 3, 2, 2, 3, 1, 3, 3}, 2, {4, 4}), 6.0);  // dominated adds 0
  EXPECT_DOUBLE_EQ(hypervolume({5, 0}, 2, {4, 4}), 0.0);                     // outside reference
  EXPECT_DOUBLE_EQ(hypervolume({1, 1, 1}, 3, {2, 2, 2}), 1.0);
  EXPECT_DOUBLE_EQ(hypervolume({0, 0, 1, 1, 1, 0}, 3, {2, 2, 2}), 5.0);  // 4 + 2 - 1
  EXPECT_DOUBLE_EQ(hypervolume({0, 0, 0, 0}, 4, {1, 2, 3, 4}), 24.0);
}

TEST(MultiObjective, CrowdingDistance) {
  const auto d = crowding_distance({0, 4, 1, 2, 3, 1, 4, 0}, 2);
  EXPECT_TRUE(std::isinf(d[0]));
  EXPECT_TRUE(std::isinf(d[3]));
  EXPECT_DOUBLE_EQ(d[1], (3.0 - 0.0) / 4 + (4.0 - 1.0) / 4);
  EXPECT_DOUBLE_EQ(d[2], (4.0 - 1.0) / 4 + (2.0 - 0.0) / 4);
}

TEST(MultiObjective, StudyBestTrialsSkipInfeasible) {
  StudyOptions o;
  o.directions = {StudyDirection::Minimize, StudyDirection::Maximize};
  o.sampler = make_sampler("random", 0);
  Study study(o);
  const std::vector<std::vector<double>> values = {{1, 1}, {2, 3}, {0, 5}, {3, 0}, {2, 2}};
  for (size_t i = 0; i < values.size(); ++i) {
    Trial t = study.ask();
    if (i == 2) t.set_constraints({0.5});  // the best point is infeasible
    study.tell(t, values[i]);
  }
  std::vector<int64_t> numbers;
  for (const auto& t : study.best_trials()) numbers.push_back(t->number);
  EXPECT_EQ(numbers, (std::vector<int64_t>{0, 1}));
  EXPECT_THROW(study.best_trial(), SearchError);
}

}  // namespace
}  // namespace chop::search
