// SqlConnection: the small database abstraction under RdbStorage (one SQLite or libpq connection).
#pragma once

#include "chop/support/error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace chop::search {

/// A SQL value: NULL, integer, double or text.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;

/// One result row. Accessors convert where the backend returns text (libpq's text format).
struct SqlRow {
  std::vector<SqlValue> cells;

  bool is_null(size_t i) const { return std::holds_alternative<std::monostate>(cells.at(i)); }
  int64_t as_int(size_t i) const;
  /// NULL gives nullopt.
  std::optional<double> as_double(size_t i) const;
  /// NULL gives "".
  std::string as_text(size_t i) const;
};
using SqlRows = std::vector<SqlRow>;

enum class SqlDialect { Sqlite, Postgres };

/// Thrown by a connection for a transient conflict (SQLite busy/locked after the busy timeout,
/// PostgreSQL serialization failure or deadlock): the whole transaction may be retried.
class SqlRetryableError : public SearchError {
 public:
  using SearchError::SearchError;
};

/// Thrown by a connection whose link to the database server broke (server stopped or restarted,
/// network down): RdbStorage reconnects with back-off and retries the whole transaction.
class SqlConnectionLost : public SearchError {
 public:
  using SearchError::SearchError;
};

/// One database connection; not thread-safe (RdbStorage serializes calls with its mutex).
/// SQL is written once with `?` placeholders; a backend rewrites them as it needs.
class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual SqlDialect dialect() const = 0;
  /// Runs one statement with `?` placeholders bound to `params`; returns its rows (if any).
  /// SqlRetryableError for a transient conflict, SearchError for anything else.
  virtual SqlRows query(const std::string& sql, const std::vector<SqlValue>& params = {}) = 0;
  /// Starts a transaction. A write transaction takes the database's write lock up front
  /// (SQLite BEGIN IMMEDIATE), so it never fails half-way on lock upgrade.
  virtual void begin(bool write) = 0;
  virtual void commit() = 0;
  /// Never throws (used while unwinding).
  virtual void rollback() noexcept = 0;
  /// After SqlConnectionLost: one attempt to connect again; true when the connection works.
  virtual bool reconnect() noexcept { return false; }
  /// Where the connection goes, for messages ("PostgreSQL at host:port/db").
  virtual std::string where() const = 0;
  /// SQL expression of the database clock as Optuna stores DATETIME ("YYYY-MM-DD HH:MM:SS.ffffff").
  virtual std::string now_sql() const = 0;
  /// SQL expression of the database clock `seconds` ago.
  virtual std::string now_minus_sql(double seconds) const = 0;
  /// Suffix that locks the selected rows until commit ("" where BEGIN already locks).
  virtual std::string for_update_sql() const = 0;
  /// Creates Optuna's tables (schema version 12) unless they exist; checks the version otherwise.
  /// Runs its own transaction, safe against other processes doing the same.
  virtual void ensure_schema() = 0;
};

/// Optuna's schema version and alembic revision written by Optuna 3.0 / 3.1.
inline constexpr int64_t kOptunaSchemaVersion = 12;
inline constexpr const char* kOptunaAlembicVersion = "v3.0.0.d";
inline constexpr const char* kOptunaLibraryVersion = "3.1.0";

/// Writes the version rows Optuna 3.1 puts into the schema it creates (inside the caller's
/// transaction, right after the tables).
inline void write_optuna_version_rows(SqlConnection& c) {
  c.query("INSERT INTO version_info (version_info_id, schema_version, library_version) "
          "VALUES (1, ?, ?)",
          {kOptunaSchemaVersion, std::string(kOptunaLibraryVersion)});
  c.query("INSERT INTO alembic_version (version_num) VALUES (?)",
          {std::string(kOptunaAlembicVersion)});
}

}  // namespace chop::search
