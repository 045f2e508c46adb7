// Conformance suite of the Storage contract, run over every storage: in-memory, SQLite, PostgreSQL.
#include "chop/search/storage/in_memory_storage.h"
#include "chop/search/storage/postgres_storage.h"
#include "chop/search/storage/sqlite_storage.h"
#include "chop/search/storage/storage_url.h"
#include "chop/search/study.h"
#include "storage_test_support.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <set>
#include <thread>

namespace chop::search {
namespace {

using testing::TempDir;

/// A fresh storage of one kind; study names are made unique per test since the PostgreSQL
/// database is shared by the tests of one process.
class StorageConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string kind = GetParam();
    if (kind == "memory") {
      storage_ = std::make_shared<InMemoryStorage>();
    } else if (kind == "sqlite") {
      storage_ = std::make_shared<SqliteStorage>(dir_.file("study.db"));
    } else {
      const std::string& url = testing::postgres_test_url();
      if (url.empty()) GTEST_SKIP() << "no PostgreSQL server could be started";
      storage_ = std::make_shared<PostgresStorage>(url);
    }
  }
  /// A second connection to the same storage (another worker process); memory: the same one.
  std::shared_ptr<Storage> another() const {
    const std::string kind = GetParam();
    if (kind == "memory") return storage_;
    if (kind == "sqlite") return std::make_shared<SqliteStorage>(dir_.file("study.db"));
    return std::make_shared<PostgresStorage>(testing::postgres_test_url());
  }
  std::string name(const std::string& base) const {
    return fmt::format("{}-{}", ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                       base);
  }

  TempDir dir_{"storage"};
  std::shared_ptr<Storage> storage_;
};

TEST_P(StorageConformance, StudiesDirectionsAndAttrs) {
  Storage& s = *storage_;
  const int64_t a = s.create_study(name("a"), {StudyDirection::Minimize});
  const int64_t b =
      s.create_study(name("b"), {StudyDirection::Maximize, StudyDirection::Minimize});
  EXPECT_NE(a, b);
  EXPECT_THROW(s.create_study(name("a"), {StudyDirection::Minimize}), SearchError);
  EXPECT_EQ(s.get_study_id(name("b")), b);
  EXPECT_EQ(s.get_study_name(a), name("a"));
  EXPECT_EQ(s.get_study_directions(b),
            (std::vector{StudyDirection::Maximize, StudyDirection::Minimize}));
  EXPECT_THROW(s.get_study_id(name("missing")), SearchError);
  EXPECT_THROW(s.get_study_name(123456), SearchError);
  EXPECT_THROW(s.create_trial(123456), SearchError);
  const auto names = s.get_all_study_names();
  const auto pos_a = std::find(names.begin(), names.end(), name("a"));
  const auto pos_b = std::find(names.begin(), names.end(), name("b"));
  ASSERT_NE(pos_a, names.end());
  EXPECT_LT(pos_a, pos_b) << "creation order";
  s.set_study_user_attr(a, "n_trials", 40);
  s.set_study_user_attr(a, "n_trials", 50);
  s.set_study_system_attr(a, "chop:version", "0.1");
  EXPECT_EQ(s.get_study_user_attrs(a).at("n_trials"), 50);
  EXPECT_EQ(s.get_study_system_attrs(a).at("chop:version"), "0.1");
  EXPECT_TRUE(s.get_study_user_attrs(b).empty());
}

TEST_P(StorageConformance, ConcurrentCreateTrialGivesUniqueConsecutiveNumbers) {
  Storage& s = *storage_;
  const int64_t sid = s.create_study(name("s"), {StudyDirection::Minimize});
  constexpr int kThreads = 8, kPerThread = 10;
  std::vector<std::vector<TrialRef>> refs(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < kPerThread; ++k) refs[static_cast<size_t>(i)].push_back(s.create_trial(sid));
    });
  for (auto& t : threads) t.join();
  std::set<int64_t> numbers, ids;
  for (const auto& r : refs)
    for (const auto& ref : r) {
      numbers.insert(ref.number);
      ids.insert(ref.trial_id);
    }
  ASSERT_EQ(numbers.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(*numbers.begin(), 0);
  EXPECT_EQ(*numbers.rbegin(), kThreads * kPerThread - 1);
  EXPECT_EQ(ids.size(), numbers.size());
  const auto all = s.get_all_trials(sid, std::nullopt);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i]->number, static_cast<int64_t>(i));
}

TEST_P(StorageConformance, EachClaimIsWonByExactlyOneTrial) {
  const int64_t sid = storage_->create_study(name("s"), {StudyDirection::Minimize});
  std::vector<std::shared_ptr<Storage>> workers = {storage_, another(), another(), storage_};
  constexpr int kKeys = 12;
  std::vector<std::vector<std::pair<int, TrialRef>>> won(workers.size());
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers.size(); ++w)
    threads.emplace_back([&, w] {
      for (int k = 0; k < kKeys; ++k)
        if (auto ref = workers[w]->create_trial_claiming(sid, {fmt::format("grid:{}", k)}, {{"grid_id", k}}))
          won[w].emplace_back(k, *ref);
    });
  for (auto& t : threads) t.join();
  std::map<int, TrialRef> winners;
  for (const auto& list : won)
    for (const auto& [k, ref] : list) EXPECT_TRUE(winners.emplace(k, ref).second) << "key " << k << " won twice";
  ASSERT_EQ(winners.size(), size_t{kKeys});
  EXPECT_EQ(storage_->get_n_trials(sid), kKeys) << "a lost claim must not leave a trial behind";
  const auto attrs = storage_->get_study_system_attrs(sid);
  for (const auto& [k, ref] : winners) {
    const auto t = storage_->get_trial(ref.trial_id);
    EXPECT_EQ(t->state, TrialState::Running);
    EXPECT_EQ(t->system_attrs.at("grid_id"), k);
    EXPECT_EQ(attrs.at(fmt::format("grid:{}", k)), ref.number);
  }
  // All keys or none: a free key is not taken when another key of the same call is.
  EXPECT_FALSE(storage_->create_trial_claiming(sid, {"slot:0", "grid:3"}, {}).has_value());
  EXPECT_EQ(storage_->get_study_system_attrs(sid).count("slot:0"), 0u);
  const auto both = storage_->create_trial_claiming(sid, {"slot:0", "slot:1"}, {});
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(storage_->get_study_system_attrs(sid).at("slot:1"), both->number);
  EXPECT_EQ(storage_->get_n_trials(sid), kKeys + 1);
  EXPECT_THROW(storage_->create_trial_claiming(123456, {"grid:0"}, {}), SearchError);
}

TEST_P(StorageConformance, EachStudyKeyIsClaimedOnce) {
  // Distinct configurations: four workers race for the same 12 keys; each key is won once, with
  // the winner's value, and a key already set (by a claim or set_study_system_attr) is refused.
  const int64_t sid = storage_->create_study(name("k"), {StudyDirection::Minimize});
  std::vector<std::shared_ptr<Storage>> workers = {storage_, another(), another(), storage_};
  std::vector<std::vector<int>> won(workers.size());
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers.size(); ++w)
    threads.emplace_back([&, w] {
      for (int k = 0; k < 12; ++k)
        if (workers[w]->claim_study_key(sid, fmt::format("chop:config:{}:0", k), static_cast<int64_t>(w)))
          won[w].push_back(k);
    });
  for (auto& t : threads) t.join();
  std::map<int, size_t> winner;
  for (size_t w = 0; w < won.size(); ++w)
    for (int k : won[w]) EXPECT_TRUE(winner.emplace(k, w).second) << "key " << k << " won twice";
  ASSERT_EQ(winner.size(), 12u);
  const auto attrs = storage_->get_study_system_attrs(sid);
  for (const auto& [k, w] : winner) EXPECT_EQ(attrs.at(fmt::format("chop:config:{}:0", k)), static_cast<int64_t>(w));
  storage_->set_study_system_attr(sid, "set", 1);
  EXPECT_FALSE(storage_->claim_study_key(sid, "set", 2));
  EXPECT_EQ(storage_->get_study_system_attrs(sid).at("set"), 1);
  EXPECT_EQ(storage_->get_n_trials(sid), 0) << "a claim creates no trial";
  EXPECT_THROW(storage_->claim_study_key(123456, "x", 1), SearchError);
}

TEST_P(StorageConformance, SnapshotsNeverChange) {
  Storage& s = *storage_;
  const int64_t sid = s.create_study(name("s"), {StudyDirection::Minimize});
  const TrialRef ref = s.create_trial(sid);
  const FrozenTrialPtr before = s.get_trial(ref.trial_id);
  const auto all_before = s.get_all_trials(sid, std::nullopt);
  s.set_trial_param(ref.trial_id, "x", 0.5, Distribution::float_range(0, 1));
  s.set_trial_intermediate_value(ref.trial_id, 3, 0.25);
  s.set_trial_user_attr(ref.trial_id, "k", 1);
  EXPECT_TRUE(before->params.empty());
  EXPECT_TRUE(before->intermediate_values.empty());
  EXPECT_TRUE(all_before[0]->user_attrs.empty());
  EXPECT_TRUE(s.set_trial_state_values(ref.trial_id, TrialState::Complete, {1.0}));
  EXPECT_EQ(before->state, TrialState::Running);
  EXPECT_EQ(s.get_trial(ref.trial_id)->state, TrialState::Complete);
  EXPECT_EQ(s.get_trial(ref.trial_id)->params.at("x"), 0.5);
}

TEST_P(StorageConformance, FinishedTrialsAreReadOnly) {
  Storage& s = *storage_;
  const int64_t sid = s.create_study(name("s"), {StudyDirection::Minimize});
  for (TrialState end : {TrialState::Complete, TrialState::Pruned, TrialState::Fail}) {
    const TrialRef ref = s.create_trial(sid);
    s.set_trial_param(ref.trial_id, "x", 0.5, Distribution::float_range(0, 1));
    EXPECT_THROW(s.set_trial_param(ref.trial_id, "x", 1.0, Distribution::int_range(0, 3)),
                 SearchError)
        << "same name, other distribution";
    const std::vector<double> values =
        end == TrialState::Complete ? std::vector<double>{1.0} : std::vector<double>{};
    EXPECT_TRUE(s.set_trial_state_values(ref.trial_id, end, values));
    EXPECT_FALSE(s.set_trial_state_values(ref.trial_id, TrialState::Fail, {}));
    EXPECT_THROW(s.set_trial_param(ref.trial_id, "y", 0.5, Distribution::float_range(0, 1)),
                 SearchError);
    EXPECT_THROW(s.set_trial_intermediate_value(ref.trial_id, 0, 1.0), SearchError);
    EXPECT_THROW(s.set_trial_user_attr(ref.trial_id, "k", 1), SearchError);
    EXPECT_THROW(s.set_trial_system_attr(ref.trial_id, "k", 1), SearchError);
    EXPECT_THROW(s.set_trial_constraints(ref.trial_id, {0.0}), SearchError);
    EXPECT_THROW(s.record_heartbeat(ref.trial_id), SearchError);
    const auto t = s.get_trial(ref.trial_id);
    EXPECT_EQ(t->state, end);
    EXPECT_EQ(t->values, values);
    EXPECT_TRUE(t->datetime_complete.has_value());
  }
  EXPECT_THROW(s.get_trial(987654), SearchError);
  EXPECT_THROW(s.set_trial_user_attr(987654, "k", 1), SearchError);
}

TEST_P(StorageConformance, EverythingRoundTrips) {
  Storage& s = *storage_;
  const int64_t sid =
      s.create_study(name("s"), {StudyDirection::Minimize, StudyDirection::Maximize});
  const TrialRef ref = s.create_trial(sid);
  const std::map<std::string, Distribution> dists = {
      {"x", Distribution::float_range(-1.5, 2.5)},
      {"lr", Distribution::float_range(1e-5, 1e-1, /*log=*/true)},
      {"q", Distribution::float_range(0.0, 1.0, false, 0.25)},
      {"w", Distribution::int_range(2, 8, false, 2)},
      {"n", Distribution::int_range(1, 1024, /*log=*/true)},
      {"act", Distribution::categorical({std::string("relu"), std::string("gelu")})},
      {"bits", Distribution::categorical({int64_t{4}, int64_t{8}, int64_t{16}})},
      {"mix", Distribution::categorical({true, 0.5, std::string("s")})},
  };
  const std::map<std::string, double> internal = {
      {"x", 0.1234567890123}, {"lr", 0.0021867511257002703}, {"q", 0.75}, {"w", 6},
      {"n", 37},              {"act", 1},                   {"bits", 2},  {"mix", 0}};
  for (const auto& [n, d] : dists) s.set_trial_param(ref.trial_id, n, internal.at(n), d);
  s.set_trial_intermediate_value(ref.trial_id, 0, 0.5);
  s.set_trial_intermediate_value(ref.trial_id, 1, 0.25);
  s.set_trial_intermediate_value(ref.trial_id, 1, 0.125);  // same step: replaced
  s.set_trial_intermediate_value(ref.trial_id, 7, INFINITY);
  const nlohmann::json metrics = {{"accuracy", 0.5}, {"loss", 1.2}, {"tags", {"a", "b"}}};
  s.set_trial_user_attr(ref.trial_id, "software_metrics", metrics);
  s.set_trial_user_attr(ref.trial_id, "note", "hello");
  s.set_trial_system_attr(ref.trial_id, "grid_id", 3);
  s.set_trial_constraints(ref.trial_id, {-1.0, 0.5});
  ASSERT_TRUE(s.set_trial_state_values(ref.trial_id, TrialState::Complete, {0.2, -INFINITY}));

  const auto t = s.get_trial(ref.trial_id);
  EXPECT_EQ(t->params, internal);
  EXPECT_EQ(t->distributions, dists);
  EXPECT_EQ(std::get<std::string>(t->param("act")), "gelu");
  EXPECT_EQ(std::get<int64_t>(t->param("bits")), 16);
  EXPECT_EQ(std::get<int64_t>(t->param("w")), 6);
  ASSERT_EQ(t->values.size(), 2u);
  EXPECT_EQ(t->values[0], 0.2);
  EXPECT_EQ(t->values[1], -INFINITY);
  EXPECT_EQ(t->intermediate_values,
            (std::map<int64_t, double>{{0, 0.5}, {1, 0.125}, {7, INFINITY}}));
  EXPECT_EQ(t->user_attrs.at("software_metrics"), metrics);
  EXPECT_EQ(t->user_attrs.at("note"), "hello");
  EXPECT_EQ(t->system_attrs.at("grid_id"), 3);
  EXPECT_EQ(t->constraints, (std::vector<double>{-1.0, 0.5}));
  EXPECT_FALSE(t->feasible());
  ASSERT_TRUE(t->datetime_start && t->datetime_complete);
  EXPECT_LE(*t->datetime_start, *t->datetime_complete);
  EXPECT_LT(std::chrono::abs(Clock::now() - *t->datetime_start), std::chrono::seconds(60));

  // A copy (what retries and imports use) keeps everything but identity.
  const TrialRef copy_ref = s.create_trial_from(sid, *t);
  const auto c = s.get_trial(copy_ref.trial_id);
  EXPECT_EQ(c->number, 1);
  EXPECT_EQ(c->state, TrialState::Complete);
  EXPECT_EQ(c->params, t->params);
  EXPECT_EQ(c->distributions, t->distributions);
  EXPECT_EQ(c->values, t->values);
  EXPECT_EQ(c->intermediate_values, t->intermediate_values);
  EXPECT_EQ(c->user_attrs, t->user_attrs);
  EXPECT_EQ(c->system_attrs, t->system_attrs);
  EXPECT_EQ(c->constraints, t->constraints);
}

TEST_P(StorageConformance, StateFiltersAndCounts) {
  Storage& s = *storage_;
  const int64_t sid = s.create_study(name("s"), {StudyDirection::Minimize});
  const int64_t other = s.create_study(name("other"), {StudyDirection::Minimize});
  s.create_trial(other);
  const std::vector<TrialState> ends = {TrialState::Complete, TrialState::Fail,
                                        TrialState::Complete, TrialState::Pruned,
                                        TrialState::Running};
  for (TrialState end : ends) {
    const TrialRef ref = s.create_trial(sid);
    if (end != TrialState::Running)
      s.set_trial_state_values(ref.trial_id, end,
                               end == TrialState::Complete ? std::vector<double>{1.0}
                                                           : std::vector<double>{});
  }
  FrozenTrial waiting;
  waiting.state = TrialState::Waiting;
  s.create_trial_from(sid, waiting);
  EXPECT_EQ(s.get_n_trials(sid, std::nullopt), 6);
  EXPECT_EQ(s.get_n_trials(sid, TrialState::Complete), 2);
  EXPECT_EQ(s.get_n_trials(sid, TrialState::Waiting), 1);
  EXPECT_EQ(s.get_n_trials(other, std::nullopt), 1);
  const auto done = s.get_all_trials(sid, std::vector{TrialState::Complete, TrialState::Pruned});
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[0]->number, 0);
  EXPECT_EQ(done[1]->number, 2);
  EXPECT_EQ(done[2]->number, 3);
  EXPECT_EQ(s.get_all_trials(sid, std::vector{TrialState::Running}).size(), 1u);
  EXPECT_EQ(s.get_all_trials(sid, std::vector<TrialState>{}).size(), 0u);
  EXPECT_EQ(s.get_all_trials(sid, std::nullopt).size(), 6u);
  EXPECT_THROW(s.get_all_trials(123456, std::nullopt), SearchError);
}

TEST_P(StorageConformance, WaitingTrialsArePoppedOnceEach) {
  Storage& s = *storage_;
  const int64_t sid = s.create_study(name("s"), {StudyDirection::Minimize});
  EXPECT_FALSE(s.pop_waiting_trial(sid).has_value());
  FrozenTrial retry;
  retry.state = TrialState::Waiting;
  retry.params["x"] = 0.25;
  retry.distributions.insert_or_assign("x", Distribution::float_range(0, 1));
  for (int i = 0; i < 6; ++i) s.create_trial_from(sid, retry);
  std::mutex mutex;
  std::set<int64_t> popped;
  std::atomic<int> n_popped{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      while (auto ref = s.pop_waiting_trial(sid)) {
        std::lock_guard<std::mutex> lock(mutex);
        popped.insert(ref->number);
        ++n_popped;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(n_popped.load(), 6);
  EXPECT_EQ(popped, (std::set<int64_t>{0, 1, 2, 3, 4, 5}));
  for (const auto& t : s.get_all_trials(sid, std::nullopt)) {
    EXPECT_EQ(t->state, TrialState::Running);
    EXPECT_EQ(t->params.at("x"), 0.25);
  }
}

TEST_P(StorageConformance, StaleHeartbeatsFailRunningTrials) {
  Storage& s = *storage_;
  const int64_t sid = s.create_study(name("s"), {StudyDirection::Minimize});
  const TrialRef beating = s.create_trial(sid);
  const TrialRef silent = s.create_trial(sid);  // never had a heartbeat: left alone (Optuna)
  const TrialRef done = s.create_trial(sid);
  s.record_heartbeat(beating.trial_id);
  s.record_heartbeat(done.trial_id);
  s.set_trial_state_values(done.trial_id, TrialState::Complete, {1.0});
  EXPECT_TRUE(s.fail_stale_trials(sid, 30.0).empty()) << "fresh heartbeat";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(s.fail_stale_trials(sid, 0.1), std::vector<int64_t>{beating.trial_id});
  EXPECT_TRUE(s.fail_stale_trials(sid, 0.1).empty()) << "each stale trial is failed once";
  EXPECT_EQ(s.get_trial(beating.trial_id)->state, TrialState::Fail);
  EXPECT_TRUE(s.get_trial(beating.trial_id)->datetime_complete.has_value());
  // Its reason is stored with it (Optuna reads both as system attrs).
  EXPECT_EQ(s.get_trial(beating.trial_id)->system_attrs.at(kHeartbeatLostAttr), true);
  EXPECT_EQ(s.get_trial(beating.trial_id)->system_attrs.at("fail_reason"),
            "no heartbeat for more than 0 s: the process running it died (killed, crashed or cut "
            "off from the storage)");
  EXPECT_EQ(s.get_trial(silent.trial_id)->state, TrialState::Running);
  EXPECT_EQ(s.get_trial(done.trial_id)->state, TrialState::Complete);
}

TEST_P(StorageConformance, TrialsOfAHeartbeatStudyAreBornWithAHeartbeat) {
  // A process that dies right after creating a trial (its disk full, say) must not leave a RUNNING
  // trial no heartbeat check can ever fail: with set_first_heartbeat, creation and the first beat
  // are one transaction. The in-memory storage's trials die with their process: nothing to do.
  if (GetParam() == "memory") GTEST_SKIP() << "trials in memory cannot outlive their process";
  Storage& s = *storage_;
  s.set_first_heartbeat(true);
  const int64_t sid = s.create_study(name("s"), {StudyDirection::Minimize});
  const TrialRef created = s.create_trial(sid);
  const auto claimed = s.create_trial_claiming(sid, {"k"}, {});
  ASSERT_TRUE(claimed.has_value());
  FrozenTrial waiting;
  waiting.state = TrialState::Waiting;
  s.create_trial_from(sid, waiting);
  const auto popped = s.pop_waiting_trial(sid);
  ASSERT_TRUE(popped.has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(s.fail_stale_trials(sid, 0.1),
            (std::vector<int64_t>{created.trial_id, claimed->trial_id, popped->trial_id}));
}

TEST_P(StorageConformance, StudyResumesToItsTotal) {
  auto objective = [](Trial& t) {
    const double x = t.suggest_float("x", -2, 2);
    const auto k = t.suggest_int("k", 0, 4);
    t.set_user_attr("metrics", {{"acc", x * x}});
    return std::vector<double>{x * x + static_cast<double>(k)};
  };
  {
    Study study(StudyOptions().with_name(name("s")).with_storage(storage_));
    study.optimize(objective, 12);
    EXPECT_EQ(study.n_complete(), 12);
  }
  StudyOptions again = StudyOptions().with_name(name("s")).with_storage(storage_);
  EXPECT_THROW(Study{again}, SearchError) << "exists and load_if_exists is false";
  Study resumed(again.with_load_if_exists(true));
  OptimizeOptions total;
  total.n_trials = 20;
  total.until_study_total = true;
  total.n_jobs = 2;
  resumed.optimize(objective, total);
  EXPECT_EQ(resumed.n_complete(), 20);
  const auto trials = resumed.trials();
  ASSERT_EQ(trials.size(), 20u);
  for (size_t i = 0; i < trials.size(); ++i) EXPECT_EQ(trials[i]->number, static_cast<int64_t>(i));
  EXPECT_EQ(trials[3]->user_attrs.at("metrics").at("acc"),
            std::pow(std::get<double>(trials[3]->param("x")), 2));
  EXPECT_NO_THROW(resumed.best_trial());
}

TEST_P(StorageConformance, StudyRetriesStaleTrialsWithTheirParams) {
  StudyOptions o = StudyOptions().with_name(name("s")).with_storage(storage_);
  o.sampler = make_sampler("random", 1);
  o.with_heartbeat(0.05, 1.0).with_max_retry(1);  // grace wide enough for a loaded CI machine
  Study study(o);
  Trial dead = study.ask();  // a worker that dies: its heartbeats stop with its Study
  const double x = dead.suggest_float("x", 0, 1);
  // Heartbeats of `study` run for `dead`; another worker sees it alive.
  Study observer(StudyOptions(o).with_load_if_exists(true));
  EXPECT_TRUE(observer.fail_stale_trials().empty());
  study.tell(dead, {x});  // now finished; a new trial of a dead worker:
  const TrialRef orphan = storage_->create_trial(study.study_id());
  storage_->set_trial_param(orphan.trial_id, "x", 0.75, Distribution::float_range(0, 1));
  storage_->record_heartbeat(orphan.trial_id);
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  EXPECT_EQ(observer.fail_stale_trials(), std::vector<int64_t>{orphan.number});
  Trial retried = observer.ask();  // pops the WAITING retry
  EXPECT_EQ(retried.suggest_float("x", 0, 1), 0.75);
  const auto snap = retried.snapshot();
  EXPECT_EQ(snap->system_attrs.at("failed_trial"), orphan.number);
  EXPECT_EQ(snap->system_attrs.at("retry_history"), nlohmann::json::array({orphan.number}));
  observer.tell(retried, {0.75});
  EXPECT_EQ(observer.n_complete(), 2);
}

TEST_P(StorageConformance, AWorkerJudgedDeadDropsItsResultAndGoesOn) {
  if (GetParam() == "memory") GTEST_SKIP() << "trials in memory cannot outlive their process";
  // A worker cut off from the storage for longer than the grace period: its heartbeats (every
  // 100 s here) stop reaching the storage, and another worker fails its trial.
  StudyOptions o = StudyOptions().with_name(name("s")).with_storage(storage_);
  o.sampler = make_sampler("random", 1);
  o.with_heartbeat(100, 0.1);
  Study study(o);
  Trial cut_off = study.ask();
  cut_off.suggest_float("x", 0, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Study observer(StudyOptions(o).with_storage(another()).with_load_if_exists(true));
  ASSERT_EQ(observer.fail_stale_trials(), std::vector<int64_t>{cut_off.number()});
  // Back in touch, the worker's tell() keeps the FAIL (no exception) and the study goes on.
  FrozenTrialPtr told;
  EXPECT_NO_THROW(told = study.tell(cut_off, {0.5}));
  ASSERT_TRUE(told);
  EXPECT_EQ(told->state, TrialState::Fail);
  EXPECT_TRUE(told->values.empty());
  Trial next = study.ask();
  study.tell(next, {next.suggest_float("x", 0, 1)});
  EXPECT_EQ(study.n_complete(), 1);
  // Any other finished trial is still told once.
  EXPECT_THROW(study.tell(next, {0.5}), SearchError);
}

TEST_P(StorageConformance, GridRunsAPointAgainWhenItsWorkerDied) {
  StudyOptions o = StudyOptions().with_name(name("g")).with_storage(storage_);
  o.sampler = make_sampler("grid", 0);
  o.sampler->set_search_space({{"x", Distribution::int_range(0, 2)}});
  o.with_heartbeat(0.05, 0.3);
  Study study(o);
  // Point 0: its worker dies (the trial's heartbeat stops); point 1: its objective fails.
  const TrialRef dead = storage_->create_trial_claiming(study.study_id(), {"grid:0"}, {{"grid_id", 0}}).value();
  storage_->set_trial_param(dead.trial_id, "x", 0, Distribution::int_range(0, 2));
  storage_->record_heartbeat(dead.trial_id);
  Trial failing = study.ask();
  EXPECT_EQ(failing.suggest_int("x", 0, 2), 1);
  study.tell(failing, TrialState::Fail);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(study.fail_stale_trials(), std::vector<int64_t>{dead.number});
  std::vector<int64_t> xs;
  OptimizeOptions run;
  run.n_trials = 10;
  study.optimize([&](Trial& t) {
    xs.push_back(t.suggest_int("x", 0, 2));
    return std::vector<double>{0.0};
  }, run);
  EXPECT_EQ(xs, (std::vector<int64_t>{0, 2})) << "the dead worker's point again, the failed one not";
  EXPECT_EQ(study.n_complete(), 2);
}

INSTANTIATE_TEST_SUITE_P(AllStorages, StorageConformance,
                         ::testing::Values("memory", "sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(StorageUrl, ParsesOptunaStyleUrls) {
  EXPECT_EQ(parse_storage_url("").kind, StorageKind::InMemory);
  const auto rel = parse_storage_url("sqlite:///search_ckpts/study.db");
  EXPECT_EQ(rel.kind, StorageKind::Sqlite);
  EXPECT_EQ(rel.target, "search_ckpts/study.db");
  EXPECT_EQ(parse_storage_url("sqlite:////tmp/x/study.db").target, "/tmp/x/study.db");
  const auto pg = parse_storage_url("postgresql://user@db.example:5432/chop");
  EXPECT_EQ(pg.kind, StorageKind::Postgres);
  EXPECT_EQ(pg.target, "postgresql://user@db.example:5432/chop");
  EXPECT_EQ(parse_storage_url("postgresql+psycopg2://u@h/db").kind, StorageKind::Postgres);
  EXPECT_THROW(parse_storage_url("mysql://u@h/db"), ConfigError);
  EXPECT_THROW(parse_storage_url("sqlite://x.db"), ConfigError);
  EXPECT_THROW(parse_storage_url("sqlite:///"), ConfigError);
  EXPECT_THROW(parse_storage_url("study.db"), ConfigError);
  try {
    parse_storage_url("redis://localhost");
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("sqlite:///"), std::string::npos) << e.what();
  }
  EXPECT_EQ(postgres_url_with_database("postgresql://u@h:1/postgres", "t"),
            "postgresql://u@h:1/t");
  EXPECT_EQ(postgres_url_with_database("postgresql://u@h:1", "t"), "postgresql://u@h:1/t");
}

TEST(StorageUrl, MakeStorageCreatesTheSqliteFileAndItsDirectory) {
  TempDir dir("url");
  const std::string path = dir.file("nested/dir/study.db");
  auto storage = make_storage("sqlite:///" + path);
  storage->create_study("s", {StudyDirection::Minimize});
  EXPECT_TRUE(std::filesystem::exists(path));
  // A second connection sees the same study; the schema is created once.
  auto again = make_storage("sqlite:///" + path);
  EXPECT_EQ(again->get_all_study_names(), std::vector<std::string>{"s"});
  EXPECT_THROW(make_storage("sqlite:///" + dir.file("missing-dir-is-a-file/x.db/")), SearchError);
}

TEST(SqliteStorage, RejectsOtherSchemaVersions) {
  TempDir dir("schema");
  const std::string path = dir.file("old.db");
  { SqliteStorage s(path); }
  {
    auto c = open_sqlite_connection(path);
    c->query("UPDATE version_info SET schema_version = 11");
  }
  EXPECT_THROW(SqliteStorage{path}, SearchError);
}

// The soak's outage phase: a worker asking for stale trials when the server restarted lost its
// connection inside fail_stale_trials, reconnected, and then failed every live worker's trial
// (all heartbeats were older than the grace period, the outage's length). After a reconnect,
// even one inside the call, the other workers get one grace period to reconnect and beat.
TEST(PostgresStorage, AReconnectInsideFailStaleTrialsGivesTheOthersAGracePeriod) {
  const std::string& url = testing::postgres_test_url();
  if (url.empty()) GTEST_SKIP() << "no PostgreSQL server could be started";
  PostgresStorage worker(url), observer(url);
  const int64_t sid = worker.create_study("reconnect-grace", {StudyDirection::Minimize});
  const TrialRef live = worker.create_trial(sid);
  worker.record_heartbeat(live.trial_id);
  EXPECT_TRUE(observer.fail_stale_trials(sid, 30.0).empty());  // the observer is connected
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  // As a restart does, the server drops every connection to the database.
  postgres_execute(testing::postgres_server_url(),
                   fmt::format("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                               "'{}' AND pid <> pg_backend_pid()", testing::postgres_test_database()));
  EXPECT_TRUE(observer.fail_stale_trials(sid, 0.5).empty()) << "failed a trial right after reconnecting";
  EXPECT_EQ(observer.get_trial(live.trial_id)->state, TrialState::Running);
  // A worker that stays silent a grace period after the reconnect is judged dead as before.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(observer.fail_stale_trials(sid, 0.5), std::vector<int64_t>{live.trial_id});
}

TEST(SqliteStorage, DatetimesRoundTrip) {
  const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
  const std::string text = format_datetime(now);
  EXPECT_EQ(text.size(), 26u) << text;
  EXPECT_EQ(parse_datetime(text), Clock::time_point(now));
  EXPECT_TRUE(parse_datetime("2026-11-22 08:20:43").has_value());
  EXPECT_FALSE(parse_datetime("").has_value());
}

}  // namespace
}  // namespace chop::search
