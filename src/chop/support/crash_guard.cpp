#include "chop/support/crash_guard.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace chop {
namespace {

constexpr int kSignals[4] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
char g_message[1024];
std::atomic<size_t> g_length{0};
std::mutex g_mutex;
int g_depth = 0;
struct sigaction g_previous[4];

void on_crash(int) {
  // Async-signal-safe only: write and _exit.
  const ssize_t ignored = ::write(STDERR_FILENO, g_message, g_length.load());
  (void)ignored;
  ::_exit(1);
}

bool enabled() {
  static const bool on = std::getenv("CHOP_NO_CRASH_GUARD") == nullptr;
  return on;
}

}  // namespace

CrashGuard::CrashGuard(const std::string& what) {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_depth++ > 0) return;
  const std::string text = "chop: error: " + what + ": the library reading it crashed (a corrupt file?)\n";
  const size_t n = std::min(text.size(), sizeof g_message);
  std::memcpy(g_message, text.data(), n);
  g_length = n;
  struct sigaction action {};
  action.sa_handler = on_crash;
  sigemptyset(&action.sa_mask);
  for (int i = 0; i < 4; ++i) sigaction(kSignals[i], &action, &g_previous[i]);
}

CrashGuard::~CrashGuard() {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (--g_depth > 0) return;
  for (int i = 0; i < 4; ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
}

}  // namespace chop
