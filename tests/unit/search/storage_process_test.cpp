// Several worker processes on one study (SQLite file, PostgreSQL), and a worker killed with -9.
#include "chop/search/storage/storage_url.h"
#include "chop/search/study.h"
#include "storage_test_support.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

namespace chop::search {
namespace {

using testing::run_command;
using testing::TempDir;

/// URL of a fresh store of `kind` ("sqlite" or "postgres"); "" to skip.
std::string store_url(const std::string& kind, const TempDir& dir) {
  if (kind == "sqlite") return "sqlite:///" + dir.file("study.db");
  return testing::postgres_test_url();
}

class WorkerProcesses : public ::testing::TestWithParam<std::string> {};

TEST_P(WorkerProcesses, FourWorkersShareOneStudyWithoutLosingTrials) {
  TempDir dir("workers");
  const std::string url = store_url(GetParam(), dir);
  if (url.empty()) GTEST_SKIP() << "no PostgreSQL server could be started";
  const std::string study = "four-workers";
  std::string script = "fail=0; pids=''; ";
  for (int w = 0; w < 4; ++w) {
    script += fmt::format("'{}' '{}' {} 10 --seed {} --sleep-ms 2 --heartbeat 0.5 --grace 10 2>>'{}' & pids=\"$pids $!\"; ",
                          CHOP_SEARCH_WORKER, url, study, w, dir.file("errors.txt"));
  }
  script += "for p in $pids; do wait $p || fail=1; done; exit $fail";
  const auto [rc, out] = run_command("bash -c '" + [&] {
    std::string escaped;
    for (char c : script) escaped += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return escaped;
  }() + "'");
  std::ifstream errors(dir.file("errors.txt"));
  const std::string error_text((std::istreambuf_iterator<char>(errors)), {});
  ASSERT_EQ(rc, 0) << error_text;
  EXPECT_EQ(error_text.find("locked"), std::string::npos) << error_text;

  auto storage = make_storage(url);
  const auto trials = storage->get_all_trials(storage->get_study_id(study), std::nullopt);
  ASSERT_EQ(trials.size(), 40u);
  std::set<int64_t> numbers, pids;
  for (const auto& t : trials) {
    numbers.insert(t->number);
    EXPECT_EQ(t->state, TrialState::Complete) << t->number;
    pids.insert(t->user_attrs.at("pid").get<int64_t>());
  }
  EXPECT_EQ(numbers.size(), 40u);
  EXPECT_EQ(*numbers.rbegin(), 39);
  EXPECT_EQ(pids.size(), 4u);
}

TEST_P(WorkerProcesses, KilledWorkerTrialFailsAndResumeReachesTheTotal) {
  TempDir dir("kill");
  const std::string url = store_url(GetParam(), dir);
  if (url.empty()) GTEST_SKIP() << "no PostgreSQL server could be started";
  const std::string study = "killed";
  const std::string marker = dir.file("hung");
  // The 4th trial hangs; the worker is killed -9 while it is RUNNING and heartbeating.
  const auto [rc, pid_text] = run_command(fmt::format(
      "'{}' '{}' {} 8 --heartbeat 0.2 --grace 1 --hang-at 4 --marker '{}' >/dev/null 2>&1 & echo $!",
      CHOP_SEARCH_WORKER, url, study, marker));
  ASSERT_EQ(rc, 0);
  const int pid = std::stoi(pid_text);
  for (int i = 0; i < 300 && !std::filesystem::exists(marker); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(std::filesystem::exists(marker)) << "the worker never reached its 4th trial";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few heartbeats
  ASSERT_EQ(run_command(fmt::format("kill -9 {}; while kill -0 {} 2>/dev/null; do sleep 0.05; done",
                                    pid, pid)).first,
            0);
  int64_t hung_number = -1;
  std::ifstream(marker) >> hung_number;
  {
    auto storage = make_storage(url);
    const auto t = storage->get_all_trials(storage->get_study_id(study), std::nullopt);
    ASSERT_EQ(t.size(), 4u);
    EXPECT_EQ(t[static_cast<size_t>(hung_number)]->state, TrialState::Running);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // past the grace period
  const auto [rc2, out2] = run_command(fmt::format(
      "'{}' '{}' {} 8 --total --heartbeat 0.2 --grace 1 2>&1", CHOP_SEARCH_WORKER, url, study));
  ASSERT_EQ(rc2, 0) << out2;

  auto storage = make_storage(url);
  const int64_t sid = storage->get_study_id(study);
  const auto trials = storage->get_all_trials(sid, std::nullopt);
  EXPECT_EQ(trials[static_cast<size_t>(hung_number)]->state, TrialState::Fail);
  EXPECT_EQ(storage->get_n_trials(sid, TrialState::Complete), 8);
  EXPECT_EQ(storage->get_n_trials(sid, TrialState::Running), 0);
  EXPECT_EQ(trials.size(), 9u) << "3 kept + 1 dead + 5 new";
  for (size_t i = 0; i < trials.size(); ++i) EXPECT_EQ(trials[i]->number, static_cast<int64_t>(i));
}

INSTANTIATE_TEST_SUITE_P(SharedStores, WorkerProcesses, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace chop::search
