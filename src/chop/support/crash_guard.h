// CrashGuard: one clear line instead of a core dump when a library crashes on a corrupt file.
#pragma once

#include <string>

namespace chop {

/// While alive, SIGSEGV / SIGBUS / SIGFPE / SIGILL print "chop: error: <what>: the library crashed
/// (a corrupt file?)" and exit 1. For calls into libraries known to crash on corrupt input instead
/// of reporting it (LibTorch 1.13's torch::jit::load, HDF5 1.10.8's H5Dopen2:
/// tests/fuzz/known/README.md); everything else in chop reports bad input itself. Guards may
/// nest; the outermost message is printed. With CHOP_NO_CRASH_GUARD set in the environment it
/// does nothing (tests/fuzz/run.sh sets it, so libFuzzer sees the crash; a core dump for
/// debugging).
class CrashGuard {
 public:
  explicit CrashGuard(const std::string& what);
  ~CrashGuard();
  CrashGuard(const CrashGuard&) = delete;
  CrashGuard& operator=(const CrashGuard&) = delete;
};

}  // namespace chop
