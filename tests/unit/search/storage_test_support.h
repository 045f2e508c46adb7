// Test support for storages: temp dirs, a throwaway PostgreSQL database, running shell commands.
#pragma once

#include "chop/search/storage/postgres_storage.h"

#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

namespace chop::search::testing {

/// A fresh directory under the system temp dir, removed at destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("chop-{}-{}-{}", tag, ::getpid(), counter++);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// Output (stdout) of a shell command, and its exit status.
inline std::pair<int, std::string> run_command(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// URL of the server's maintenance database: $CHOP_TEST_POSTGRES_URL, else the cluster that
/// scripts/start-postgres starts (or finds) on loopback; "" when none can be had.
inline const std::string& postgres_server_url() {
  static const std::string url = [] {
    if (const char* env = std::getenv("CHOP_TEST_POSTGRES_URL")) return std::string(env);
    auto [rc, out] = run_command(fmt::format("bash {}/scripts/start-postgres 2>/dev/null",
                                             CHOP_SOURCE_DIR));
    if (rc != 0) return std::string();
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    const auto nl = out.rfind('\n');
    return nl == std::string::npos ? out : out.substr(nl + 1);
  }();
  return url;
}

/// The name of this process's own database on the test server (postgres_test_url's).
inline std::string postgres_test_database() { return fmt::format("chop_test_{}", ::getpid()); }

/// A database of its own on the test server for this process, dropped at exit; "" when there is
/// no server (tests then skip).
inline const std::string& postgres_test_url() {
  struct Database {
    std::string admin_url;
    std::string name;
    std::string url;
    ~Database() {
      if (url.empty()) return;
      try {
        postgres_execute(admin_url, fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name));
      } catch (...) {
      }
    }
  };
  static Database db;
  static const bool created = [] {
    db.admin_url = postgres_server_url();
    if (db.admin_url.empty()) return false;
    db.name = postgres_test_database();
    try {
      postgres_execute(db.admin_url, fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name));
      postgres_execute(db.admin_url, fmt::format("CREATE DATABASE {}", db.name));
      db.url = postgres_url_with_database(db.admin_url, db.name);
    } catch (const std::exception&) {
      db.url.clear();
    }
    return !db.url.empty();
  }();
  (void)created;
  return db.url;
}

}  // namespace chop::search::testing
