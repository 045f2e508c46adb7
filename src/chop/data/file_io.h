// File helpers for the loaders: whole-file reads through zlib (gzip or plain), gzip writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

namespace chop::data {

/// Buffers at least this large are mapped pre-faulted (see allocate_populated).
inline constexpr size_t kPopulateThreshold = size_t{1} << 20;

/// bytes of zeroed memory mapped with every page faulted in by one system call (mmap with
/// MAP_POPULATE). Faulting fresh pages one at a time costs ~10 us per 4 KiB page on the VMs we
/// run on (0.5 s for the Fashion-MNIST training set as floats); pre-faulting costs ~0.04 s.
/// Throws std::bad_alloc when the mapping fails. Release with free_populated(p, bytes).
void* allocate_populated(size_t bytes);
void free_populated(void* p, size_t bytes) noexcept;

/// std::allocator that takes large blocks from allocate_populated.
template <class T>
struct PopulatedAllocator {
  using value_type = T;
  PopulatedAllocator() = default;
  template <class U>
  PopulatedAllocator(const PopulatedAllocator<U>&) {}
  T* allocate(size_t n) {
    if (n * sizeof(T) < kPopulateThreshold) return static_cast<T*>(::operator new(n * sizeof(T)));
    return static_cast<T*>(allocate_populated(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n * sizeof(T) < kPopulateThreshold) return ::operator delete(p);
    free_populated(p, n * sizeof(T));
  }
  template <class U>
  bool operator==(const PopulatedAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const PopulatedAllocator<U>&) const { return false; }
};

/// A byte buffer whose large blocks are pre-faulted.
using ByteBuffer = std::vector<uint8_t, PopulatedAllocator<uint8_t>>;

/// True when path names an existing regular file.
bool file_exists(const std::string& path);

/// True when path names an existing directory.
bool dir_exists(const std::string& path);

/// path joined to name with one '/'.
std::string join_path(const std::string& dir, const std::string& name);

/// The whole decompressed content of a gzip file, or the content of a plain file (zlib reads
/// both). Throws DataError naming the file when it is missing or the gzip stream is corrupt
/// or truncated.
ByteBuffer read_file_bytes(const std::string& path);

/// Writes bytes to path, gzip-compressed when gzip is true. Throws DataError on failure.
void write_file_bytes(const std::string& path, const std::vector<uint8_t>& bytes, bool gzip);

/// Writes text to path (plain). Throws DataError on failure.
void write_text_file(const std::string& path, const std::string& text);

/// Creates dir and its parents; throws DataError on failure.
void make_dirs(const std::string& dir);

}  // namespace chop::data
