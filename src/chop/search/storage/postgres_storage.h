// PostgresStorage: Optuna-compatible study storage in a PostgreSQL database (libpq), for many machines.
#pragma once

#include "chop/search/storage/rdb_storage.h"

namespace chop::search {

/// Connects to PostgreSQL at `url` (a libpq URI such as postgresql://user@host:5432/db; a
/// SQLAlchemy driver suffix like postgresql+psycopg2:// is accepted and dropped). SearchError when
/// the server cannot be reached.
std::unique_ptr<SqlConnection> open_postgres_connection(const std::string& url);

/// RdbStorage over PostgreSQL: the way past one machine. Every worker on every machine runs the
/// same command with the same URL; trial numbering takes a row lock on the study.
class PostgresStorage : public RdbStorage {
 public:
  explicit PostgresStorage(const std::string& url) : RdbStorage(open_postgres_connection(url)) {}
};

/// Runs one SQL command outside any transaction on the server at `url` (administration, e.g.
/// CREATE DATABASE / DROP DATABASE in tests). SearchError on failure.
void postgres_execute(const std::string& url, const std::string& sql);

/// `url` with its database name replaced by `database` (postgresql://u@h:p/old -> .../database).
std::string postgres_url_with_database(const std::string& url, const std::string& database);

}  // namespace chop::search
