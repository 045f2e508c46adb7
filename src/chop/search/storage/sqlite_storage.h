// SqliteStorage: Optuna-compatible study storage in one SQLite file (WAL mode, busy timeout).
#pragma once

#include "chop/search/storage/rdb_storage.h"

namespace chop::search {

/// Options of a SQLite connection.
struct SqliteOptions {
  /// How long a writer waits for another process's write lock before the transaction is retried.
  double busy_timeout_seconds = 60.0;
};

/// Opens (creating it and its parent directories if needed) the SQLite database at `path`, in WAL
/// mode with synchronous=NORMAL and a busy timeout. ":memory:" gives a private in-memory database.
/// SearchError when the file cannot be opened.
std::unique_ptr<SqlConnection> open_sqlite_connection(const std::string& path,
                                                      const SqliteOptions& options = {});

/// RdbStorage over one SQLite file: the embedded default (`sqlite:///search_ckpts/study.db`).
/// Several processes on one machine may share the file; every state change is one
/// BEGIN IMMEDIATE transaction, and busy conflicts wait (busy timeout) and are retried.
class SqliteStorage : public RdbStorage {
 public:
  explicit SqliteStorage(const std::string& path, const SqliteOptions& options = {})
      : RdbStorage(open_sqlite_connection(path, options)) {}
};

}  // namespace chop::search
