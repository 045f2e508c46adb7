// InMemoryStorage: the default Storage, all studies in process memory behind one mutex.
#pragma once

#include "chop/search/storage/storage.h"

#include <chrono>
#include <mutex>
#include <unordered_map>

namespace chop::search {

/// Storage in process memory; see Storage for the contract. Writes to a trial nobody holds a
/// snapshot of happen in place; otherwise the trial is copied first (copy on write).
class InMemoryStorage : public Storage {
 public:
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
  std::vector<int64_t> fail_stale_trials(int64_t study_id, double grace_seconds) override;

  FrozenTrialPtr get_trial(int64_t trial_id) const override;
  std::vector<FrozenTrialPtr> get_all_trials(
      int64_t study_id, const std::optional<std::vector<TrialState>>& states) const override;
  int64_t get_n_trials(int64_t study_id, std::optional<TrialState> state) const override;

 private:
  struct StudyRecord {
    std::string name;
    std::vector<StudyDirection> directions;
    std::vector<std::shared_ptr<FrozenTrial>> trials;  // by number
    std::map<std::string, nlohmann::json> user_attrs;
    std::map<std::string, nlohmann::json> system_attrs;
  };
  const StudyRecord& study(int64_t study_id) const;
  /// create_trial with mutex_ held.
  TrialRef create_trial_locked(int64_t study_id);
  /// The trial, made writable: running (else SearchError) and not shared with any reader.
  FrozenTrial& writable(int64_t trial_id);

  mutable std::mutex mutex_;
  std::vector<StudyRecord> studies_;                           // by study id
  std::vector<std::pair<int64_t, int64_t>> trial_locations_;  // trial id -> (study id, number)
  std::unordered_map<int64_t, std::chrono::steady_clock::time_point> heartbeats_;  // by trial id
};

}  // namespace chop::search
