// parallel_for_each and HelperThread: every job once, errors and stops.
#include "chop/support/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace chop {
namespace {

TEST(Parallel, EveryJobRunsOnceOnSeveralThreads) {
  std::vector<std::atomic<int>> runs(1000);
  std::mutex mutex;
  std::set<std::thread::id> threads;
  parallel_for_each(1000, 3, [&](int64_t i) {
    ++runs[static_cast<size_t>(i)];
    std::lock_guard<std::mutex> lock(mutex);
    threads.insert(std::this_thread::get_id());
  });
  for (const auto& r : runs) EXPECT_EQ(r.load(), 1);
  EXPECT_GE(threads.size(), 1u);
  EXPECT_LE(threads.size(), 3u);
  int64_t n = 0;
  parallel_for_each(0, 4, [&](int64_t) { ++n; });  // no jobs: nothing runs
  EXPECT_EQ(n, 0);
}

TEST(Parallel, AThrownErrorStopsNewJobsAndIsRethrown) {
  // On one thread, the jobs after the failing one never start.
  int64_t started_alone = 0;
  EXPECT_THROW(parallel_for_each(1000, 1, [&](int64_t i) {
    ++started_alone;
    if (i == 5) throw std::runtime_error("job 5 failed");
  }), std::runtime_error);
  EXPECT_EQ(started_alone, 6);
  // On two threads, the other thread stops after the job it had started. Every job but the
  // failing one takes 1 ms, so the other thread would need a second to run them all: the
  // check does not depend on how fast the failing thread unwinds (trivial jobs made the other
  // thread finish all 10000 before the throw was caught on a loaded 2-core CI machine).
  std::atomic<int64_t> started{0};
  EXPECT_THROW(parallel_for_each(1000, 2, [&](int64_t i) {
    ++started;
    if (i == 5) throw std::runtime_error("job 5 failed");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }), std::runtime_error);
  EXPECT_LT(started.load(), 500);
  std::atomic<int64_t> after_stop{0};
  parallel_for_each(100, 2, [&](int64_t) { ++after_stop; }, [&] { return after_stop.load() >= 10; });
  EXPECT_GE(after_stop.load(), 10);
  EXPECT_LE(after_stop.load(), 11);  // the job another thread had started may finish
}

TEST(Parallel, HelperThreadRunsOneTaskAtATimeAndRethrows) {
  HelperThread helper;
  int64_t sum = 0;
  for (int64_t k = 1; k <= 100; ++k) {
    helper.start([&sum, k] { sum += k; });
    helper.wait();
  }
  EXPECT_EQ(sum, 5050);
  helper.start([] { throw std::runtime_error("task failed"); });
  EXPECT_THROW(helper.wait(), std::runtime_error);
  helper.start([&sum] { sum = 0; });  // still usable after an error
  helper.wait();
  EXPECT_EQ(sum, 0);
}

}  // namespace
}  // namespace chop
