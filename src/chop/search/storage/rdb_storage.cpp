// RdbStorage: a Storage in Optuna's relational schema (version 12) over any SqlConnection.
#include "chop/search/storage/rdb_storage.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <random>
#include <thread>
#include <type_traits>

namespace chop::search {

// ---- SqlRow ---------------------------------------------------------------------------------

int64_t SqlRow::as_int(size_t i) const {
  const SqlValue& v = cells.at(i);
  if (auto p = std::get_if<int64_t>(&v)) return *p;
  if (auto p = std::get_if<double>(&v)) return static_cast<int64_t>(*p);
  if (auto p = std::get_if<std::string>(&v)) return std::stoll(*p);
  throw SearchError("the database returned NULL where an integer was expected");
}

std::optional<double> SqlRow::as_double(size_t i) const {
  const SqlValue& v = cells.at(i);
  if (auto p = std::get_if<double>(&v)) return *p;
  if (auto p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  if (auto p = std::get_if<std::string>(&v)) return std::strtod(p->c_str(), nullptr);
  return std::nullopt;
}

std::string SqlRow::as_text(size_t i) const {
  const SqlValue& v = cells.at(i);
  if (auto p = std::get_if<std::string>(&v)) return *p;
  if (auto p = std::get_if<int64_t>(&v)) return std::to_string(*p);
  if (auto p = std::get_if<double>(&v)) return fmt::format("{}", *p);
  return "";
}

// ---- datetimes ------------------------------------------------------------------------------

std::string format_datetime(Clock::time_point t) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  int64_t frac = micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm{};
  localtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

std::optional<Clock::time_point> parse_datetime(const std::string& text) {
  std::tm tm{};
  int micros = 0;
  char frac[16] = {0};
  const int n = std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d.%15[0-9]", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, frac);
  if (n < 6) return std::nullopt;
  if (n == 7) {
    std::string f(frac);
    f.resize(6, '0');
    micros = std::stoi(f);
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  const std::time_t secs = std::mktime(&tm);
  return Clock::from_time_t(secs) + std::chrono::microseconds(micros);
}

// ---- encodings of Optuna's columns ----------------------------------------------------------

namespace {

constexpr int kMaxRetries = 50;

TrialState parse_state(const std::string& s) {
  if (s == "RUNNING") return TrialState::Running;
  if (s == "COMPLETE") return TrialState::Complete;
  if (s == "PRUNED") return TrialState::Pruned;
  if (s == "FAIL") return TrialState::Fail;
  if (s == "WAITING") return TrialState::Waiting;
  throw SearchError(fmt::format("the database holds a trial in unknown state '{}'", s));
}

const char* direction_name(StudyDirection d) {
  return d == StudyDirection::Maximize ? "MAXIMIZE" : "MINIMIZE";
}

/// Optuna keeps infinities out of FLOAT columns: (NULL, "INF_POS") etc.
std::pair<SqlValue, std::string> encode_value(double v) {
  if (std::isnan(v)) return {std::monostate{}, "NAN"};
  if (std::isinf(v)) return {std::monostate{}, v > 0 ? "INF_POS" : "INF_NEG"};
  return {v, "FINITE"};
}

double decode_value(const std::optional<double>& stored, const std::string& type) {
  if (type == "INF_POS") return std::numeric_limits<double>::infinity();
  if (type == "INF_NEG") return -std::numeric_limits<double>::infinity();
  if (type == "NAN" || !stored) return std::numeric_limits<double>::quiet_NaN();
  return *stored;
}

/// Attr values written by Python may hold NaN/Infinity, which strict JSON lacks: keep the text.
nlohmann::json parse_attr(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return nlohmann::json(text);
  return j;
}

std::string id_list(const std::vector<int64_t>& ids, size_t begin, size_t end) {
  std::string s = "(";
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) s += ",";
    s += std::to_string(ids[i]);
  }
  return s + ")";
}

SqlValue text_or_null(const std::string& s) {
  if (s.empty()) return std::monostate{};
  return s;
}

}  // namespace

// ---- RdbStorage -----------------------------------------------------------------------------


template <typename Fn>
auto RdbStorage::transact(bool write, Fn&& body) const {
  std::lock_guard<std::mutex> lock(mutex_);
  thread_local std::minstd_rand jitter(std::random_device{}());
  for (int attempt = 0;; ++attempt) {
    try {
      connection_->begin(write);
      if constexpr (std::is_void_v<decltype(body())>) {
        body();
        connection_->commit();
        return;
      } else {
        auto result = body();
        connection_->commit();
        return result;
      }
    } catch (const SqlConnectionLost& e) {
      connection_->rollback();
      wait_for_connection(e.what());
    } catch (const SqlRetryableError& e) {
      connection_->rollback();
      CHOP_CHECK(attempt < kMaxRetries, SearchError,
                 "the database stayed busy after {} retries: {}", kMaxRetries, e.what());
      const int max_ms = std::min(200, 5 << std::min(attempt, 5));
      std::this_thread::sleep_for(std::chrono::milliseconds(1 + jitter() % max_ms));
    } catch (...) {
      connection_->rollback();
      throw;
    }
  }
}

void RdbStorage::wait_for_connection(const std::string& why) const {
  using Steady = std::chrono::steady_clock;
  const auto start = Steady::now();
  const double limit = reconnect_limit_seconds();
  auto waited = [&] { return std::chrono::duration<double>(Steady::now() - start).count(); };
  std::cerr << fmt::format("chop: lost the connection to {} ({}); reconnecting, for at most {:.0f} s\n",
                           connection_->where(), why, limit);
  double delay = 0.25, next_note = 30;
  while (!connection_->reconnect()) {
    CHOP_CHECK(waited() < limit, SearchError,
               "lost the connection to {} and could not reconnect for {:.0f} s ({}); the study is "
               "intact in the database: continue with --resume once it is back",
               connection_->where(), limit, why);
    if (waited() >= next_note) {
      std::cerr << fmt::format("chop: still waiting for {} ({:.0f} s)\n", connection_->where(), waited());
      next_note += 30;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(delay, std::max(0.0, limit - waited()))));
    delay = std::min(delay * 2, 2.0);
  }
  reconnected_at_ = Steady::now();
  std::cerr << fmt::format("chop: reconnected to {} after {:.1f} s\n", connection_->where(), waited());
}

double RdbStorage::reconnect_limit_seconds() {
  if (const char* env = std::getenv("CHOP_STORAGE_RECONNECT_SECONDS")) {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    CHOP_CHECK(end != env && *end == 0 && v >= 0, ConfigError,
               "CHOP_STORAGE_RECONNECT_SECONDS must be a number of seconds >= 0, but is '{}'", env);
    return v;
  }
  return 600;
}

RdbStorage::RdbStorage(std::unique_ptr<SqlConnection> connection)
    : connection_(std::move(connection)) {
  CHOP_ASSERT(connection_ != nullptr, "RdbStorage needs a connection");
  connection_->ensure_schema();
  transact(false, [&] {
    const SqlRows rows =
        connection_->query("SELECT schema_version FROM version_info WHERE version_info_id = 1");
    CHOP_CHECK(!rows.empty(), SearchError,
               "the database has Optuna's tables but no version_info row; it is not a complete "
               "Optuna storage");
    const int64_t version = rows[0].as_int(0);
    CHOP_CHECK(version == kOptunaSchemaVersion, SearchError,
               "the database has Optuna schema version {}, but chop reads version {} (Optuna "
               "3.0-3.1); migrate it with `optuna storage upgrade` or use another database",
               version, kOptunaSchemaVersion);
  });
}

RdbStorage::~RdbStorage() = default;

void RdbStorage::check_study(int64_t study_id) const {
  const SqlRows rows = connection_->query("SELECT study_id FROM studies WHERE study_id = ?",
                                          {study_id});
  CHOP_CHECK(!rows.empty(), SearchError, "no study with id {}", study_id);
}

int64_t RdbStorage::check_writable(int64_t trial_id) const {
  const SqlRows rows = connection_->query(
      "SELECT number, state FROM trials WHERE trial_id = ?" + connection_->for_update_sql(),
      {trial_id});
  CHOP_CHECK(!rows.empty(), SearchError, "no trial with id {}", trial_id);
  const int64_t number = rows[0].as_int(0);
  const TrialState state = parse_state(rows[0].as_text(1));
  CHOP_CHECK(!is_finished(state), SearchError, "trial {} is {} and finished trials are read-only",
             number, to_string(state));
  return number;
}

int64_t RdbStorage::create_study(const std::string& name,
                                 const std::vector<StudyDirection>& directions) {
  CHOP_CHECK(!directions.empty(), ConfigError, "a study needs at least one direction");
  return transact(true, [&] {
    const SqlRows taken =
        connection_->query("SELECT study_id FROM studies WHERE study_name = ?", {name});
    CHOP_CHECK(taken.empty(), SearchError, "a study named '{}' already exists", name);
    const int64_t id = connection_
                           ->query("INSERT INTO studies (study_name) VALUES (?) RETURNING study_id",
                                   {name})
                           .at(0)
                           .as_int(0);
    for (size_t i = 0; i < directions.size(); ++i) {
      connection_->query(
          "INSERT INTO study_directions (direction, study_id, objective) VALUES (?, ?, ?)",
          {std::string(direction_name(directions[i])), id, static_cast<int64_t>(i)});
    }
    return id;
  });
}

int64_t RdbStorage::get_study_id(const std::string& name) const {
  return transact(false, [&] {
    const SqlRows rows =
        connection_->query("SELECT study_id FROM studies WHERE study_name = ?", {name});
    CHOP_CHECK(!rows.empty(), SearchError, "no study named '{}'", name);
    return rows[0].as_int(0);
  });
}

std::string RdbStorage::get_study_name(int64_t study_id) const {
  return transact(false, [&] {
    const SqlRows rows =
        connection_->query("SELECT study_name FROM studies WHERE study_id = ?", {study_id});
    CHOP_CHECK(!rows.empty(), SearchError, "no study with id {}", study_id);
    return rows[0].as_text(0);
  });
}

std::vector<StudyDirection> RdbStorage::get_study_directions(int64_t study_id) const {
  return transact(false, [&] {
    const SqlRows rows = connection_->query(
        "SELECT direction FROM study_directions WHERE study_id = ? ORDER BY objective",
        {study_id});
    if (rows.empty()) check_study(study_id);
    std::vector<StudyDirection> out;
    for (const auto& r : rows)
      out.push_back(r.as_text(0) == "MAXIMIZE" ? StudyDirection::Maximize
                                               : StudyDirection::Minimize);
    return out;
  });
}

std::vector<std::string> RdbStorage::get_all_study_names() const {
  return transact(false, [&] {
    std::vector<std::string> names;
    for (const auto& r : connection_->query("SELECT study_name FROM studies ORDER BY study_id"))
      names.push_back(r.as_text(0));
    return names;
  });
}

void RdbStorage::upsert_attr(const char* table, const char* owner_column, int64_t owner_id,
                             const std::string& key, const nlohmann::json& value) const {
  connection_->query(fmt::format("INSERT INTO {0} ({1}, \"key\", value_json) VALUES (?, ?, ?) "
                                 "ON CONFLICT ({1}, \"key\") DO UPDATE SET value_json = "
                                 "excluded.value_json",
                                 table, owner_column),
                     {owner_id, key, value.dump()});
}

std::map<std::string, nlohmann::json> RdbStorage::read_attrs(const char* table,
                                                             const char* owner_column,
                                                             int64_t owner_id) const {
  std::map<std::string, nlohmann::json> out;
  for (const auto& r : connection_->query(
           fmt::format("SELECT \"key\", value_json FROM {} WHERE {} = ?", table, owner_column),
           {owner_id}))
    out[r.as_text(0)] = parse_attr(r.as_text(1));
  return out;
}

void RdbStorage::set_study_user_attr(int64_t study_id, const std::string& key,
                                     const nlohmann::json& value) {
  transact(true, [&] {
    check_study(study_id);
    upsert_attr("study_user_attributes", "study_id", study_id, key, value);
  });
}

std::map<std::string, nlohmann::json> RdbStorage::get_study_user_attrs(int64_t study_id) const {
  return transact(false, [&] {
    check_study(study_id);
    return read_attrs("study_user_attributes", "study_id", study_id);
  });
}

void RdbStorage::set_study_system_attr(int64_t study_id, const std::string& key,
                                       const nlohmann::json& value) {
  transact(true, [&] {
    check_study(study_id);
    upsert_attr("study_system_attributes", "study_id", study_id, key, value);
  });
}

std::map<std::string, nlohmann::json> RdbStorage::get_study_system_attrs(int64_t study_id) const {
  return transact(false, [&] {
    check_study(study_id);
    return read_attrs("study_system_attributes", "study_id", study_id);
  });
}

TrialRef RdbStorage::insert_trial(int64_t study_id, TrialState state, const std::string& start,
                                  const std::string& complete) const {
  // The study row lock (or SQLite's database write lock) serializes numbering per study.
  const SqlRows study = connection_->query(
      "SELECT study_id FROM studies WHERE study_id = ?" + connection_->for_update_sql(),
      {study_id});
  CHOP_CHECK(!study.empty(), SearchError, "no study with id {}", study_id);
  const int64_t number =
      connection_->query("SELECT COUNT(*) FROM trials WHERE study_id = ?", {study_id})
          .at(0)
          .as_int(0);
  const int64_t id =
      connection_
          ->query("INSERT INTO trials (number, study_id, state, datetime_start, "
                  "datetime_complete) VALUES (?, ?, ?, ?, ?) RETURNING trial_id",
                  {number, study_id, std::string(to_string(state)), text_or_null(start),
                   text_or_null(complete)})
          .at(0)
          .as_int(0);
  return {id, number};
}

TrialRef RdbStorage::create_trial(int64_t study_id) {
  const std::string now = format_datetime(Clock::now());
  return transact(true, [&] {
    const TrialRef ref = insert_trial(study_id, TrialState::Running, now, "");
    if (first_heartbeat_) upsert_heartbeat(ref.trial_id);
    return ref;
  });
}

std::optional<TrialRef> RdbStorage::create_trial_claiming(
    int64_t study_id, const std::vector<std::string>& claim_keys,
    const std::map<std::string, nlohmann::json>& system_attrs) {
  const std::string now = format_datetime(Clock::now());
  struct Taken {};  // rolls back the claims made so far
  try {
    return transact(true, [&]() -> std::optional<TrialRef> {
      check_study(study_id);
      for (const auto& key : claim_keys)
        if (!insert_study_key(study_id, key)) throw Taken{};
      const TrialRef ref = insert_trial(study_id, TrialState::Running, now, "");
      if (first_heartbeat_) upsert_heartbeat(ref.trial_id);
      for (const auto& key : claim_keys)
        upsert_attr("study_system_attributes", "study_id", study_id, key, ref.number);
      for (const auto& [key, value] : system_attrs)
        upsert_attr("trial_system_attributes", "trial_id", ref.trial_id, key, value);
      return ref;
    });
  } catch (const Taken&) {
    return std::nullopt;
  }
}

bool RdbStorage::insert_study_key(int64_t study_id, const std::string& key) const {
  return !connection_
              ->query("INSERT INTO study_system_attributes (study_id, \"key\", value_json) "
                      "VALUES (?, ?, 'null') ON CONFLICT (study_id, \"key\") DO NOTHING "
                      "RETURNING study_system_attribute_id",
                      {study_id, key})
              .empty();
}

bool RdbStorage::claim_study_key(int64_t study_id, const std::string& key, const nlohmann::json& value) {
  return transact(true, [&] {
    check_study(study_id);
    if (!insert_study_key(study_id, key)) return false;
    upsert_attr("study_system_attributes", "study_id", study_id, key, value);
    return true;
  });
}

TrialRef RdbStorage::create_trial_from(int64_t study_id, const FrozenTrial& templ) {
  std::string start = templ.datetime_start ? format_datetime(*templ.datetime_start) : "";
  if (start.empty() && !is_finished(templ.state)) start = format_datetime(Clock::now());
  const std::string complete =
      templ.datetime_complete ? format_datetime(*templ.datetime_complete) : "";
  for (double v : templ.values)
    CHOP_CHECK(!std::isnan(v), SearchError, "a trial value cannot be NaN");
  return transact(true, [&] {
    const TrialRef ref = insert_trial(study_id, templ.state, start, complete);
    for (const auto& [name, internal] : templ.params) {
      connection_->query(
          "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
          "VALUES (?, ?, ?, ?)",
          {ref.trial_id, name, internal, templ.distributions.at(name).to_json().dump()});
    }
    for (size_t i = 0; i < templ.values.size(); ++i) {
      auto [stored, type] = encode_value(templ.values[i]);
      connection_->query(
          "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, ?, ?, ?)",
          {ref.trial_id, static_cast<int64_t>(i), stored, type});
    }
    for (const auto& [step, v] : templ.intermediate_values) {
      auto [stored, type] = encode_value(v);
      connection_->query(
          "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, "
          "intermediate_value_type) VALUES (?, ?, ?, ?)",
          {ref.trial_id, step, stored, type});
    }
    for (const auto& [k, v] : templ.user_attrs)
      upsert_attr("trial_user_attributes", "trial_id", ref.trial_id, k, v);
    for (const auto& [k, v] : templ.system_attrs)
      upsert_attr("trial_system_attributes", "trial_id", ref.trial_id, k, v);
    if (!templ.constraints.empty())
      upsert_attr("trial_system_attributes", "trial_id", ref.trial_id, "constraints",
                  templ.constraints);
    return ref;
  });
}

std::optional<TrialRef> RdbStorage::pop_waiting_trial(int64_t study_id) {
  const std::string now = format_datetime(Clock::now());
  return transact(true, [&]() -> std::optional<TrialRef> {
    check_study(study_id);
    // Under READ COMMITTED another worker may win the row between SELECT and UPDATE: look again.
    for (int tries = 0; tries < 100; ++tries) {
      const SqlRows rows = connection_->query(
          "SELECT trial_id, number FROM trials WHERE study_id = ? AND state = 'WAITING' "
          "ORDER BY number LIMIT 1",
          {study_id});
      if (rows.empty()) return std::nullopt;
      const SqlRows won = connection_->query(
          "UPDATE trials SET state = 'RUNNING', datetime_start = ? WHERE trial_id = ? AND "
          "state = 'WAITING' RETURNING trial_id",
          {now, rows[0].as_int(0)});
      if (won.empty()) continue;
      if (first_heartbeat_) upsert_heartbeat(rows[0].as_int(0));
      return TrialRef{rows[0].as_int(0), rows[0].as_int(1)};
    }
    throw SqlRetryableError("could not pop a WAITING trial");
  });
}

void RdbStorage::set_trial_param(int64_t trial_id, const std::string& name, double internal,
                                 const Distribution& distribution) {
  const std::string json = distribution.to_json().dump();
  transact(true, [&] {
    const int64_t number = check_writable(trial_id);
    const SqlRows rows = connection_->query(
        "SELECT distribution_json FROM trial_params WHERE trial_id = ? AND param_name = ?",
        {trial_id, name});
    if (!rows.empty()) {
      const Distribution& known = parse_distribution(rows[0].as_text(0));
      CHOP_CHECK(known == distribution, SearchError,
                 "parameter '{}' of trial {} was set with {} and now with {}", name, number,
                 known.to_string(), distribution.to_string());
    }
    connection_->query(
        "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES "
        "(?, ?, ?, ?) ON CONFLICT (trial_id, param_name) DO UPDATE SET param_value = "
        "excluded.param_value, distribution_json = excluded.distribution_json",
        {trial_id, name, internal, json});
  });
}

bool RdbStorage::set_trial_state_values(int64_t trial_id, TrialState state,
                                        const std::vector<double>& values) {
  for (double v : values) CHOP_CHECK(!std::isnan(v), SearchError, "a trial value cannot be NaN");
  const std::string now = format_datetime(Clock::now());
  return transact(true, [&] {
    const SqlRows rows = connection_->query(
        "SELECT state FROM trials WHERE trial_id = ?" + connection_->for_update_sql(), {trial_id});
    CHOP_CHECK(!rows.empty(), SearchError, "no trial with id {}", trial_id);
    if (parse_state(rows[0].as_text(0)) != TrialState::Running) return false;
    if (is_finished(state)) {
      connection_->query("UPDATE trials SET state = ?, datetime_complete = ? WHERE trial_id = ?",
                         {std::string(to_string(state)), now, trial_id});
    } else {
      connection_->query("UPDATE trials SET state = ? WHERE trial_id = ?",
                         {std::string(to_string(state)), trial_id});
    }
    for (size_t i = 0; i < values.size(); ++i) {
      auto [stored, type] = encode_value(values[i]);
      connection_->query(
          "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, ?, ?, ?) "
          "ON CONFLICT (trial_id, objective) DO UPDATE SET value = excluded.value, value_type = "
          "excluded.value_type",
          {trial_id, static_cast<int64_t>(i), stored, type});
    }
    return true;
  });
}

void RdbStorage::set_trial_intermediate_value(int64_t trial_id, int64_t step, double value) {
  const auto encoded = encode_value(value);  // (clang 14 lambdas cannot capture a structured binding)
  transact(true, [&] {
    const auto& [stored, type] = encoded;
    check_writable(trial_id);
    connection_->query(
        "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, "
        "intermediate_value_type) VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, step) DO UPDATE SET "
        "intermediate_value = excluded.intermediate_value, intermediate_value_type = "
        "excluded.intermediate_value_type",
        {trial_id, step, stored, type});
  });
}

void RdbStorage::set_trial_user_attr(int64_t trial_id, const std::string& key,
                                     const nlohmann::json& value) {
  transact(true, [&] {
    check_writable(trial_id);
    upsert_attr("trial_user_attributes", "trial_id", trial_id, key, value);
  });
}

void RdbStorage::set_trial_system_attr(int64_t trial_id, const std::string& key,
                                       const nlohmann::json& value) {
  transact(true, [&] {
    check_writable(trial_id);
    upsert_attr("trial_system_attributes", "trial_id", trial_id, key, value);
  });
}

void RdbStorage::set_trial_constraints(int64_t trial_id, const std::vector<double>& constraints) {
  set_trial_system_attr(trial_id, "constraints", constraints);
}

void RdbStorage::record_heartbeat(int64_t trial_id) {
  transact(true, [&] {
    check_writable(trial_id);
    upsert_heartbeat(trial_id);
  });
}

void RdbStorage::upsert_heartbeat(int64_t trial_id) const {
  connection_->query("INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?, " + connection_->now_sql() +
                         ") ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
                     {trial_id});
}

std::vector<int64_t> RdbStorage::fail_stale_trials(int64_t study_id, double grace_seconds) {
  CHOP_CHECK(grace_seconds >= 0, ConfigError, "`grace_seconds >= 0` must hold, but got {}",
             grace_seconds);
  const std::string now = format_datetime(Clock::now());
  return transact(true, [&]() -> std::vector<int64_t> {
    // Right after an outage every heartbeat looks stale: give the other processes one grace
    // period to reconnect and beat again before judging them dead. Checked inside the
    // transaction, so also when this very call lost the connection and retries after
    // reconnecting (the soak's outage phase failed live workers' trials that way).
    if (reconnected_at_ && std::chrono::steady_clock::now() - *reconnected_at_ <
                               std::chrono::duration<double>(grace_seconds))
      return {};
    check_study(study_id);
    const SqlRows stale = connection_->query(
        "SELECT t.trial_id FROM trials t JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
        "WHERE t.study_id = ? AND t.state = 'RUNNING' AND h.heartbeat < " +
            connection_->now_minus_sql(grace_seconds) + " ORDER BY t.number",
        {study_id});
    std::vector<int64_t> failed;
    for (const auto& r : stale) {
      const SqlRows won = connection_->query(
          "UPDATE trials SET state = 'FAIL', datetime_complete = ? WHERE trial_id = ? AND "
          "state = 'RUNNING' RETURNING trial_id",
          {now, r.as_int(0)});
      if (won.empty()) continue;
      upsert_attr("trial_system_attributes", "trial_id", r.as_int(0), "fail_reason",
                  heartbeat_lost_reason(grace_seconds));
      upsert_attr("trial_system_attributes", "trial_id", r.as_int(0), kHeartbeatLostAttr, true);
      failed.push_back(r.as_int(0));
    }
    return failed;
  });
}

const Distribution& RdbStorage::parse_distribution(const std::string& json) const {
  auto it = distribution_cache_.find(json);
  if (it != distribution_cache_.end()) return it->second;
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  CHOP_CHECK(!j.is_discarded(), SearchError, "the database holds a bad distribution_json: {}",
             json);
  return distribution_cache_.emplace(json, Distribution::from_json(j)).first->second;
}

std::unordered_map<int64_t, std::shared_ptr<FrozenTrial>> RdbStorage::load_trials(
    const std::vector<int64_t>& trial_ids) const {
  std::unordered_map<int64_t, std::shared_ptr<FrozenTrial>> out;
  constexpr size_t kChunk = 500;
  for (size_t begin = 0; begin < trial_ids.size(); begin += kChunk) {
    const size_t end = std::min(trial_ids.size(), begin + kChunk);
    const std::string in = id_list(trial_ids, begin, end);
    for (const auto& r : connection_->query(
             "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials "
             "WHERE trial_id IN " + in)) {
      auto t = std::make_shared<FrozenTrial>();
      t->trial_id = r.as_int(0);
      t->number = r.as_int(1);
      t->state = parse_state(r.as_text(2));
      t->datetime_start = parse_datetime(r.as_text(3));
      t->datetime_complete = parse_datetime(r.as_text(4));
      out.emplace(t->trial_id, std::move(t));
    }
    auto trial = [&](const SqlRow& r) -> FrozenTrial* {
      auto it = out.find(r.as_int(0));
      return it == out.end() ? nullptr : it->second.get();
    };
    for (const auto& r : connection_->query(
             "SELECT trial_id, param_name, param_value, distribution_json FROM trial_params "
             "WHERE trial_id IN " + in)) {
      if (FrozenTrial* t = trial(r)) {
        const std::string name = r.as_text(1);
        t->params[name] = r.as_double(2).value_or(0.0);
        t->distributions.insert_or_assign(name, parse_distribution(r.as_text(3)));
      }
    }
    for (const auto& r : connection_->query(
             "SELECT trial_id, objective, value, value_type FROM trial_values WHERE trial_id IN " +
             in + " ORDER BY trial_id, objective")) {
      if (FrozenTrial* t = trial(r)) {
        const auto objective = static_cast<size_t>(r.as_int(1));
        if (t->values.size() <= objective)
          t->values.resize(objective + 1, std::numeric_limits<double>::quiet_NaN());
        t->values[objective] = decode_value(r.as_double(2), r.as_text(3));
      }
    }
    for (const auto& r : connection_->query(
             "SELECT trial_id, step, intermediate_value, intermediate_value_type FROM "
             "trial_intermediate_values WHERE trial_id IN " + in)) {
      if (FrozenTrial* t = trial(r))
        t->intermediate_values[r.as_int(1)] = decode_value(r.as_double(2), r.as_text(3));
    }
    for (const auto& r : connection_->query(
             "SELECT trial_id, \"key\", value_json FROM trial_user_attributes WHERE trial_id IN " +
             in)) {
      if (FrozenTrial* t = trial(r)) t->user_attrs[r.as_text(1)] = parse_attr(r.as_text(2));
    }
    for (const auto& r : connection_->query(
             "SELECT trial_id, \"key\", value_json FROM trial_system_attributes WHERE trial_id "
             "IN " + in)) {
      FrozenTrial* t = trial(r);
      if (t == nullptr) continue;
      const std::string key = r.as_text(1);
      const nlohmann::json value = parse_attr(r.as_text(2));
      if (key == "constraints" && value.is_array()) {
        t->constraints.clear();
        for (const auto& c : value) t->constraints.push_back(c.is_number() ? c.get<double>() : NAN);
        continue;
      }
      t->system_attrs[key] = value;
    }
  }
  return out;
}

FrozenTrialPtr RdbStorage::get_trial(int64_t trial_id) const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = finished_cache_.find(trial_id);
    if (it != finished_cache_.end()) return it->second;
  }
  return transact(false, [&]() -> FrozenTrialPtr {
    auto loaded = load_trials({trial_id});
    CHOP_CHECK(!loaded.empty(), SearchError, "no trial with id {}", trial_id);
    FrozenTrialPtr t = std::move(loaded.begin()->second);
    if (is_finished(t->state)) finished_cache_.emplace(trial_id, t);
    return t;
  });
}

std::vector<FrozenTrialPtr> RdbStorage::get_all_trials(
    int64_t study_id, const std::optional<std::vector<TrialState>>& states) const {
  return transact(false, [&] {
    const SqlRows rows = connection_->query(
        "SELECT trial_id FROM trials WHERE study_id = ? ORDER BY number", {study_id});
    if (rows.empty()) check_study(study_id);
    std::vector<int64_t> ids;
    std::vector<int64_t> missing;
    ids.reserve(rows.size());
    for (const auto& r : rows) {
      ids.push_back(r.as_int(0));
      if (finished_cache_.count(ids.back()) == 0) missing.push_back(ids.back());
    }
    auto loaded = load_trials(missing);
    std::vector<FrozenTrialPtr> out;
    out.reserve(ids.size());
    for (int64_t id : ids) {
      FrozenTrialPtr t;
      auto cached = finished_cache_.find(id);
      if (cached != finished_cache_.end()) {
        t = cached->second;
      } else {
        auto it = loaded.find(id);
        if (it == loaded.end()) continue;  // deleted meanwhile (not done by chop)
        t = it->second;
        if (is_finished(t->state)) finished_cache_.emplace(id, t);
      }
      if (states) {
        bool keep = false;
        for (TrialState s : *states) keep = keep || t->state == s;
        if (!keep) continue;
      }
      out.push_back(std::move(t));
    }
    return out;
  });
}

int64_t RdbStorage::get_n_trials(int64_t study_id, std::optional<TrialState> state) const {
  return transact(false, [&] {
    const int64_t n =
        state ? connection_
                    ->query("SELECT COUNT(*) FROM trials WHERE study_id = ? AND state = ?",
                            {study_id, std::string(to_string(*state))})
                    .at(0)
                    .as_int(0)
              : connection_->query("SELECT COUNT(*) FROM trials WHERE study_id = ?", {study_id})
                    .at(0)
                    .as_int(0);
    if (n == 0) check_study(study_id);
    return n;
  });
}

}  // namespace chop::search
