// Helpers shared by the fuzz targets: a per-process scratch directory in /dev/shm (removed at
// exit) and writing the fuzz input there as a file, for readers that take a path.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "chop/support/error.h"

namespace chop::fuzz {

/// Runs one input: a chop::Error (bad input, reported clearly) is the expected outcome and is
/// swallowed; anything else escaping (a library's exception, std::bad_alloc) is a finding.
template <typename Fn>
int expect_clear_errors(Fn&& run) {
  try {
    run();
  } catch (const chop::Error&) {
  }
  return 0;
}

/// /dev/shm/chop-fuzz-<pid>/ (or $TMPDIR's when /dev/shm is missing), created on first use.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    namespace fs = std::filesystem;
    fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    fs::path d = base / ("chop-fuzz-" + std::to_string(getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    static const std::string keep = d.string();
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(keep, ec);
    });
    return d.string();
  }();
  return dir;
}

/// scratch_dir()/name.
inline std::string scratch_path(const std::string& name) { return scratch_dir() + "/" + name; }

/// Writes size bytes to scratch_dir()/name (truncating) and returns the path.
inline std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_path(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) std::abort();  // the scratch directory is ours: failing to write is a harness bug
  return path;
}

}  // namespace chop::fuzz
