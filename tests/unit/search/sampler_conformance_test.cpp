// Conformance suite run over every registered sampler: bounds, types, log/step, categorical,
// reproducibility, multi-objective, failures, pruning, parallel workers, registry lookups.
#include "chop/search/multi_objective.h"
#include "chop/search/study.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <set>

namespace chop::search {
namespace {

class SamplerConformance : public ::testing::TestWithParam<std::string> {
 protected:
  bool is_grid() const { return GetParam() == "grid"; }
  Study make(uint64_t seed, std::vector<StudyDirection> dirs = {StudyDirection::Minimize}) {
    StudyOptions o;
    o.directions = std::move(dirs);
    o.sampler = make_sampler(GetParam(), seed);
    return Study(o);
  }
  /// A mixed space; the grid gets its discrete twin (steps instead of continuous floats).
  std::vector<double> mixed_objective(Trial& t) {
    const double f = is_grid() ? t.suggest_float("f", -3.5, 7.25, false, 0.75) : t.suggest_float("f", -3.5, 7.25);
    const double fl = is_grid() ? 1.0 : t.suggest_float("fl", 1e-5, 1e2, true);
    const double fs = t.suggest_float("fs", 0.0, 1.0, false, 0.25);
    const int64_t i = t.suggest_int("i", -5, 5);
    const int64_t il = t.suggest_int("il", 1, is_grid() ? 8 : 1000, true);
    const int64_t is = t.suggest_int("is", 0, 20, false, 4);
    const ParamValue c = t.suggest_categorical("c", {std::string("a"), int64_t{2}, 3.5, true});
    const double cv = std::holds_alternative<std::string>(c) ? 0.0 : 1.0;
    return {f * f + std::log10(fl) * std::log10(fl) + fs + static_cast<double>(i * i) +
            std::log(static_cast<double>(il)) + static_cast<double>(is) + cv};
  }
};

TEST_P(SamplerConformance, BoundsTypesLogAndStep) {
  Study study = make(1);
  study.optimize([&](Trial& t) { return mixed_objective(t); }, 120);
  ASSERT_GT(study.trials().size(), 0u);
  for (const auto& t : study.trials()) {
    ASSERT_EQ(t->state, TrialState::Complete) << t->fail_reason();
    const auto p = t->external_params();
    const double f = std::get<double>(p.at("f"));
    EXPECT_GE(f, -3.5);
    EXPECT_LE(f, 7.25);
    if (!is_grid()) {
      const double fl = std::get<double>(p.at("fl"));
      EXPECT_GE(fl, 1e-5);
      EXPECT_LE(fl, 1e2);
    }
    const double fs = std::get<double>(p.at("fs"));
    EXPECT_DOUBLE_EQ(fs, std::round(fs / 0.25) * 0.25);
    const int64_t i = std::get<int64_t>(p.at("i"));
    EXPECT_GE(i, -5);
    EXPECT_LE(i, 5);
    const int64_t il = std::get<int64_t>(p.at("il"));
    EXPECT_GE(il, 1);
    EXPECT_LE(il, is_grid() ? 8 : 1000);
    const int64_t is = std::get<int64_t>(p.at("is"));
    EXPECT_EQ(is % 4, 0);
    EXPECT_LE(is, 20);
    const ParamValue c = p.at("c");
    EXPECT_TRUE(c == ParamValue(std::string("a")) || c == ParamValue(int64_t{2}) || c == ParamValue(3.5) ||
                c == ParamValue(true));
  }
}

TEST_P(SamplerConformance, LogParametersCoverDecades) {
  if (is_grid()) GTEST_SKIP() << "log floats are continuous";
  Study study = make(2);
  study.optimize([](Trial& t) { return std::vector<double>{-std::log10(t.suggest_float("lr", 1e-6, 1.0, true))}; }, 60);
  int below_1e3 = 0;
  for (const auto& t : study.trials()) below_1e3 += std::get<double>(t->param("lr")) < 1e-3;
  EXPECT_GT(below_1e3, 5) << "log-uniform sampling puts half the mass below 1e-3";
}

TEST_P(SamplerConformance, ReproducibleWithSeed) {
  auto run = [&](uint64_t seed) {
    Study study = make(seed);
    study.optimize([&](Trial& t) { return mixed_objective(t); }, 70);
    std::vector<std::map<std::string, double>> params;
    for (const auto& t : study.trials()) params.push_back(t->params);
    return params;
  };
  EXPECT_EQ(run(42), run(42));
  if (!is_grid()) {
    EXPECT_NE(run(42), run(43));
  }
}

TEST_P(SamplerConformance, MultiObjective) {
  Study study = make(3, {StudyDirection::Minimize, StudyDirection::Maximize});
  study.optimize([](Trial& t) {
    const double x = t.suggest_float("x", 0, 1, false, 0.125);
    const auto k = t.suggest_int("k", 0, 4);
    return std::vector<double>{x + static_cast<double>(k), x * x - static_cast<double>(k)};
  }, 80);
  for (const auto& t : study.trials()) {
    ASSERT_EQ(t->state, TrialState::Complete);
    EXPECT_EQ(t->values.size(), 2u);
  }
  const auto front = study.best_trials();
  ASSERT_FALSE(front.empty());
  for (const auto& a : front)
    for (const auto& b : front) {
      const auto la = to_losses(a->values, study.directions()), lb = to_losses(b->values, study.directions());
      EXPECT_FALSE(dominates(la.data(), lb.data(), 2));
    }
}

TEST_P(SamplerConformance, FailAndPrunedTrialsTolerated) {
  Study study = make(4);
  study.optimize([](Trial& t) -> std::vector<double> {
    const auto a = t.suggest_int("a", 0, 9);
    const auto b = t.suggest_categorical("b", {std::string("u"), std::string("v"), std::string("w")});
    if (t.number() % 3 == 0) throw std::runtime_error("diverged");
    t.report(0, static_cast<double>(a));
    if (t.number() % 3 == 1 && t.number() > 20) throw TrialPruned();
    return {static_cast<double>(a) + static_cast<double>(std::get<std::string>(b).size())};
  }, 90);
  ASSERT_GT(study.trials().size(), 20u);
  EXPECT_GT(study.trials(std::vector{TrialState::Fail}).size(), 5u);
  EXPECT_GT(study.trials(std::vector{TrialState::Complete}).size(), 5u);
  EXPECT_EQ(study.trials(std::vector{TrialState::Running}).size(), 0u);
}

TEST_P(SamplerConformance, CategoricalAndSingleValueDomains) {
  Study study = make(5);
  study.optimize([](Trial& t) {
    const auto c = t.suggest_categorical("only", {std::string("one")});
    const auto k = t.suggest_int("fixed", 3, 3);
    const auto b = t.suggest_categorical("flag", {true, false});
    EXPECT_EQ(std::get<std::string>(c), "one");
    EXPECT_EQ(k, 3);
    return std::vector<double>{std::get<bool>(b) ? 1.0 : 0.0};
  }, 30);
  EXPECT_GE(study.trials().size(), 2u);
  for (const auto& t : study.trials()) EXPECT_EQ(t->state, TrialState::Complete) << t->fail_reason();
}

TEST_P(SamplerConformance, ParallelWorkers) {
  Study study = make(6);
  study.optimize([&](Trial& t) { return mixed_objective(t); }, 60, 0.0, 3);
  std::set<int64_t> numbers;
  for (const auto& t : study.trials()) {
    EXPECT_EQ(t->state, TrialState::Complete) << t->fail_reason();
    numbers.insert(t->number);
  }
  EXPECT_EQ(numbers.size(), study.trials().size());
}

/// 24 configurations: a categorical of 3, an int of 4, a categorical of 2 and a single value.
SearchSpace small_discrete_space() {
  return {{"a", Distribution::categorical({std::string("x"), std::string("y"), std::string("z")})},
          {"b", Distribution::int_range(1, 4)},
          {"c", Distribution::categorical({int64_t{16}, int64_t{32}})},
          {"d", Distribution::categorical({1.5})}};
}

/// Runs `n_trials` (more than the space holds) with distinct proposals; returns the study.
std::unique_ptr<Study> run_distinct(const std::string& sampler, int64_t n_objectives, int n_jobs,
                                    int64_t n_trials, const SearchSpace& space,
                                    std::atomic<int>* calls = nullptr) {
  StudyOptions o;
  o.directions.assign(static_cast<size_t>(n_objectives), StudyDirection::Minimize);
  o.sampler = make_sampler(sampler, 3);
  o.dedup = true;
  o.search_space = space;
  auto study = std::make_unique<Study>(o);
  study->optimize(
      [&](Trial& t) {
        if (calls) ++*calls;
        double x = 0, y = 0;
        for (const auto& [name, d] : space) {
          const double v = t.suggest(name, d) == d.to_external(d.internal_at(0)) ? 0.0 : 1.0;
          x += v + 0.01 * t.internal_params().at(name);
          y += 1.0 - v;
        }
        return n_objectives == 1 ? std::vector<double>{x} : std::vector<double>{x, y};
      },
      n_trials, 0.0, n_jobs);
  return study;
}

TEST_P(SamplerConformance, DistinctProposalsUntilTheSpaceIsExhausted) {
  // Every sampler, one or two objectives, one or three threads: each configuration once, while an
  // unseen one exists; then the study is exhausted and says so.
  const SearchSpace space = small_discrete_space();
  ASSERT_EQ(space_size(space), 24);
  for (int64_t m : {1, 2})
    for (int jobs : {1, 3}) {
      std::atomic<int> calls{0};
      auto study = run_distinct(GetParam(), m, jobs, 40, space, &calls);
      std::set<std::string> keys;
      for (const auto& t : study->trials()) {
        EXPECT_EQ(t->state, TrialState::Complete) << t->fail_reason();
        EXPECT_EQ(t->params.size(), 4u);
        keys.insert(params_key(t->params));
      }
      EXPECT_EQ(study->trials().size(), 24u) << "objectives " << m << ", jobs " << jobs;
      EXPECT_EQ(keys.size(), 24u) << "a configuration was proposed twice (objectives " << m << ", jobs " << jobs << ")";
      EXPECT_EQ(calls.load(), 24) << "the objective ran once per configuration";
      EXPECT_TRUE(study->exhausted());
      EXPECT_FALSE(study->try_ask().has_value());
      EXPECT_THROW(study->ask(), SearchError);
    }
}

TEST_P(SamplerConformance, DistinctProposalsRetryAFailedConfiguration) {
  // A configuration whose trial failed is not evaluated: it is proposed again later (not by the
  // grid).
  StudyOptions o;
  o.sampler = make_sampler(GetParam(), 4);
  o.dedup = true;
  o.search_space = {{"a", Distribution::int_range(0, 2)}, {"b", Distribution::categorical({std::string("p"), std::string("q")})}};
  Study study(o);
  bool failed_once = false;
  study.optimize(
      [&](Trial& t) {
        const int64_t a = std::get<int64_t>(t.suggest("a", o.search_space.at("a")));
        t.suggest("b", o.search_space.at("b"));
        if (!failed_once) {
          failed_once = true;
          throw std::runtime_error("first trial fails");
        }
        return std::vector<double>{static_cast<double>(a)};
      },
      20);
  // The grid gives each point one trial, a failed one included (as Optuna's GridSampler).
  EXPECT_EQ(study.trials().size(), is_grid() ? 6u : 7u);
  EXPECT_EQ(study.trials(std::vector{TrialState::Complete}).size(), is_grid() ? 5u : 6u);
  EXPECT_TRUE(study.exhausted());
}

TEST_P(SamplerConformance, DistinctProposalsInALargeSpace) {
  // 20^5 = 3.2 million configurations: too many to enumerate, still no repeat.
  SearchSpace space;
  for (const char* name : {"p", "q", "r", "s", "t"}) space.emplace(name, Distribution::int_range(0, 19));
  auto study = run_distinct(GetParam(), 1, 1, 60, space);
  std::set<std::string> keys;
  for (const auto& t : study->trials()) keys.insert(params_key(t->params));
  EXPECT_EQ(keys.size(), 60u);
  EXPECT_FALSE(study->exhausted());
}

TEST_P(SamplerConformance, RegisteredAndDescribed) {
  bool found = false;
  for (const auto& info : sampler_registry()) found = found || (info.name == GetParam() && std::string(info.description).size() > 10);
  EXPECT_TRUE(found);
  EXPECT_EQ(make_sampler(GetParam(), 0)->name(), GetParam());
  EXPECT_THROW(make_sampler(GetParam(), 0, {{"no_such_option", 1}}), ConfigError);
}

std::vector<std::string> registered_names() {
  std::vector<std::string> names;
  for (const auto& info : sampler_registry()) names.push_back(info.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(AllSamplers, SamplerConformance, ::testing::ValuesIn(registered_names()),
                         [](const auto& info) { return info.param; });

TEST(SamplerRegistry, LookupErrorsNameKnownSamplers) {
  try {
    make_sampler("tpee");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown sampler 'tpee'; known: tpe"), std::string::npos) << e.what();
  }
  EXPECT_EQ(canonical_sampler_name("bruteforce"), "grid");
  EXPECT_EQ(canonical_sampler_name("brute_force"), "grid");
  EXPECT_EQ(sampler_names().size(), sampler_registry().size() + 2);
}

}  // namespace
}  // namespace chop::search
