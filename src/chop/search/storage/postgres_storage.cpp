// PostgresStorage: Optuna-compatible study storage in a PostgreSQL database (libpq), for many machines.
#include "chop/search/storage/postgres_storage.h"

#include <libpq-fe.h>

#include <cmath>
#include <memory>

namespace chop::search {
namespace {

// Optuna 3.1's tables as SQLAlchemy creates them on PostgreSQL (SERIAL keys, native enums).
const char* const kEnums[][2] = {
    {"studydirection", "CREATE TYPE studydirection AS ENUM ('NOT_SET', 'MINIMIZE', 'MAXIMIZE')"},
    {"trialstate",
     "CREATE TYPE trialstate AS ENUM ('RUNNING', 'COMPLETE', 'PRUNED', 'FAIL', 'WAITING')"},
    {"trialvaluetype", "CREATE TYPE trialvaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG')"},
    {"trialintermediatevaluetype",
     "CREATE TYPE trialintermediatevaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG', 'NAN')"},
};

const char* const kSchema[] = {
    "CREATE TABLE studies (study_id SERIAL NOT NULL, study_name VARCHAR(512) NOT NULL, "
    "PRIMARY KEY (study_id))",
    "CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name)",
    "CREATE TABLE version_info (version_info_id INTEGER NOT NULL, schema_version INTEGER, "
    "library_version VARCHAR(256), PRIMARY KEY (version_info_id), CHECK (version_info_id=1))",
    "CREATE TABLE study_directions (study_direction_id SERIAL NOT NULL, direction studydirection "
    "NOT NULL, study_id INTEGER NOT NULL, objective INTEGER NOT NULL, PRIMARY KEY "
    "(study_direction_id), UNIQUE (study_id, objective), FOREIGN KEY(study_id) REFERENCES studies "
    "(study_id))",
    "CREATE TABLE study_user_attributes (study_user_attribute_id SERIAL NOT NULL, study_id "
    "INTEGER, \"key\" VARCHAR(512), value_json TEXT, PRIMARY KEY (study_user_attribute_id), "
    "UNIQUE (study_id, \"key\"), FOREIGN KEY(study_id) REFERENCES studies (study_id))",
    "CREATE TABLE study_system_attributes (study_system_attribute_id SERIAL NOT NULL, study_id "
    "INTEGER, \"key\" VARCHAR(512), value_json TEXT, PRIMARY KEY (study_system_attribute_id), "
    "UNIQUE (study_id, \"key\"), FOREIGN KEY(study_id) REFERENCES studies (study_id))",
    "CREATE TABLE trials (trial_id SERIAL NOT NULL, number INTEGER, study_id INTEGER, state "
    "trialstate NOT NULL, datetime_start TIMESTAMP WITHOUT TIME ZONE, datetime_complete "
    "TIMESTAMP WITHOUT TIME ZONE, PRIMARY KEY (trial_id), FOREIGN KEY(study_id) REFERENCES "
    "studies (study_id))",
    "CREATE TABLE trial_user_attributes (trial_user_attribute_id SERIAL NOT NULL, trial_id "
    "INTEGER, \"key\" VARCHAR(512), value_json TEXT, PRIMARY KEY (trial_user_attribute_id), "
    "UNIQUE (trial_id, \"key\"), FOREIGN KEY(trial_id) REFERENCES trials (trial_id))",
    "CREATE TABLE trial_system_attributes (trial_system_attribute_id SERIAL NOT NULL, trial_id "
    "INTEGER, \"key\" VARCHAR(512), value_json TEXT, PRIMARY KEY (trial_system_attribute_id), "
    "UNIQUE (trial_id, \"key\"), FOREIGN KEY(trial_id) REFERENCES trials (trial_id))",
    "CREATE TABLE trial_params (param_id SERIAL NOT NULL, trial_id INTEGER, param_name "
    "VARCHAR(512), param_value FLOAT, distribution_json TEXT, PRIMARY KEY (param_id), UNIQUE "
    "(trial_id, param_name), FOREIGN KEY(trial_id) REFERENCES trials (trial_id))",
    "CREATE TABLE trial_values (trial_value_id SERIAL NOT NULL, trial_id INTEGER NOT NULL, "
    "objective INTEGER NOT NULL, value FLOAT, value_type trialvaluetype NOT NULL, PRIMARY KEY "
    "(trial_value_id), UNIQUE (trial_id, objective), FOREIGN KEY(trial_id) REFERENCES trials "
    "(trial_id))",
    "CREATE TABLE trial_intermediate_values (trial_intermediate_value_id SERIAL NOT NULL, "
    "trial_id INTEGER NOT NULL, step INTEGER NOT NULL, intermediate_value FLOAT, "
    "intermediate_value_type trialintermediatevaluetype NOT NULL, PRIMARY KEY "
    "(trial_intermediate_value_id), UNIQUE (trial_id, step), FOREIGN KEY(trial_id) REFERENCES "
    "trials (trial_id))",
    "CREATE TABLE trial_heartbeats (trial_heartbeat_id SERIAL NOT NULL, trial_id INTEGER NOT "
    "NULL, heartbeat TIMESTAMP WITHOUT TIME ZONE NOT NULL, PRIMARY KEY (trial_heartbeat_id), "
    "UNIQUE (trial_id), FOREIGN KEY(trial_id) REFERENCES trials (trial_id))",
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT "
    "alembic_version_pkc PRIMARY KEY (version_num))",
};

/// Arbitrary key of the advisory lock that serializes schema creation across processes.
constexpr int64_t kSchemaLockKey = 0x63686f70;  // "chop"

std::string libpq_url(const std::string& url) {
  const auto plus = url.find('+');
  const auto colon = url.find("://");
  if (plus != std::string::npos && colon != std::string::npos && plus < colon)
    return url.substr(0, plus) + url.substr(colon);
  return url;
}

/// `?` placeholders -> `$1, $2 ...` (outside quoted literals and identifiers).
std::string number_placeholders(const std::string& sql) {
  std::string out;
  out.reserve(sql.size() + 8);
  int n = 0;
  char quote = 0;
  for (char c : sql) {
    if (quote) {
      if (c == quote) quote = 0;
      out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '?') {
      out += '$' + std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

std::string to_text(const SqlValue& v) {
  if (auto p = std::get_if<int64_t>(&v)) return std::to_string(*p);
  if (auto p = std::get_if<double>(&v)) {
    if (std::isnan(*p)) return "NaN";
    if (std::isinf(*p)) return *p > 0 ? "Infinity" : "-Infinity";
    return fmt::format("{}", *p);
  }
  return std::get<std::string>(v);
}

/// libpq's multi-line message ("...failed: Connection refused\n\tIs the server running...") as one line.
std::string one_line(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

PGconn* connect(const std::string& url) {
  PGconn* conn = PQconnectdb(libpq_url(url).c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string msg = one_line(PQerrorMessage(conn));
    PQfinish(conn);
    throw SearchError(fmt::format("cannot connect to PostgreSQL at '{}': {}", url, msg));
  }
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return conn;
}

class PostgresConnection : public SqlConnection {
 public:
  explicit PostgresConnection(const std::string& url) : url_(url), conn_(connect(url)) {}
  ~PostgresConnection() override { PQfinish(conn_); }

  SqlDialect dialect() const override { return SqlDialect::Postgres; }

  SqlRows query(const std::string& sql, const std::vector<SqlValue>& params) override {
    std::vector<std::string> texts;
    std::vector<const char*> values;
    texts.reserve(params.size());
    for (const auto& p : params) {
      const bool null = std::holds_alternative<std::monostate>(p);
      texts.push_back(null ? std::string() : to_text(p));
      values.push_back(null ? nullptr : texts.back().c_str());
    }
    const std::string numbered = number_placeholders(sql);
    Result res(PQexecParams(conn_, numbered.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
    const ExecStatusType status = PQresultStatus(res.get());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
      const std::string code = state ? state : "";
      // The server went away (stopped, restarted, network): SQLSTATE class 08 or 57P01-03
      // (admin / crash shutdown, cannot connect now), or a dead socket.
      if (PQstatus(conn_) == CONNECTION_BAD || code.rfind("08", 0) == 0 || code == "57P01" ||
          code == "57P02" || code == "57P03")
        throw SqlConnectionLost(one_line(PQerrorMessage(conn_)));
      const std::string msg = one_line(PQresultErrorMessage(res.get()));
      // Serialization failure, deadlock, or a unique key raced by another worker: retry.
      if (code == "40001" || code == "40P01" || code == "23505")
        throw SqlRetryableError(fmt::format("PostgreSQL conflict ({}): {}", code, msg));
      throw SearchError(fmt::format("PostgreSQL error on `{}`: {}", sql, msg));
    }
    SqlRows rows;
    const int n_rows = PQntuples(res.get());
    const int n_cols = PQnfields(res.get());
    rows.reserve(static_cast<size_t>(n_rows));
    for (int r = 0; r < n_rows; ++r) {
      SqlRow row;
      row.cells.reserve(static_cast<size_t>(n_cols));
      for (int c = 0; c < n_cols; ++c) row.cells.push_back(cell(res.get(), r, c));
      rows.push_back(std::move(row));
    }
    return rows;
  }

  void begin(bool write) override {
    // Writers lock what they change (FOR UPDATE); readers see one consistent snapshot.
    query(write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {});
  }
  void commit() override { query("COMMIT", {}); }
  void rollback() noexcept override {
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
    PGresult* r = PQexec(conn_, "ROLLBACK");
    PQclear(r);
  }
  bool reconnect() noexcept override {
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK) return false;
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    return true;
  }
  std::string where() const override {
    return fmt::format("PostgreSQL at {}:{}/{}", PQhost(conn_), PQport(conn_), PQdb(conn_));
  }
  std::string now_sql() const override { return "LOCALTIMESTAMP"; }
  std::string now_minus_sql(double seconds) const override {
    return fmt::format("(LOCALTIMESTAMP - INTERVAL '{:.6f} seconds')", seconds);
  }
  std::string for_update_sql() const override { return " FOR UPDATE"; }

  void ensure_schema() override {
    try {
      begin(true);
      query("SELECT pg_advisory_xact_lock(?)", {kSchemaLockKey});
      const bool exists = !query("SELECT 1 FROM information_schema.tables WHERE table_schema = "
                                 "current_schema() AND table_name = 'studies'",
                                 {})
                               .empty();
      if (!exists) {
        for (const auto& e : kEnums) {
          if (query("SELECT 1 FROM pg_type WHERE typname = ?", {std::string(e[0])}).empty())
            query(e[1], {});
        }
        for (const char* statement : kSchema) query(statement, {});
        write_optuna_version_rows(*this);
      }
      commit();
    } catch (...) {
      rollback();
      throw;
    }
  }

 private:
  static SqlValue cell(PGresult* res, int r, int c) {
    if (PQgetisnull(res, r, c)) return std::monostate{};
    const char* text = PQgetvalue(res, r, c);
    switch (PQftype(res, c)) {
      case 20:  // int8
      case 21:  // int2
      case 23:  // int4
        return static_cast<int64_t>(std::strtoll(text, nullptr, 10));
      case 700:   // float4
      case 701:   // float8
      case 1700:  // numeric
        return std::strtod(text, nullptr);
      default:
        return std::string(text, static_cast<size_t>(PQgetlength(res, r, c)));
    }
  }

  std::string url_;
  PGconn* conn_;
};

}  // namespace

std::unique_ptr<SqlConnection> open_postgres_connection(const std::string& url) {
  return std::make_unique<PostgresConnection>(url);
}

void postgres_execute(const std::string& url, const std::string& sql) {
  PGconn* conn = connect(url);
  Result res(PQexec(conn, sql.c_str()));
  const ExecStatusType status = PQresultStatus(res.get());
  const std::string msg = one_line(PQresultErrorMessage(res.get()));
  PQfinish(conn);
  CHOP_CHECK(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK, SearchError,
             "PostgreSQL error on `{}`: {}", sql, msg);
}

std::string postgres_url_with_database(const std::string& url, const std::string& database) {
  const auto scheme = url.find("://");
  CHOP_CHECK(scheme != std::string::npos, ConfigError, "'{}' is not a postgresql:// URL", url);
  const auto slash = url.find('/', scheme + 3);
  const auto query = url.find('?', scheme + 3);
  const std::string base = url.substr(0, slash == std::string::npos ? query : slash);
  const std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + database + rest;
}

}  // namespace chop::search
