// Files written whole or not at all.
#include "chop/support/files.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>
#include <vector>

#include <signal.h>
#include <unistd.h>

#include "chop/support/error.h"

namespace chop {
namespace {

/// A temporary file is named <path><kTemporaryInfix><pid>.<thread>.
constexpr const char* kTemporaryInfix = ".tmp.";

}  // namespace

void write_file_atomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  // A name of its own per process and thread: several workers may write the same file.
  std::string tmp = path + kTemporaryInfix + std::to_string(::getpid()) + "." +
                    std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  bool written = false;
  {
    std::ofstream out(tmp, std::ios::binary);
    if (out) {
      out << text;
      out.close();
      written = static_cast<bool>(out);
    }
  }
  if (written) fs::rename(tmp, p, ec);
  if (!written || ec) {
    const std::string why = written ? ec.message() : std::strerror(errno);
    std::error_code ignored;
    fs::remove(tmp, ignored);  // never a half-written file beside the old one
    throw DataError(fmt::format("cannot write '{}': {}", path, why));
  }
}

int remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  std::vector<fs::path> stale;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    // <name>.tmp.<pid>.<thread>, as write_file_atomically names them: the writer's pid.
    const std::string name = it->path().filename().string();
    const size_t at = name.rfind(kTemporaryInfix);
    if (at == std::string::npos || !it->is_regular_file(ec)) continue;
    const std::string rest = name.substr(at + std::strlen(kTemporaryInfix));
    const size_t dot = rest.find('.');
    const std::string pid_text = rest.substr(0, dot);
    if (pid_text.empty() || dot == std::string::npos ||
        pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9)
      continue;
    const auto pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(it->path());
  }
  int removed = 0;
  for (const auto& p : stale) removed += fs::remove(p, ec) ? 1 : 0;
  return removed;
}

}  // namespace chop
