// Storage URLs: sqlite:///path.db, postgresql://user@host:port/db, and make_storage(url).
#include "chop/search/storage/storage_url.h"

#include "chop/search/storage/in_memory_storage.h"
#include "chop/search/storage/postgres_storage.h"
#include "chop/search/storage/sqlite_storage.h"
#include "chop/support/error.h"

namespace chop::search {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

const char* const kSupported =
    "use sqlite:///relative/path.db, sqlite:////absolute/path.db or "
    "postgresql://user@host:port/database";

}  // namespace

StorageUrl parse_storage_url(const std::string& url) {
  if (url.empty() || url == "memory" || url == "inmemory") return {StorageKind::InMemory, ""};
  if (starts_with(url, "sqlite:///")) {
    const std::string path = url.substr(std::string("sqlite:///").size());
    CHOP_CHECK(!path.empty(), ConfigError, "storage URL '{}' has no file path; {}", url,
               kSupported);
    return {StorageKind::Sqlite, path};
  }
  const auto scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  const std::string base_scheme = scheme.substr(0, scheme.find('+'));
  if (base_scheme == "postgresql" || base_scheme == "postgres") {
    CHOP_CHECK(url.size() > scheme_end + 3, ConfigError, "storage URL '{}' names no server; {}",
               url, kSupported);
    return {StorageKind::Postgres, url};
  }
  CHOP_CHECK(!starts_with(url, "sqlite:"), ConfigError,
             "storage URL '{}' is not a SQLite URL of the form sqlite:///path.db (three slashes "
             "before a relative path, four before an absolute one)",
             url);
  throw ConfigError(fmt::format("unsupported storage URL '{}' (scheme '{}'); {}", url,
                                scheme.empty() ? url : scheme, kSupported));
}

std::shared_ptr<Storage> make_storage(const std::string& url) {
  const StorageUrl parsed = parse_storage_url(url);
  switch (parsed.kind) {
    case StorageKind::InMemory: return std::make_shared<InMemoryStorage>();
    case StorageKind::Sqlite: return std::make_shared<SqliteStorage>(parsed.target);
    case StorageKind::Postgres: return std::make_shared<PostgresStorage>(parsed.target);
  }
  CHOP_ASSERT(false, "unhandled storage kind");
  return nullptr;
}

}  // namespace chop::search
