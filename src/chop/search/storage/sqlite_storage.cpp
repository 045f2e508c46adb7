// SqliteStorage: Optuna-compatible study storage in one SQLite file (WAL mode, busy timeout).
#include "chop/search/storage/sqlite_storage.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>
#include <unordered_map>

namespace chop::search {
namespace {

// Optuna 3.1's tables for SQLite, statement by statement as SQLAlchemy emits them.
const char* const kSchema[] = {
    R"(CREATE TABLE studies (
	study_id INTEGER NOT NULL, 
	study_name VARCHAR(512) NOT NULL, 
	PRIMARY KEY (study_id)
))",
    R"(CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name))",
    R"(CREATE TABLE version_info (
	version_info_id INTEGER NOT NULL, 
	schema_version INTEGER, 
	library_version VARCHAR(256), 
	PRIMARY KEY (version_info_id), 
	CHECK (version_info_id=1)
))",
    R"(CREATE TABLE study_directions (
	study_direction_id INTEGER NOT NULL, 
	direction VARCHAR(8) NOT NULL, 
	study_id INTEGER NOT NULL, 
	objective INTEGER NOT NULL, 
	PRIMARY KEY (study_direction_id), 
	UNIQUE (study_id, objective), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
))",
    R"(CREATE TABLE study_user_attributes (
	study_user_attribute_id INTEGER NOT NULL, 
	study_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (study_user_attribute_id), 
	UNIQUE (study_id, "key"), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
))",
    R"(CREATE TABLE study_system_attributes (
	study_system_attribute_id INTEGER NOT NULL, 
	study_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (study_system_attribute_id), 
	UNIQUE (study_id, "key"), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
))",
    R"(CREATE TABLE trials (
	trial_id INTEGER NOT NULL, 
	number INTEGER, 
	study_id INTEGER, 
	state VARCHAR(8) NOT NULL, 
	datetime_start DATETIME, 
	datetime_complete DATETIME, 
	PRIMARY KEY (trial_id), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
))",
    R"(CREATE TABLE trial_user_attributes (
	trial_user_attribute_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (trial_user_attribute_id), 
	UNIQUE (trial_id, "key"), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
))",
    R"(CREATE TABLE trial_system_attributes (
	trial_system_attribute_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (trial_system_attribute_id), 
	UNIQUE (trial_id, "key"), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
))",
    R"(CREATE TABLE trial_params (
	param_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	param_name VARCHAR(512), 
	param_value FLOAT, 
	distribution_json TEXT, 
	PRIMARY KEY (param_id), 
	UNIQUE (trial_id, param_name), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
))",
    R"(CREATE TABLE trial_values (
	trial_value_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	objective INTEGER NOT NULL, 
	value FLOAT, 
	value_type VARCHAR(7) NOT NULL, 
	PRIMARY KEY (trial_value_id), 
	UNIQUE (trial_id, objective), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
))",
    R"(CREATE TABLE trial_intermediate_values (
	trial_intermediate_value_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	step INTEGER NOT NULL, 
	intermediate_value FLOAT, 
	intermediate_value_type VARCHAR(7) NOT NULL, 
	PRIMARY KEY (trial_intermediate_value_id), 
	UNIQUE (trial_id, step), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
))",
    R"(CREATE TABLE trial_heartbeats (
	trial_heartbeat_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	heartbeat DATETIME NOT NULL, 
	PRIMARY KEY (trial_heartbeat_id), 
	UNIQUE (trial_id), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
))",
    R"(CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
))",
};

bool is_busy(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

class SqliteConnection : public SqlConnection {
 public:
  SqliteConnection(const std::string& path, const SqliteOptions& options) : path_(path) {
    if (path != ":memory:") {
      const auto parent = std::filesystem::path(path).parent_path();
      std::error_code ec;
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    }
    const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw SearchError(fmt::format("cannot open SQLite database '{}': {}", path, msg));
    }
    sqlite3_busy_timeout(db_, static_cast<int>(options.busy_timeout_seconds * 1000));
    // Switching to WAL needs a brief exclusive lock, and SQLite does not wait for it (no busy
    // handler): retry, sleeping, while other processes open the file (4 workers starting at once
    // on a loaded machine outlasted 50 immediate retries). At most ~5 s.
    for (int attempt = 0;; ++attempt) {
      try {
        query("PRAGMA journal_mode=WAL");
        break;
      } catch (const SqlRetryableError&) {
        if (attempt >= 100) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(10 + 2 * attempt, 90)));
      }
    }
    query("PRAGMA synchronous=NORMAL");
  }

  ~SqliteConnection() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }

  SqlDialect dialect() const override { return SqlDialect::Sqlite; }

  SqlRows query(const std::string& sql, const std::vector<SqlValue>& params = {}) override {
    sqlite3_stmt* stmt = prepare(sql);
    for (size_t i = 0; i < params.size(); ++i) bind(stmt, static_cast<int>(i + 1), params[i]);
    SqlRows rows;
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        const std::string msg = sqlite3_errmsg(db_);
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        if (is_busy(rc))
          throw SqlRetryableError(fmt::format("SQLite database '{}' is busy: {}", path_, msg));
        throw SearchError(fmt::format("SQLite error in '{}' on `{}`: {}", path_, sql, msg));
      }
      SqlRow row;
      const int n = sqlite3_column_count(stmt);
      row.cells.reserve(static_cast<size_t>(n));
      for (int c = 0; c < n; ++c) row.cells.push_back(column(stmt, c));
      rows.push_back(std::move(row));
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rows;
  }

  void begin(bool write) override { query(write ? "BEGIN IMMEDIATE" : "BEGIN"); }
  void commit() override { query("COMMIT"); }
  void rollback() noexcept override {
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  std::string where() const override { return "SQLite database '" + path_ + "'"; }
  std::string now_sql() const override { return "strftime('%Y-%m-%d %H:%M:%f000', 'now')"; }
  std::string now_minus_sql(double seconds) const override {
    return fmt::format("strftime('%Y-%m-%d %H:%M:%f000', 'now', '-{:.6f} seconds')", seconds);
  }
  std::string for_update_sql() const override { return ""; }

  void ensure_schema() override {
    for (int attempt = 0;; ++attempt) {
      try {
        begin(true);
        if (query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'studies'")
                .empty()) {
          for (const char* statement : kSchema) query(statement);
          write_optuna_version_rows(*this);
        }
        commit();
        return;
      } catch (const SqlRetryableError&) {
        rollback();
        if (attempt >= 50) throw;
      } catch (...) {
        rollback();
        throw;
      }
    }
  }

 private:
  sqlite3_stmt* prepare(const std::string& sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt,
                                      nullptr);
    if (rc != SQLITE_OK) {
      const std::string msg = sqlite3_errmsg(db_);
      if (is_busy(rc))
        throw SqlRetryableError(fmt::format("SQLite database '{}' is busy: {}", path_, msg));
      throw SearchError(fmt::format("SQLite error in '{}' preparing `{}`: {}", path_, sql, msg));
    }
    statements_.emplace(sql, stmt);
    return stmt;
  }

  static void bind(sqlite3_stmt* stmt, int index, const SqlValue& v) {
    if (auto p = std::get_if<int64_t>(&v)) {
      sqlite3_bind_int64(stmt, index, *p);
    } else if (auto p = std::get_if<double>(&v)) {
      sqlite3_bind_double(stmt, index, *p);
    } else if (auto p = std::get_if<std::string>(&v)) {
      sqlite3_bind_text(stmt, index, p->data(), static_cast<int>(p->size()), SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_null(stmt, index);
    }
  }

  static SqlValue column(sqlite3_stmt* stmt, int c) {
    switch (sqlite3_column_type(stmt, c)) {
      case SQLITE_INTEGER: return static_cast<int64_t>(sqlite3_column_int64(stmt, c));
      case SQLITE_FLOAT: return sqlite3_column_double(stmt, c);
      case SQLITE_NULL: return std::monostate{};
      default: {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        return std::string(text ? text : "", static_cast<size_t>(sqlite3_column_bytes(stmt, c)));
      }
    }
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

std::unique_ptr<SqlConnection> open_sqlite_connection(const std::string& path,
                                                      const SqliteOptions& options) {
  CHOP_CHECK(options.busy_timeout_seconds >= 0, ConfigError,
             "`busy_timeout_seconds >= 0` must hold, but got {}", options.busy_timeout_seconds);
  return std::make_unique<SqliteConnection>(path, options);
}

}  // namespace chop::search
