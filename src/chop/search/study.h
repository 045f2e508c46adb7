// Study: a search over one objective (or several) with ask/tell, optimize, best trials and dedup.
#pragma once

#include "chop/search/frozen_trial.h"
#include "chop/search/pruners/pruner.h"
#include "chop/search/samplers/sampler.h"
#include "chop/search/storage/storage.h"
#include "chop/search/trial.h"
#include "chop/support/error.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

namespace chop::search {

/// Options of a study; every member has a usable default.
struct StudyOptions {
  std::string name = "chop-study";
  std::vector<StudyDirection> directions = {StudyDirection::Minimize};
  std::shared_ptr<Sampler> sampler;   ///< null: TpeSampler with seed 0
  std::shared_ptr<Pruner> pruner;     ///< null: NopPruner
  std::shared_ptr<Storage> storage;   ///< null: a fresh InMemoryStorage
  bool load_if_exists = false;        ///< reuse a study of this name in `storage`
  /// In discrete spaces, reuse the values of an identical COMPLETE trial instead of calling the
  /// objective (the new trial gets user attr "dedup_of" = the earlier trial's number). With a
  /// fully discrete `search_space`, also distinct proposals: each new trial's configuration is
  /// drawn whole when it is asked (stored as its params at once) and is one no COMPLETE, PRUNED,
  /// RUNNING or WAITING trial has (Sampler::propose_unseen); once every configuration has such a
  /// trial the study is exhausted (try_ask returns nullopt, exhausted() is true; while some of
  /// those trials still run, try_ask waits, since one may fail and free its configuration).
  bool dedup = false;
  /// The whole search space, when known before the first trial (chop search knows it): given to
  /// the sampler (Sampler::set_search_space) and used by dedup's distinct proposals.
  SearchSpace search_space;
  /// Direction of the intermediate values pruners compare; default: directions[0].
  std::optional<StudyDirection> pruning_direction;
  /// Seconds between heartbeats of this study's RUNNING trials (a background thread); 0: off.
  /// With heartbeats on, every ask first marks stale RUNNING trials (dead workers) FAIL.
  double heartbeat_interval_seconds = 0.0;
  /// A RUNNING trial whose last heartbeat is older than this is stale; 0: 2 x the interval.
  double grace_period_seconds = 0.0;
  /// Each stale trial failed by this study is retried (a WAITING copy with the same params,
  /// system attrs "failed_trial" and "retry_history" as Optuna's RetryFailedTrialCallback) until
  /// the original was retried this many times; 0: no retry.
  int64_t max_retry = 0;

  StudyOptions& with_name(std::string v) { name = std::move(v); return *this; }
  StudyOptions& with_directions(std::vector<StudyDirection> v) { directions = std::move(v); return *this; }
  StudyOptions& with_sampler(std::shared_ptr<Sampler> v) { sampler = std::move(v); return *this; }
  StudyOptions& with_pruner(std::shared_ptr<Pruner> v) { pruner = std::move(v); return *this; }
  StudyOptions& with_storage(std::shared_ptr<Storage> v) { storage = std::move(v); return *this; }
  StudyOptions& with_dedup(bool v) { dedup = v; return *this; }
  StudyOptions& with_search_space(SearchSpace v) { search_space = std::move(v); return *this; }
  StudyOptions& with_load_if_exists(bool v) { load_if_exists = v; return *this; }
  StudyOptions& with_heartbeat(double interval_seconds, double grace_seconds = 0.0) {
    heartbeat_interval_seconds = interval_seconds;
    grace_period_seconds = grace_seconds;
    return *this;
  }
  StudyOptions& with_max_retry(int64_t v) { max_retry = v; return *this; }
};

/// Returns one value per objective.
using Objective = std::function<std::vector<double>(Trial&)>;
/// Called after every finished trial (from the worker thread that ran it).
using Callback = std::function<void(class Study&, const FrozenTrial&)>;

/// Options of Study::optimize.
struct OptimizeOptions {
  int64_t n_trials = -1;          ///< -1: no limit (then timeout_seconds must be > 0)
  double timeout_seconds = 0.0;   ///< 0: no limit
  int n_jobs = 1;                 ///< threads running trials in this process
  /// false: run n_trials new trials. true: run until the study holds n_trials COMPLETE trials in
  /// storage, counting those of earlier runs and other workers (resume, distributed workers):
  /// workers never start more trials than that needs (see try_ask), so no worker overshoots
  /// unless a retried trial completes alongside its replacement.
  bool until_study_total = false;
  std::vector<Callback> callbacks;
};

class Study {
 public:
  /// Creates (or, with load_if_exists, loads) the study in its storage. ConfigError on bad
  /// options; SearchError when the name exists and load_if_exists is false.
  explicit Study(StudyOptions options = {});
  /// Stops the heartbeat thread (trials still RUNNING then go stale, as a dead worker's would).
  ~Study();
  Study(const Study&) = delete;
  Study& operator=(const Study&) = delete;

  const std::string& name() const { return options_.name; }
  const std::vector<StudyDirection>& directions() const { return directions_; }
  int64_t n_objectives() const { return static_cast<int64_t>(directions_.size()); }
  bool is_multi_objective() const { return directions_.size() > 1; }
  StudyDirection pruning_direction() const;
  Storage& storage() { return *storage_; }
  const Storage& storage() const { return *storage_; }
  int64_t study_id() const { return study_id_; }
  Sampler& sampler() { return *sampler_; }
  Pruner& pruner() { return *pruner_; }

  /// Starts a trial: the oldest WAITING one (a retry) if any, else a new one; nullopt when the
  /// sampler is exhausted (a finished grid). With heartbeats on, first fails stale trials.
  /// With `study_total`, a new trial starts only while COMPLETE, RUNNING and WAITING trials of
  /// the study (all workers) number fewer than it: it then waits while trials run elsewhere (one
  /// may fail and free its place) and returns nullopt once the total is COMPLETE, stop() was
  /// called or optimize()'s timeout passed. Atomic across workers (Storage::create_trial_claiming).
  std::optional<Trial> try_ask(std::optional<int64_t> study_total = std::nullopt);
  /// Starts a new trial; SearchError when the sampler is exhausted.
  Trial ask();
  /// Finishes a trial as COMPLETE with one value per objective. A wrong number of values or a NaN
  /// makes it FAIL (with the reason) instead. Returns the final snapshot.
  FrozenTrialPtr tell(Trial& trial, const std::vector<double>& values);
  /// Finishes a trial in `state` (COMPLETE, PRUNED or FAIL); `fail_reason` is stored for FAIL.
  FrozenTrialPtr tell(Trial& trial, TrialState state, const std::vector<double>& values = {},
                      const std::string& fail_reason = "");

  /// Runs trials until n_trials, the timeout, stop() or an exhausted sampler. A trial whose
  /// objective throws is recorded FAIL with what() and the search goes on; a ConfigError (or an
  /// internal error) stops the search and is rethrown after running trials finish.
  void optimize(const Objective& objective, const OptimizeOptions& options);
  void optimize(const Objective& objective, int64_t n_trials, double timeout_seconds = 0.0,
                int n_jobs = 1, std::vector<Callback> callbacks = {});
  /// Asks optimize() to start no new trials.
  void stop() { stop_ = true; }

  /// Snapshots of all trials (or those in `states`), number order.
  std::vector<FrozenTrialPtr> trials(
      const std::optional<std::vector<TrialState>>& states = std::nullopt) const;
  /// Best feasible COMPLETE trial of a single-objective study; SearchError when none or when the
  /// study is multi-objective.
  FrozenTrialPtr best_trial() const;
  /// Feasible COMPLETE trials on the Pareto front (the best trial(s) when single-objective).
  std::vector<FrozenTrialPtr> best_trials() const;
  /// Number of COMPLETE trials in storage (from every worker and earlier runs).
  int64_t n_complete() const;
  /// Marks RUNNING trials whose heartbeat is older than `grace_seconds` (default: the options'
  /// grace period) FAIL, retries them if max_retry allows, and returns their numbers.
  std::vector<int64_t> fail_stale_trials(std::optional<double> grace_seconds = std::nullopt);
  /// True when running trials record heartbeats (a shared storage).
  bool heartbeats_on() const { return options_.heartbeat_interval_seconds > 0; }
  /// Number of configurations of the options' search space; -1 when it is empty or not discrete.
  int64_t space_size() const { return space_size_; }
  /// True when proposals are distinct (dedup with a fully discrete search space).
  bool distinct_proposals() const { return distinct_; }
  /// True once try_ask found every configuration of the search space evaluated or running.
  bool exhausted() const { return exhausted_; }

  /// Number of an earlier COMPLETE trial with exactly these internal params, if any.
  std::optional<int64_t> find_duplicate(const std::map<std::string, double>& params) const;

 private:
  FrozenTrialPtr run_trial(Trial& trial, const Objective& objective);
  void start_heartbeat(int64_t trial_id);
  void stop_heartbeat(int64_t trial_id);
  void heartbeat_loop();
  void retry(const FrozenTrial& failed);
  std::optional<FrozenTrialPtr> try_dedup(Trial& trial);
  /// Keys (space_key) of the configurations COMPLETE, PRUNED, RUNNING or WAITING trials hold;
  /// `unfinished`: some trial is RUNNING or WAITING. Caller holds ask_mutex_.
  std::set<std::string> seen_configs_locked(bool& unfinished);
  /// params_key of `params` restricted to the search space's names.
  std::string space_key(const std::map<std::string, double>& params) const;
  /// The sampler's proposal for the whole search space, replaced by an unseen one when seen.
  Params distinct_proposal(const FrozenTrial& snap, const std::map<std::string, double>& relative,
                           const SearchSpace& relative_space, const std::set<std::string>& seen);

  StudyOptions options_;
  std::vector<StudyDirection> directions_;
  std::shared_ptr<Storage> storage_;
  std::shared_ptr<Sampler> sampler_;
  std::shared_ptr<Pruner> pruner_;
  int64_t study_id_ = -1;
  std::atomic<bool> stop_{false};
  /// optimize()'s timeout, for try_ask's wait for a free slot (written before worker threads start).
  std::chrono::steady_clock::time_point wait_deadline_ = std::chrono::steady_clock::time_point::max();
  bool distinct_ = false;
  int64_t space_size_ = -1;
  std::atomic<bool> exhausted_{false};
  std::map<int64_t, std::optional<std::string>> finished_keys_;  // by number; nullopt: FAIL
  std::map<std::string, int64_t> failed_configs_;  // space_key -> FAIL trials (claim attempts)
  std::mutex ask_mutex_;
  mutable std::mutex dedup_mutex_;
  std::unordered_map<std::string, int64_t> complete_by_params_;  // params key -> trial number
  SearchSpace complete_space_;                                   // union over COMPLETE trials
  std::mutex heartbeat_mutex_;
  std::condition_variable heartbeat_cv_;
  std::set<int64_t> heartbeat_ids_;  // RUNNING trials of this study object
  bool heartbeat_stop_ = false;
  std::thread heartbeat_thread_;
};

/// Key of a parameter set for de-duplication (names and internal values).
std::string params_key(const std::map<std::string, double>& params);

}  // namespace chop::search
