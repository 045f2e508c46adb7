// Independent jobs on a few threads.
#include "chop/support/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "chop/support/error.h"

namespace chop {

void parallel_for_each(int64_t n, int threads, const std::function<void(int64_t)>& job,
                       const std::function<bool()>& stop) {
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::exception_ptr first;
  auto worker = [&] {
    for (;;) {
      if (failed || (stop && stop())) return;
      const int64_t i = next.fetch_add(1);
      if (i >= n) return;
      try {
        job(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!first) first = std::current_exception();
        failed = true;
        return;
      }
    }
  };
  const int64_t extra = std::min<int64_t>(std::max(threads, 1), n) - 1;
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < extra; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (first) std::rethrow_exception(first);
}

HelperThread::HelperThread() : thread_([this] {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return busy_ || quit_; });
    if (quit_) return;
    lock.unlock();
    std::exception_ptr error;
    try {
      task_();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    error_ = error;
    busy_ = false;
    cv_.notify_all();
  }
}) {}

HelperThread::~HelperThread() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return !busy_; });
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void HelperThread::start(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mutex_);
  CHOP_ASSERT(!busy_, "HelperThread::start while a task runs");
  task_ = std::move(task);
  busy_ = true;
  cv_.notify_all();
}

void HelperThread::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [this] { return !busy_; });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

}  // namespace chop
