// Files written whole, and the temporaries a killed writer leaves removed.
#include "chop/support/files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace chop {
namespace {

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

TEST(Files, StaleTemporariesOfDeadWritersAreRemovedLiveOnesKept) {
  const fs::path dir = fs::temp_directory_path() / ("chop_files_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "trials");
  const pid_t child = ::fork();  // a process that has ended: its pid names no writer
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  const std::string dead = std::to_string(child), live = std::to_string(::getpid());
  touch(dir / ("log.json.tmp." + dead + ".123"));
  touch(dir / "trials" / ("trial_0.ckpt.tmp." + dead + ".9"));
  touch(dir / ("best.json.tmp." + live + ".5"));  // a running writer's (this process)
  touch(dir / "log.json");
  touch(dir / "notes.tmp.txt");  // not a temporary of ours
  EXPECT_EQ(remove_stale_temporaries(dir.string()), 2);
  EXPECT_FALSE(fs::exists(dir / ("log.json.tmp." + dead + ".123")));
  EXPECT_FALSE(fs::exists(dir / "trials" / ("trial_0.ckpt.tmp." + dead + ".9")));
  EXPECT_TRUE(fs::exists(dir / ("best.json.tmp." + live + ".5")));
  EXPECT_TRUE(fs::exists(dir / "log.json"));
  EXPECT_TRUE(fs::exists(dir / "notes.tmp.txt"));
  EXPECT_EQ(remove_stale_temporaries((dir / "missing").string()), 0);
  write_file_atomically((dir / "a.json").string(), "{}");
  std::ifstream in(dir / "a.json");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "{}");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace chop
