// Storage URLs: sqlite:///path.db, postgresql://user@host:port/db, and make_storage(url).
#pragma once

#include "chop/search/storage/storage.h"

#include <memory>
#include <string>

namespace chop::search {

enum class StorageKind { InMemory, Sqlite, Postgres };

/// A parsed storage URL.
struct StorageUrl {
  StorageKind kind = StorageKind::InMemory;
  /// SQLite: the file path ("relative/x.db", "/abs/x.db" or ":memory:"); PostgreSQL: the URL as
  /// libpq takes it; in-memory: "".
  std::string target;
};

/// Parses a storage URL, as Optuna/SQLAlchemy spell them:
///   "" or "memory"                          -> InMemoryStorage
///   sqlite:///relative/path.db              -> SQLite file relative to the working directory
///   sqlite:////abs/path.db                  -> SQLite file at /abs/path.db
///   postgresql://user[:pw]@host[:port]/db   -> PostgreSQL (also postgres://, postgresql+driver://)
/// ConfigError for any other scheme or an empty path.
StorageUrl parse_storage_url(const std::string& url);

/// The storage a URL names (opens the file or connects). ConfigError for a bad URL, SearchError
/// when the database cannot be opened.
std::shared_ptr<Storage> make_storage(const std::string& url);

/// The embedded default storage of `chop search`.
inline constexpr const char* kDefaultStorageUrl = "sqlite:///search_ckpts/study.db";

}  // namespace chop::search
