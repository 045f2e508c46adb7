// Fuzz target `storage_url`: search::parse_storage_url, as `chop search|report --storage URL`
// reads it. Parsing only: no server is contacted and no file is created; URLs that name an
// in-memory storage (memory, sqlite:///:memory:) are also opened with make_storage.
#include <cstdint>
#include <string>

#include "chop/search/storage/storage_url.h"
#include "chop/support/error.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string url(reinterpret_cast<const char*>(data), size);
  return chop::fuzz::expect_clear_errors([&] {
    const chop::search::StorageUrl parsed = chop::search::parse_storage_url(url);
    const bool in_memory = parsed.kind == chop::search::StorageKind::InMemory ||
                           (parsed.kind == chop::search::StorageKind::Sqlite && parsed.target == ":memory:");
    if (in_memory) (void)chop::search::make_storage(url);
  });
}
