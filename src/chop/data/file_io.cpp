// File helpers for the loaders: whole-file reads through zlib (gzip or plain), gzip writes.
#include "chop/data/file_io.h"

#include <sys/mman.h>
#include <zlib.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "chop/support/error.h"

namespace chop::data {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kChunk = int64_t{1} << 24;  // 16 MiB per gzread call

/// Decompressed size hint: the gzip trailer's ISIZE (size mod 2^32) or the plain file size.
size_t size_hint(const std::string& path) {
  std::error_code ec;
  const auto file_size = fs::file_size(path, ec);
  if (ec) return 0;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return 0;
  unsigned char head[2] = {0, 0};
  size_t hint = static_cast<size_t>(file_size);
  if (std::fread(head, 1, 2, f) == 2 && head[0] == 0x1f && head[1] == 0x8b && file_size >= 18) {
    unsigned char tail[4];
    if (std::fseek(f, -4, SEEK_END) == 0 && std::fread(tail, 1, 4, f) == 4) {
      hint = size_t{tail[0]} | size_t{tail[1]} << 8 | size_t{tail[2]} << 16 |
             size_t{tail[3]} << 24;
      // A corrupt trailer can claim anything; deflate expands at most 1032:1, so no real
      // stream is larger than that (a wrong hint only costs reallocations).
      hint = std::min<size_t>(hint, static_cast<size_t>(file_size) * 1032);
    }
  }
  std::fclose(f);
  return hint;
}

}  // namespace

void* allocate_populated(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                 -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

void free_populated(void* p, size_t bytes) noexcept {
  if (p != nullptr) munmap(p, bytes);
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

bool dir_exists(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

ByteBuffer read_file_bytes(const std::string& path) {
  CHOP_CHECK(file_exists(path), DataError, "{}: file not found", path);
  gzFile gz = gzopen(path.c_str(), "rb");
  CHOP_CHECK(gz != nullptr, DataError, "{}: cannot open file", path);
  gzbuffer(gz, 1 << 20);
  ByteBuffer bytes;
  // A corrupt trailer can claim anything; cap the reservation, growth handles the rest.
  bytes.resize(std::min<size_t>(size_hint(path), size_t{1} << 32) + 1);
  size_t used = 0;
  while (true) {
    if (used == bytes.size()) bytes.resize(bytes.size() * 2 + kChunk);
    const auto want = static_cast<unsigned>(std::min<size_t>(bytes.size() - used, kChunk));
    const int got = gzread(gz, bytes.data() + used, want);
    if (got <= 0) break;
    used += static_cast<size_t>(got);
  }
  int errnum = Z_OK;
  const char* message = gzerror(gz, &errnum);
  const std::string why = message ? message : "";
  gzclose(gz);
  CHOP_CHECK(errnum != Z_BUF_ERROR, DataError,
             "{}: truncated gzip stream (unexpected end of file after {} bytes)", path, used);
  CHOP_CHECK(errnum == Z_OK, DataError, "{}: corrupt gzip stream ({})", path, why);
  bytes.resize(used);
  return bytes;
}

void write_file_bytes(const std::string& path, const std::vector<uint8_t>& bytes, bool gzip) {
  if (!gzip) {
    std::ofstream out(path, std::ios::binary);
    CHOP_CHECK(out.good(), DataError, "{}: cannot open for writing", path);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    CHOP_CHECK(out.good(), DataError, "{}: write failed", path);
    return;
  }
  gzFile gz = gzopen(path.c_str(), "wb6");
  CHOP_CHECK(gz != nullptr, DataError, "{}: cannot open for writing", path);
  size_t done = 0;
  while (done < bytes.size()) {
    const auto n = static_cast<unsigned>(std::min<size_t>(bytes.size() - done, kChunk));
    const int wrote = gzwrite(gz, bytes.data() + done, n);
    if (wrote <= 0) {
      gzclose(gz);
      CHOP_CHECK(false, DataError, "{}: gzip write failed", path);
    }
    done += static_cast<size_t>(wrote);
  }
  CHOP_CHECK(gzclose(gz) == Z_OK, DataError, "{}: gzip write failed on close", path);
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  CHOP_CHECK(out.good(), DataError, "{}: cannot open for writing", path);
  out << text;
  CHOP_CHECK(out.good(), DataError, "{}: write failed", path);
}

void make_dirs(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  CHOP_CHECK(!ec && dir_exists(dir), DataError, "{}: cannot create directory ({})", dir,
             ec.message());
}

}  // namespace chop::data
