// Independent jobs on a few threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace chop {

/// Runs job(i) for every i in [0, n) on up to `threads` threads (the calling thread is one of
/// them); jobs start in increasing i. Once `stop` (optional, polled before each job) returns
/// true or a job throws, no further job starts; the first exception is rethrown after every
/// started job has ended. Jobs must not depend on each other's order.
void parallel_for_each(int64_t n, int threads, const std::function<void(int64_t)>& job,
                       const std::function<bool()>& stop = {});

/// One thread that runs a task at a time beside its owner: start(task), then wait() for it
/// (which rethrows what the task threw). For work split across two threads at every step of a
/// loop, without creating a thread per step.
class HelperThread {
 public:
  HelperThread();
  ~HelperThread();
  HelperThread(const HelperThread&) = delete;
  HelperThread& operator=(const HelperThread&) = delete;
  void start(std::function<void()> task);
  void wait();

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::function<void()> task_;
  bool busy_ = false, quit_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace chop
