// Files written whole or not at all.
#include "chop/support/files.h"

#include <cerrno>
#include <cstring>
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

}  // namespace chop
