// Unit tests of pruners: median and successive-halving decisions, registry, multi-objective use.
#include "chop/search/pruners/median_pruner.h"
#include "chop/search/pruners/successive_halving_pruner.h"
#include "chop/search/study.h"

#include <gtest/gtest.h>

namespace chop::search {
namespace {

Study make_study(std::shared_ptr<Pruner> pruner, std::vector<StudyDirection> dirs = {StudyDirection::Minimize},
                 std::optional<StudyDirection> pruning = std::nullopt) {
  StudyOptions o;
  o.directions = std::move(dirs);
  o.sampler = make_sampler("random", 0);
  o.pruner = std::move(pruner);
  o.pruning_direction = pruning;
  return Study(o);
}

/// Completes one trial that reported `curve` (value at steps 0, 1, ...).
void complete_with_curve(Study& s, const std::vector<double>& curve) {
  Trial t = s.ask();
  for (size_t i = 0; i < curve.size(); ++i) t.report(static_cast<int64_t>(i), curve[i]);
  s.tell(t, std::vector<double>(static_cast<size_t>(s.n_objectives()), curve.back()));
}

TEST(Percentile, LinearInterpolation) {
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile({5, 1, 3}, 50), 3.0);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 25), 2.0);
}

TEST(MedianPruner, Decisions) {
  Study s = make_study(std::make_shared<MedianPruner>());
  for (int i = 1; i <= 4; ++i) complete_with_curve(s, {static_cast<double>(i), static_cast<double>(i)});
  Trial early = s.ask();
  early.report(0, 100.0);
  EXPECT_FALSE(early.should_prune()) << "only 4 completed trials: still in startup";
  s.tell(early, TrialState::Fail);
  complete_with_curve(s, {5.0, 5.0});  // step-0 values 1..5, median 3
  Trial bad = s.ask();
  bad.report(0, 3.5);
  EXPECT_TRUE(bad.should_prune());
  Trial good = s.ask();
  good.report(0, 2.5);
  EXPECT_FALSE(good.should_prune());
  good.report(1, 9.0);  // best so far (2.5) counts, not the last value
  EXPECT_FALSE(good.should_prune());
  Trial none = s.ask();
  EXPECT_FALSE(none.should_prune()) << "nothing reported";
  Trial unseen = s.ask();
  unseen.report(7, 100.0);
  EXPECT_FALSE(unseen.should_prune()) << "no completed trial reported step 7";
}

TEST(MedianPruner, MaximizeAndWarmup) {
  MedianPrunerOptions o;
  o.n_warmup_steps = 1;
  Study s = make_study(std::make_shared<MedianPruner>(o), {StudyDirection::Maximize});
  for (int i = 1; i <= 5; ++i) complete_with_curve(s, {static_cast<double>(i), static_cast<double>(i)});
  Trial t = s.ask();
  t.report(0, 0.0);
  EXPECT_FALSE(t.should_prune()) << "warm-up step";
  t.report(1, 2.0);
  EXPECT_TRUE(t.should_prune()) << "best 2 < median 3 when maximizing";
}

TEST(MedianPruner, WorksInMultiObjectiveStudies) {
  // Objectives: (accuracy max, size min); the trial reports accuracy per epoch.
  Study s = make_study(std::make_shared<MedianPruner>(),
                       {StudyDirection::Maximize, StudyDirection::Minimize}, StudyDirection::Maximize);
  for (int i = 1; i <= 5; ++i) complete_with_curve(s, {0.1 * i, 0.1 * i});
  Trial low = s.ask();
  low.report(0, 0.05);
  EXPECT_TRUE(low.should_prune());
  Trial high = s.ask();
  high.report(0, 0.45);
  EXPECT_FALSE(high.should_prune());
  // And through optimize: a pruned trial is PRUNED, not FAIL.
  s.optimize([](Trial& t) -> std::vector<double> {
    t.report(0, 0.0);
    if (t.should_prune()) throw TrialPruned();
    return {1.0, 1.0};
  }, 2);
  EXPECT_EQ(s.trials().back()->state, TrialState::Pruned);
}

TEST(SuccessiveHalvingPruner, Rungs) {
  Study s = make_study(std::make_shared<SuccessiveHalvingPruner>());
  // Rungs end at steps 1, 4, 16. The first trial is promoted alone at every rung.
  Trial first = s.ask();
  first.report(1, 0.5);
  EXPECT_FALSE(first.should_prune());
  EXPECT_TRUE(first.snapshot()->system_attrs.count("completed_rung_0"));
  first.report(4, 0.4);
  EXPECT_FALSE(first.should_prune());
  EXPECT_TRUE(first.snapshot()->system_attrs.count("completed_rung_1"));
  s.tell(first, {0.4});
  // With 2..7 values at rung 0, only the best 1 (|values| / 4, at least 1) is promoted.
  Trial worse = s.ask();
  worse.report(1, 0.6);
  EXPECT_TRUE(worse.should_prune());
  s.tell(worse, TrialState::Pruned);
  Trial better = s.ask();
  better.report(1, 0.3);
  EXPECT_FALSE(better.should_prune());
  Trial early = s.ask();
  early.report(0, 99.0);
  EXPECT_FALSE(early.should_prune()) << "before the first rung";
}

TEST(PrunerRegistry, NamesAndErrors) {
  EXPECT_EQ(pruner_names(), (std::vector<std::string>{"none", "median", "successive_halving"}));
  EXPECT_EQ(make_pruner("median")->name(), "median");
  try {
    make_pruner("medain");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown pruner 'medain'; known: median"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_pruner("median", {{"n_startup_trial", 3}}), ConfigError);
  EXPECT_EQ(make_pruner("successive_halving", {{"reduction_factor", 3}})->name(), "successive_halving");
}

}  // namespace
}  // namespace chop::search
