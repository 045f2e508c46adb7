// Files written whole or not at all.
#include "chop/support/files.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <unistd.h>

#include "chop/support/error.h"

namespace chop {

void write_file_atomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  // A name of its own per process and thread: several workers may write the same file.
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  {
    std::ofstream out(tmp, std::ios::binary);
    CHOP_CHECK(out, DataError, "cannot write '{}'", path);
    out << text;
    out.flush();
    CHOP_CHECK(out, DataError, "cannot write '{}' (disk full?)", path);
  }
  fs::rename(tmp, p, ec);
  CHOP_CHECK(!ec, DataError, "cannot write '{}': {}", path, ec.message());
}

}  // namespace chop
