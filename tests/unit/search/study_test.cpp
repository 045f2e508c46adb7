// Unit tests of Study, Trial and InMemoryStorage: ask/tell, failures, parallel jobs, dedup, grid.
#include "chop/search/samplers/grid_sampler.h"
#include "chop/search/storage/in_memory_storage.h"
#include "chop/search/storage/sqlite_storage.h"
#include "storage_test_support.h"
#include "chop/search/study.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

namespace chop::search {
namespace {

StudyOptions random_options(uint64_t seed = 0) {
  StudyOptions o;
  o.sampler = make_sampler("random", seed);
  return o;
}

TEST(Storage, SnapshotsNeverChangeAndFinishedTrialsAreReadOnly) {
  InMemoryStorage storage;
  const int64_t sid = storage.create_study("s", {StudyDirection::Minimize});
  EXPECT_THROW(storage.create_study("s", {StudyDirection::Minimize}), SearchError);
  const TrialRef ref = storage.create_trial(sid);
  EXPECT_EQ(ref.number, 0);
  const FrozenTrialPtr before = storage.get_trial(ref.trial_id);
  storage.set_trial_param(ref.trial_id, "x", 0.5, Distribution::float_range(0, 1));
  storage.set_trial_intermediate_value(ref.trial_id, 3, 0.25);
  EXPECT_TRUE(before->params.empty()) << "an old snapshot must not see later writes";
  EXPECT_EQ(storage.get_trial(ref.trial_id)->params.at("x"), 0.5);
  EXPECT_THROW(storage.set_trial_param(ref.trial_id, "x", 1.0, Distribution::int_range(0, 3)), SearchError);
  EXPECT_TRUE(storage.set_trial_state_values(ref.trial_id, TrialState::Complete, {1.0}));
  EXPECT_FALSE(storage.set_trial_state_values(ref.trial_id, TrialState::Fail, {}));
  EXPECT_THROW(storage.set_trial_user_attr(ref.trial_id, "k", 1), SearchError);
  EXPECT_THROW(storage.get_trial(99), SearchError);
  EXPECT_EQ(storage.get_n_trials(sid, TrialState::Complete), 1);
  EXPECT_EQ(storage.get_all_trials(sid, std::vector{TrialState::Running}).size(), 0u);
  EXPECT_TRUE(storage.get_trial(ref.trial_id)->datetime_complete.has_value());
}

TEST(Study, AskTellAndAttributes) {
  Study study(random_options());
  Trial t = study.ask();
  const double x = t.suggest_float("x", 0, 1);
  EXPECT_EQ(t.suggest_float("x", 0, 1), x) << "same name, same value";
  EXPECT_THROW(t.suggest_int("x", 0, 3), SearchError);
  t.set_user_attr("note", "hello");
  t.report(0, 0.5);
  const auto done = study.tell(t, {x});
  EXPECT_EQ(done->state, TrialState::Complete);
  EXPECT_EQ(done->user_attrs.at("note"), "hello");
  EXPECT_EQ(done->intermediate_values.at(0), 0.5);
  EXPECT_EQ(study.best_trial()->number, 0);
  EXPECT_THROW(study.tell(t, {0.0}), SearchError) << "a trial is told once";
  const auto j = done->to_json();
  EXPECT_EQ(j["state"], "COMPLETE");
  EXPECT_EQ(j["params"]["x"], x);

  Trial wrong = study.ask();
  EXPECT_EQ(study.tell(wrong, {1.0, 2.0})->state, TrialState::Fail);
  EXPECT_NE(study.trials().back()->fail_reason().find("returned 2 value(s)"), std::string::npos);
}

TEST(Study, FailingTrialsAreDataConfigErrorsStop) {
  Study study(random_options());
  study.optimize([](Trial& t) -> std::vector<double> {
    if (t.number() % 2 == 1) throw std::runtime_error("out of memory");
    return {1.0};
  }, 6);
  EXPECT_EQ(study.trials().size(), 6u);
  EXPECT_EQ(study.trials(std::vector{TrialState::Fail}).size(), 3u);
  EXPECT_EQ(study.trials()[1]->fail_reason(), "out of memory");

  Study stopping(random_options());
  EXPECT_THROW(stopping.optimize([](Trial& t) -> std::vector<double> {
    if (t.number() == 2) throw ConfigError("bad key");
    return {1.0};
  }, 10), ConfigError);
  EXPECT_EQ(stopping.trials().size(), 3u);
  EXPECT_EQ(stopping.trials().back()->state, TrialState::Fail);
}

TEST(Study, ParallelJobsAndCallbacks) {
  StudyOptions o;
  o.sampler = make_sampler("tpe", 3);
  Study study(o);
  std::atomic<int> calls{0};
  study.optimize([](Trial& t) {
    const double x = t.suggest_float("x", -1, 1);
    return std::vector<double>{x * x};
  }, 64, 0.0, 4, {[&](Study&, const FrozenTrial&) { ++calls; }});
  EXPECT_EQ(calls.load(), 64);
  std::set<int64_t> numbers;
  for (const auto& t : study.trials()) {
    EXPECT_EQ(t->state, TrialState::Complete);
    numbers.insert(t->number);
  }
  EXPECT_EQ(numbers.size(), 64u);
}

TEST(Study, TimeoutAndStop) {
  Study study(random_options());
  study.optimize([](Trial& t) {
    if (t.number() == 4) t.study().stop();
    return std::vector<double>{1.0};
  }, -1, 30.0);
  EXPECT_EQ(study.trials().size(), 5u);
  Study timed(random_options());
  timed.optimize([](Trial&) { return std::vector<double>{1.0}; }, -1, 0.05);
  EXPECT_GT(timed.trials().size(), 0u);
  EXPECT_THROW(timed.optimize([](Trial&) { return std::vector<double>{1.0}; }, -1, 0.0), ConfigError);
}

TEST(Study, GridVisitsEveryConfigurationOnceThenStops) {
  for (const std::string name : {"grid", "bruteforce", "brute_force"}) {
    StudyOptions o;
    o.sampler = make_sampler(name, 0);
    Study study(o);
    std::set<std::string> seen;
    study.optimize([&](Trial& t) {
      const auto w = t.suggest_categorical("width", {int64_t{8}, int64_t{16}, int64_t{32}});
      const auto b = t.suggest_int("bits", 4, 8, false, 2);
      const auto q = t.suggest_categorical("fmt", {std::string("int"), std::string("fp")});
      seen.insert(to_string(w) + "/" + std::to_string(b) + "/" + to_string(q));
      return std::vector<double>{1.0};
    }, 100);
    EXPECT_EQ(study.trials().size(), 18u) << name;
    EXPECT_EQ(seen.size(), 18u) << name;
  }
  StudyOptions o;
  o.sampler = make_sampler("grid", 0);
  Study continuous(o);
  EXPECT_THROW(continuous.optimize([](Trial& t) {
    return std::vector<double>{t.suggest_float("lr", 0, 1)};
  }, 5), ConfigError);
}

TEST(Study, GridIsSharedBetweenProcessesAndResumed) {
  auto storage = std::make_shared<InMemoryStorage>();
  auto options = [&](bool load) {
    StudyOptions o = StudyOptions().with_name("grid").with_storage(storage).with_load_if_exists(load);
    o.sampler = make_sampler("grid", 0);  // each "process" has its own sampler state
    return o;
  };
  auto objective = [](Trial& t) {
    const auto w = t.suggest_categorical("width", {int64_t{8}, int64_t{16}, int64_t{32}});
    const auto b = t.suggest_int("bits", 4, 8, false, 2);
    const auto q = t.suggest_categorical("fmt", {std::string("int"), std::string("fp")});
    return std::vector<double>{static_cast<double>(std::get<int64_t>(w) + b) + (std::get<std::string>(q) == "fp")};
  };
  Study first(options(false));
  first.optimize(objective, 5);  // then "killed": a new process resumes
  Study second(options(true)), third(options(true));
  // Two processes alternate asks: neither repeats a point the other (or the first) evaluated.
  for (bool more = true; more;) {
    more = false;
    for (Study* s : {&second, &third}) {
      auto t = s->try_ask();
      if (!t) continue;
      more = true;
      s->tell(*t, objective(*t));
    }
  }
  const auto trials = second.trials();
  ASSERT_EQ(trials.size(), 18u) << "5 + 13: the resumed processes did not start the grid again";
  std::set<std::map<std::string, double>> points;
  std::set<int64_t> ids;
  for (const auto& t : trials) {
    std::map<std::string, double> p;
    for (const auto& [name, v] : t->params) p[name] = v;
    points.insert(p);
    ids.insert(t->system_attrs.at("grid_id").get<int64_t>());
  }
  EXPECT_EQ(points.size(), 18u);
  EXPECT_EQ(*ids.rbegin(), 17);
  EXPECT_FALSE(first.try_ask().has_value()) << "the first process sees the grid exhausted too";
  // A process that never ran a trial knows the space from the study, so it stops at once.
  Study late(options(true));
  EXPECT_FALSE(late.try_ask().has_value());
}

TEST(Study, GridWorkersRacingOnSqliteTakeEveryPointExactlyOnce) {
  // Three "processes" (own connection, own sampler) of three threads each race on a grid of 6
  // points, with the space given up front and learned from the first trial.
  for (const bool explicit_space : {true, false}) {
    testing::TempDir dir("grid-race");
    const SearchSpace space = {
        {"width", Distribution::categorical({int64_t{8}, int64_t{16}, int64_t{32}})},
        {"fmt", Distribution::categorical({std::string("int"), std::string("fp")})}};
    auto options = [&] {
      StudyOptions o = StudyOptions().with_name("race").with_load_if_exists(true);
      o.storage = std::make_shared<SqliteStorage>(dir.file("study.db"));
      o.sampler = explicit_space ? std::make_unique<GridSampler>(space) : make_sampler("grid", 0);
      return o;
    };
    { Study creator(options()); }  // creates the study
    std::vector<std::thread> workers;
    for (int w = 0; w < 3; ++w)
      workers.emplace_back([&] {
        Study study(options());
        study.optimize([](Trial& t) {
          t.suggest_categorical("width", {int64_t{8}, int64_t{16}, int64_t{32}});
          t.suggest_categorical("fmt", {std::string("int"), std::string("fp")});
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          return std::vector<double>{1.0};
        }, 100, 0.0, 3);
      });
    for (auto& w : workers) w.join();
    const auto trials = Study(options()).trials();
    EXPECT_EQ(trials.size(), 6u) << "explicit space: " << explicit_space;
    std::set<std::map<std::string, double>> points;
    for (const auto& t : trials) {
      EXPECT_EQ(t->state, TrialState::Complete);
      points.insert(std::map<std::string, double>(t->params.begin(), t->params.end()));
    }
    EXPECT_EQ(points.size(), 6u) << "explicit space: " << explicit_space;
  }
}

TEST(Study, WorkersStopExactlyAtTheStudyTotal) {
  // Three "processes" of two threads each run until the study holds 20 COMPLETE trials; every
  // third trial fails, so failed trials must free their places. Before slots, each process
  // could overshoot by a trial (21-23 COMPLETE).
  testing::TempDir dir("total");
  auto options = [&] {
    StudyOptions o = StudyOptions().with_name("total").with_load_if_exists(true);
    o.storage = std::make_shared<SqliteStorage>(dir.file("study.db"));
    o.sampler = make_sampler("random", 0);
    return o;
  };
  { Study creator(options()); }
  std::atomic<int> calls{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w)
    workers.emplace_back([&] {
      Study study(options());
      OptimizeOptions run;
      run.n_trials = 20;
      run.until_study_total = true;
      run.n_jobs = 2;
      study.optimize([&](Trial& t) {
        const double x = t.suggest_float("x", 0, 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(2 + static_cast<int>(x * 8)));
        if (calls.fetch_add(1) % 3 == 2) throw std::runtime_error("flaky");
        return std::vector<double>{x};
      }, run);
    });
  for (auto& w : workers) w.join();
  Study after(options());
  EXPECT_EQ(after.n_complete(), 20);
  EXPECT_EQ(after.trials(std::vector{TrialState::Running}).size(), 0u);
  EXPECT_EQ(static_cast<int>(after.trials().size()), calls.load());
  EXPECT_GE(after.trials(std::vector{TrialState::Fail}).size(), 9u);
}

TEST(Study, WaitForAFreeSlotEndsAtTheTimeout) {
  auto storage = std::make_shared<InMemoryStorage>();
  auto options = [&] {
    return StudyOptions().with_name("slots").with_storage(storage).with_load_if_exists(true);
  };
  Study holder(options());
  auto running = holder.try_ask(1);  // holds the only place of a total of 1
  ASSERT_TRUE(running.has_value());
  Study waiter(options());
  OptimizeOptions run;
  run.n_trials = 1;
  run.until_study_total = true;
  run.timeout_seconds = 0.3;
  const auto start = std::chrono::steady_clock::now();
  waiter.optimize([](Trial&) { return std::vector<double>{0.0}; }, run);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(waited, 0.3);
  EXPECT_EQ(waiter.trials().size(), 1u) << "no trial beyond the total";
  holder.tell(*running, {1.0});
  EXPECT_FALSE(waiter.try_ask(1).has_value()) << "the total is COMPLETE";
}

TEST(Study, DedupReusesCompletedResults) {
  StudyOptions o = random_options(1);
  o.dedup = true;
  Study study(o);
  int calls = 0;
  study.optimize([&](Trial& t) {
    ++calls;
    const auto a = t.suggest_int("a", 0, 2);
    const auto b = t.suggest_categorical("b", {std::string("x"), std::string("y")});
    t.set_user_attr("software", static_cast<double>(a));
    return std::vector<double>{static_cast<double>(a) + (std::get<std::string>(b) == "x")};
  }, 40);
  EXPECT_LE(calls, 6) << "only 6 distinct configurations exist";
  int n_dedup = 0;
  for (const auto& t : study.trials()) {
    EXPECT_EQ(t->state, TrialState::Complete);
    auto it = t->user_attrs.find("dedup_of");
    if (it == t->user_attrs.end()) continue;
    ++n_dedup;
    const auto& earlier = *study.trials()[it->second.get<size_t>()];
    EXPECT_EQ(earlier.params, t->params);
    EXPECT_EQ(earlier.values, t->values);
    EXPECT_EQ(t->user_attrs.at("software"), earlier.user_attrs.at("software"));
  }
  EXPECT_EQ(n_dedup, 40 - calls);
}

TEST(Study, LoadIfExistsSharesStorage) {
  auto storage = std::make_shared<InMemoryStorage>();
  StudyOptions o = random_options();
  o.storage = storage;
  {
    Study a(o);
    a.optimize([](Trial&) { return std::vector<double>{2.0}; }, 3);
  }
  EXPECT_THROW(Study{o}, SearchError);
  o.load_if_exists = true;
  Study b(o);
  EXPECT_EQ(b.trials().size(), 3u);
  b.optimize([](Trial&) { return std::vector<double>{1.0}; }, 2);
  EXPECT_EQ(b.trials().back()->number, 4);
  EXPECT_EQ(b.best_trial()->values[0], 1.0);
}

}  // namespace
}  // namespace chop::search
