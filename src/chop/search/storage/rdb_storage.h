// RdbStorage: a Storage in Optuna's relational schema (version 12) over any SqlConnection.
#pragma once

#include "chop/search/storage/sql_connection.h"
#include "chop/search/storage/storage.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace chop::search {

/// Storage in a relational database laid out exactly as Optuna 3.1 lays it out, so that
/// `optuna.load_study(storage=url, study_name=...)` reads what chop writes and chop continues
/// studies Optuna started. See Storage for the contract; in addition:
/// - Several processes may share one database. Every state change is one transaction; trial
///   numbers are assigned under a per-study lock (SQLite: the database write lock taken by
///   BEGIN IMMEDIATE; PostgreSQL: SELECT ... FOR UPDATE on the study row), so they are unique and
///   consecutive. Transient conflicts are retried.
/// - Categorical params are stored as the choice index, distributions as Optuna's JSON, attrs as
///   JSON text, infinite values as value_type INF_POS / INF_NEG; constraints in the trial system
///   attr "constraints" (as Optuna does).
/// - Finished trials are read once and cached (they never change); unfinished ones are re-read.
class RdbStorage : public Storage {
 public:
  /// Takes the connection, creates the schema if the database is empty, and checks the schema
  /// version otherwise (SearchError for a schema other than Optuna's version 12).
  explicit RdbStorage(std::unique_ptr<SqlConnection> connection);
  ~RdbStorage() override;

  int64_t create_study(const std::string& name,
                       const std::vector<StudyDirection>& directions) override;
  int64_t get_study_id(const std::string& name) const override;
  std::string get_study_name(int64_t study_id) const override;
  std::vector<StudyDirection> get_study_directions(int64_t study_id) const override;
  std::vector<std::string> get_all_study_names() const override;
  void set_study_user_attr(int64_t study_id, const std::string& key,
                           const nlohmann::json& value) override;
  std::map<std::string, nlohmann::json> get_study_user_attrs(int64_t study_id) const override;
  void set_study_system_attr(int64_t study_id, const std::string& key,
                             const nlohmann::json& value) override;
  std::map<std::string, nlohmann::json> get_study_system_attrs(int64_t study_id) const override;

  TrialRef create_trial(int64_t study_id) override;
  TrialRef create_trial_from(int64_t study_id, const FrozenTrial& templ) override;
  std::optional<TrialRef> create_trial_claiming(
      int64_t study_id, const std::vector<std::string>& claim_keys,
      const std::map<std::string, nlohmann::json>& system_attrs) override;
  bool claim_study_key(int64_t study_id, const std::string& key, const nlohmann::json& value) override;
  std::optional<TrialRef> pop_waiting_trial(int64_t study_id) override;
  void set_trial_param(int64_t trial_id, const std::string& name, double internal,
                       const Distribution& distribution) override;
  bool set_trial_state_values(int64_t trial_id, TrialState state,
                              const std::vector<double>& values) override;
  void set_trial_intermediate_value(int64_t trial_id, int64_t step, double value) override;
  void set_trial_user_attr(int64_t trial_id, const std::string& key,
                           const nlohmann::json& value) override;
  void set_trial_system_attr(int64_t trial_id, const std::string& key,
                             const nlohmann::json& value) override;
  void set_trial_constraints(int64_t trial_id, const std::vector<double>& constraints) override;
  void record_heartbeat(int64_t trial_id) override;
  void set_first_heartbeat(bool on) override { first_heartbeat_ = on; }
  std::vector<int64_t> fail_stale_trials(int64_t study_id, double grace_seconds) override;

  FrozenTrialPtr get_trial(int64_t trial_id) const override;
  std::vector<FrozenTrialPtr> get_all_trials(
      int64_t study_id, const std::optional<std::vector<TrialState>>& states) const override;
  int64_t get_n_trials(int64_t study_id, std::optional<TrialState> state) const override;

  SqlDialect dialect() const { return connection_->dialect(); }

 private:
  /// Runs `body` in one transaction, retrying the whole of it on SqlRetryableError.
  template <typename Fn>
  auto transact(bool write, Fn&& body) const;
  void check_study(int64_t study_id) const;
  /// Number of a trial that may be written (exists, not finished); SearchError otherwise. Locks
  /// the trial row where the dialect needs it.
  int64_t check_writable(int64_t trial_id) const;
  TrialRef insert_trial(int64_t study_id, TrialState state, const std::string& start,
                        const std::string& complete) const;
  /// The trial's heartbeat row set to now (inside a transaction).
  void upsert_heartbeat(int64_t trial_id) const;
  void upsert_attr(const char* table, const char* owner_column, int64_t owner_id,
                   const std::string& key, const nlohmann::json& value) const;
  /// Inserts study system attribute `key` (value null) unless it exists; false when it did. The
  /// unique (study_id, key) index makes this atomic in both databases: a concurrent inserter of
  /// the same key waits for the caller's transaction and then inserts nothing.
  bool insert_study_key(int64_t study_id, const std::string& key) const;
  std::map<std::string, nlohmann::json> read_attrs(const char* table, const char* owner_column,
                                                   int64_t owner_id) const;
  /// Loads full snapshots of `trial_ids` (inside the caller's transaction).
  std::unordered_map<int64_t, std::shared_ptr<FrozenTrial>> load_trials(
      const std::vector<int64_t>& trial_ids) const;
  const Distribution& parse_distribution(const std::string& json) const;

  /// After SqlConnectionLost: reconnects with back-off (a message on stderr while waiting), at
  /// most reconnect_limit_seconds(); SearchError after that.
  void wait_for_connection(const std::string& why) const;
  /// CHOP_STORAGE_RECONNECT_SECONDS, default 600.
  static double reconnect_limit_seconds();

  std::unique_ptr<SqlConnection> connection_;
  bool first_heartbeat_ = false;  ///< set_first_heartbeat
  mutable std::optional<std::chrono::steady_clock::time_point> reconnected_at_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<int64_t, FrozenTrialPtr> finished_cache_;    // by trial id
  mutable std::unordered_map<std::string, Distribution> distribution_cache_;  // by JSON text
};

/// Local wall time as Optuna writes DATETIME columns: "YYYY-MM-DD HH:MM:SS.ffffff".
std::string format_datetime(Clock::time_point t);
/// Inverse of format_datetime (fraction optional); nullopt for "" or an unparseable text.
std::optional<Clock::time_point> parse_datetime(const std::string& text);

}  // namespace chop::search
