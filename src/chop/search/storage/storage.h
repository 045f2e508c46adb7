// Storage: the interface every study store implements (in memory, SQLite, PostgreSQL).
#pragma once

#include "chop/search/frozen_trial.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chop::search {

/// Where a new trial landed: storage-wide id and per-study number.
struct TrialRef {
  int64_t trial_id = -1;
  int64_t number = -1;
};

/// Contract (modelled on Optuna's BaseStorage, so an RDB storage with Optuna's schema can follow):
/// - Thread-safe: every method may be called from any thread at any time.
/// - Snapshots (FrozenTrialPtr) returned by get_trial/get_all_trials never change afterwards; a
///   later write produces a new snapshot. Holding one is cheap (shared, not copied).
/// - Finished trials (COMPLETE, PRUNED, FAIL) are read-only: any write to them throws SearchError.
/// - Trial numbers within a study are 0, 1, 2 ... in creation order; get_all_trials returns trials
///   in number order.
/// - Unknown study or trial ids throw SearchError.
/// - A trial created by create_trial is RUNNING; WAITING trials (retries of failed ones, created
///   by create_trial_from) become RUNNING through pop_waiting_trial, exactly once each.
/// - Heartbeats: a RUNNING trial whose last heartbeat is older than a grace period belongs to a
///   dead worker; fail_stale_trials marks it FAIL (trials that never had a heartbeat are left
///   alone, as in Optuna).
/// Samplers are stateless between trials and read history through these calls, so several
/// workers (threads, or processes sharing an RDB storage) can share one study without a master.
/// System attr (true) of a trial failed by fail_stale_trials: its process died, the trial itself
/// did not fail (the grid runs such a point again).
inline constexpr const char* kHeartbeatLostAttr = "heartbeat_lost";
/// fail_reason of such a trial.
inline std::string heartbeat_lost_reason(double grace_seconds) {
  return "no heartbeat for more than " + std::to_string(static_cast<int64_t>(grace_seconds + 0.5)) +
         " s: the process running it died (killed, crashed or cut off from the storage)";
}

class Storage {
 public:
  virtual ~Storage() = default;

  /// Creates a study; SearchError when the name is taken. Returns the study id.
  virtual int64_t create_study(const std::string& name,
                               const std::vector<StudyDirection>& directions) = 0;
  /// Id of the study with this name; SearchError when there is none.
  virtual int64_t get_study_id(const std::string& name) const = 0;
  virtual std::string get_study_name(int64_t study_id) const = 0;
  virtual std::vector<StudyDirection> get_study_directions(int64_t study_id) const = 0;
  /// Names of all studies, in creation order.
  virtual std::vector<std::string> get_all_study_names() const = 0;
  /// Study-level attributes (JSON values); a later write to the same key replaces the value.
  virtual void set_study_user_attr(int64_t study_id, const std::string& key,
                                   const nlohmann::json& value) = 0;
  virtual std::map<std::string, nlohmann::json> get_study_user_attrs(int64_t study_id) const = 0;
  virtual void set_study_system_attr(int64_t study_id, const std::string& key,
                                     const nlohmann::json& value) = 0;
  virtual std::map<std::string, nlohmann::json> get_study_system_attrs(int64_t study_id) const = 0;

  /// Adds a RUNNING trial (start time now) to the study and returns its id and number.
  virtual TrialRef create_trial(int64_t study_id) = 0;
  /// Adds a trial copied from `templ` (state, values, params, intermediate values, attrs,
  /// constraints; trial_id and number are new). A RUNNING or WAITING copy gets start time now
  /// when `templ` has none. Used for retries (WAITING) and for importing finished trials.
  virtual TrialRef create_trial_from(int64_t study_id, const FrozenTrial& templ) = 0;
  /// Adds a RUNNING trial as create_trial does, but only if none of the study system attributes
  /// `claim_keys` is set: in one transaction it sets each to the new trial's number and sets the
  /// trial's `system_attrs`. nullopt (and nothing written) when any key is already set. Atomic
  /// across workers: each key is claimed by exactly one trial (grid points, trial-total slots).
  virtual std::optional<TrialRef> create_trial_claiming(
      int64_t study_id, const std::vector<std::string>& claim_keys,
      const std::map<std::string, nlohmann::json>& system_attrs) = 0;
  /// Sets study system attribute `key` to `value` only if it is not set; true when this call set
  /// it. Atomic across workers, like create_trial_claiming (distinct configurations).
  virtual bool claim_study_key(int64_t study_id, const std::string& key, const nlohmann::json& value) = 0;
  /// Moves the lowest-numbered WAITING trial of the study to RUNNING (start time now) and returns
  /// it; nullopt when there is none. Atomic: two workers never pop the same trial.
  virtual std::optional<TrialRef> pop_waiting_trial(int64_t study_id) = 0;
  /// Records a parameter (internal value) of a running trial; SearchError if the name is already
  /// set with a different distribution.
  virtual void set_trial_param(int64_t trial_id, const std::string& name, double internal,
                               const Distribution& distribution) = 0;
  /// Moves a running trial to `state` with `values` (empty unless COMPLETE); sets the completion
  /// time when finished. Returns false (and changes nothing) when the trial is not RUNNING.
  virtual bool set_trial_state_values(int64_t trial_id, TrialState state,
                                      const std::vector<double>& values) = 0;
  virtual void set_trial_intermediate_value(int64_t trial_id, int64_t step, double value) = 0;
  virtual void set_trial_user_attr(int64_t trial_id, const std::string& key,
                                   const nlohmann::json& value) = 0;
  virtual void set_trial_system_attr(int64_t trial_id, const std::string& key,
                                     const nlohmann::json& value) = 0;
  /// Constraint values of the trial (each <= 0 means satisfied).
  virtual void set_trial_constraints(int64_t trial_id, const std::vector<double>& constraints) = 0;

  /// Records "this RUNNING trial is alive now" (the storage's clock). SearchError when finished.
  virtual void record_heartbeat(int64_t trial_id) = 0;
  /// On: every trial this storage object makes RUNNING (create_trial, create_trial_claiming,
  /// pop_waiting_trial) gets its first heartbeat in the same transaction, so a process that dies
  /// (or whose disk fills) between the two never leaves a RUNNING trial without one, which
  /// fail_stale_trials could never fail. A study with heartbeats turns it on. Storages whose
  /// trials cannot outlive their process (in memory) ignore it.
  virtual void set_first_heartbeat(bool) {}
  /// Marks FAIL (completion time now) every RUNNING trial of the study whose last heartbeat is
  /// older than `grace_seconds`, with system attrs fail_reason (why, in words) and
  /// kHeartbeatLostAttr = true, and returns their trial ids. Atomic per trial: when several
  /// workers call this at once, each stale trial is reported to exactly one of them.
  virtual std::vector<int64_t> fail_stale_trials(int64_t study_id, double grace_seconds) = 0;

  /// Snapshot of one trial.
  virtual FrozenTrialPtr get_trial(int64_t trial_id) const = 0;
  /// Snapshots of the study's trials in number order, optionally only those in `states`.
  virtual std::vector<FrozenTrialPtr> get_all_trials(
      int64_t study_id, const std::optional<std::vector<TrialState>>& states = std::nullopt) const = 0;
  /// Number of trials, optionally only in one state.
  virtual int64_t get_n_trials(int64_t study_id,
                               std::optional<TrialState> state = std::nullopt) const = 0;
};

}  // namespace chop::search
