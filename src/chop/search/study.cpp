// Study: a search over one objective (or several) with ask/tell, optimize, best trials and dedup.
#include "chop/search/study.h"

#include "chop/search/multi_objective.h"
#include "chop/search/samplers/tpe_sampler.h"
#include "chop/search/storage/in_memory_storage.h"
#include "chop/support/error.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <set>
#include <thread>

namespace chop::search {

std::string params_key(const std::map<std::string, double>& params) {
  std::string key;
  for (const auto& [name, v] : params) key += fmt::format("{}={:a};", name, v);
  return key;
}

Study::Study(StudyOptions options) : options_(std::move(options)) {
  CHOP_CHECK(!options_.directions.empty(), ConfigError, "a study needs at least one direction");
  directions_ = options_.directions;
  storage_ = options_.storage ? options_.storage : std::make_shared<InMemoryStorage>();
  sampler_ = options_.sampler ? options_.sampler : std::make_shared<TpeSampler>();
  pruner_ = options_.pruner ? options_.pruner : std::make_shared<NopPruner>();
  CHOP_CHECK(options_.heartbeat_interval_seconds >= 0 && options_.grace_period_seconds >= 0,
             ConfigError,
             "heartbeat interval and grace period must be >= 0, but got interval={}, grace={}",
             options_.heartbeat_interval_seconds, options_.grace_period_seconds);
  CHOP_CHECK(options_.max_retry >= 0, ConfigError, "`max_retry >= 0` must hold, but got {}",
             options_.max_retry);
  if (heartbeats_on()) storage_->set_first_heartbeat(true);  // no RUNNING trial without a heartbeat
  if (!options_.search_space.empty()) {
    sampler_->set_search_space(options_.search_space);
    space_size_ = search::space_size(options_.search_space);
    distinct_ = options_.dedup && space_size_ > 0;
  }
  bool exists = false;
  for (const auto& n : storage_->get_all_study_names()) exists = exists || n == options_.name;
  if (!exists) {
    try {
      study_id_ = storage_->create_study(options_.name, directions_);
      return;
    } catch (const SearchError&) {
      // Another worker created it in the meantime.
      if (!options_.load_if_exists) throw;
      exists = true;
    }
  }
  if (exists && options_.load_if_exists) {
    study_id_ = storage_->get_study_id(options_.name);
    const auto stored = storage_->get_study_directions(study_id_);
    CHOP_CHECK(stored == directions_, ConfigError,
               "study '{}' exists with {} objective(s) of other directions; directions must match",
               options_.name, stored.size());
    for (const auto& t : storage_->get_all_trials(study_id_, std::vector{TrialState::Complete})) {
      complete_by_params_.emplace(params_key(t->params), t->number);
      for (const auto& [n, d] : t->distributions) complete_space_.insert_or_assign(n, d);
    }
    return;
  }
  study_id_ = storage_->create_study(options_.name, directions_);
}

StudyDirection Study::pruning_direction() const {
  return options_.pruning_direction.value_or(directions_[0]);
}

Study::~Study() {
  {
    std::lock_guard<std::mutex> lock(heartbeat_mutex_);
    heartbeat_stop_ = true;
  }
  heartbeat_cv_.notify_all();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
}

namespace {

constexpr const char* kSlotAttr = "chop:slot";

/// Where a study stands against a total of COMPLETE trials shared by several workers. Each new
/// trial claims a slot k < total (minus trials without one: earlier runs, Optuna's, retries) as
/// study key "chop:slot:<k>:<attempt>", attempt counting earlier holders that failed or were
/// pruned; so workers never start more trials than the total needs.
struct SlotState {
  bool reached = false;  // every slot holds a COMPLETE trial
  bool wait = false;     // no free slot, but a running trial may still free one
  std::string key;
  nlohmann::json value;
};

SlotState total_slot(const std::vector<FrozenTrialPtr>& trials, int64_t total) {
  int64_t capacity = total;
  std::set<int64_t> held;
  std::map<int64_t, int64_t> attempts;
  bool running = false;
  for (const auto& t : trials) {
    const bool unfinished = t->state == TrialState::Running || t->state == TrialState::Waiting;
    const bool active = unfinished || t->state == TrialState::Complete;
    running = running || unfinished;
    auto it = t->system_attrs.find(kSlotAttr);
    if (it == t->system_attrs.end()) {
      capacity -= active;
      continue;
    }
    const int64_t k = it->second.at(0).get<int64_t>();
    if (active)
      held.insert(k);
    else
      ++attempts[k];
  }
  for (int64_t k = 0; k < capacity; ++k)
    if (!held.count(k))
      return {false, false, fmt::format("{}:{}:{}", kSlotAttr, k, attempts[k]),
              nlohmann::json::array({k, attempts[k]})};
  return {!running, running, "", nullptr};
}

}  // namespace

std::optional<Trial> Study::try_ask(std::optional<int64_t> study_total) {
  std::unique_lock<std::mutex> lock(ask_mutex_, std::defer_lock);
  std::optional<TrialRef> created;
  std::set<std::string> seen;
  bool resumed = false, claimed = false;
  while (!created) {
    if (heartbeats_on()) fail_stale_trials();
    lock.lock();
    created = storage_->pop_waiting_trial(study_id_);
    resumed = created.has_value();
    if (created) break;
    std::vector<std::string> keys;
    std::map<std::string, nlohmann::json> attrs;
    if (distinct_) {
      bool unfinished = false;
      seen = seen_configs_locked(unfinished);
      if (static_cast<int64_t>(seen.size()) >= space_size_) {
        // A running trial (of a dead worker, perhaps) may still fail and free its configuration.
        if (!unfinished) exhausted_ = true;
        if (!unfinished || stop_ || std::chrono::steady_clock::now() >= wait_deadline_) return std::nullopt;
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
    }
    if (study_total) {
      const SlotState slot = total_slot(storage_->get_all_trials(study_id_, std::nullopt), *study_total);
      if (slot.reached ||
          (slot.wait && (stop_ || std::chrono::steady_clock::now() >= wait_deadline_)))
        return std::nullopt;
      if (slot.wait) {
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      keys.push_back(slot.key);
      attrs[kSlotAttr] = slot.value;
    }
    if (std::optional<TrialClaim> claim = sampler_->next_claim(*this)) {
      if (claim->exhausted) {
        exhausted_ = true;
        return std::nullopt;
      }
      claimed = true;
      keys.push_back(claim->key);
      attrs.insert(claim->system_attrs.begin(), claim->system_attrs.end());
    }
    created = keys.empty() ? storage_->create_trial(study_id_)
                           : storage_->create_trial_claiming(study_id_, keys, attrs);
    if (!created) lock.unlock();  // another worker claimed first: look again
  }
  const TrialRef ref = *created;
  if (heartbeats_on()) start_heartbeat(ref.trial_id);
  sampler_->before_trial(*this, *storage_->get_trial(ref.trial_id));
  FrozenTrialPtr snap = storage_->get_trial(ref.trial_id);
  SearchSpace space = sampler_->infer_relative_search_space(*this, *snap);
  std::map<std::string, double> relative;
  if (!space.empty()) relative = sampler_->sample_relative(*this, *snap, space);
  if (distinct_ && !resumed) {
    // The whole configuration now, stored at once, so that other trials see it as taken. A
    // grid's claimed point is distinct by construction.
    Params draft = distinct_proposal(*snap, relative, space, claimed ? std::set<std::string>{} : seen);
    // Another worker process may choose the same configuration at the same moment: each is
    // claimed atomically in storage (per failed attempt, so a failed one can be retried).
    for (int attempt = 0; !claimed && attempt < 32; ++attempt) {
      const std::string key = space_key(draft);
      const std::string claim = fmt::format("chop:config:{:016x}:{}", stable_hash(key), failed_configs_[key]);
      if (storage_->claim_study_key(study_id_, claim, ref.number)) break;
      seen.insert(key);
      if (static_cast<int64_t>(seen.size()) >= space_size_) break;  // none left: dedup reuses
      draft = distinct_proposal(*snap, relative, space, seen);
    }
    for (const auto& [name, v] : draft)
      storage_->set_trial_param(ref.trial_id, name, v, options_.search_space.at(name));
    snap = storage_->get_trial(ref.trial_id);
    return Trial(*this, ref, {}, {}, snap.get());
  }
  return Trial(*this, ref, std::move(relative), std::move(space), snap.get());
}

std::string Study::space_key(const std::map<std::string, double>& params) const {
  std::map<std::string, double> in_space;
  for (const auto& [name, v] : params)
    if (options_.search_space.count(name)) in_space.emplace(name, v);
  return params_key(in_space);
}

std::set<std::string> Study::seen_configs_locked(bool& unfinished) {
  std::set<std::string> seen;
  unfinished = false;
  for (const auto& t : storage_->get_all_trials(study_id_, std::nullopt)) {
    auto cached = finished_keys_.find(t->number);
    if (cached != finished_keys_.end()) {
      if (cached->second) seen.insert(*cached->second);
      continue;
    }
    switch (t->state) {
      case TrialState::Complete:
      case TrialState::Pruned:
        finished_keys_[t->number] = space_key(t->params);
        seen.insert(*finished_keys_[t->number]);
        break;
      case TrialState::Fail:
        finished_keys_[t->number] = std::nullopt;  // a failed configuration may be tried again
        if (!t->params.empty()) ++failed_configs_[space_key(t->params)];
        break;
      case TrialState::Running:
      case TrialState::Waiting:
        if (!t->params.empty()) seen.insert(space_key(t->params));
        unfinished = true;
        break;
    }
  }
  return seen;
}

Params Study::distinct_proposal(const FrozenTrial& snap, const std::map<std::string, double>& relative,
                                const SearchSpace& relative_space, const std::set<std::string>& seen) {
  Params draft;
  for (const auto& [name, d] : options_.search_space) {
    auto r = relative.find(name);
    auto rs = relative_space.find(name);
    if (d.single())
      draft[name] = d.internal_at(0);
    else if (r != relative.end() && rs != relative_space.end() && rs->second == d)
      draft[name] = r->second;
    else
      draft[name] = sampler_->sample_independent(*this, snap, name, d);
    CHOP_ASSERT(d.contains(draft[name]), "sampler '{}' proposed {} outside {} for '{}'",
                sampler_->name(), draft[name], d.to_string(), name);
  }
  const SeenPredicate is_seen = [&](const Params& p) { return seen.count(params_key(p)) > 0; };
  if (auto other = sampler_->propose_unseen(*this, snap, options_.search_space, draft, is_seen)) {
    CHOP_ASSERT(!is_seen(*other), "sampler '{}' proposed a seen configuration as unseen", sampler_->name());
    return *other;
  }
  return draft;  // another worker took the last one meanwhile: dedup reuses its result
}

void Study::start_heartbeat(int64_t trial_id) {
  storage_->record_heartbeat(trial_id);
  std::lock_guard<std::mutex> lock(heartbeat_mutex_);
  heartbeat_ids_.insert(trial_id);
  if (!heartbeat_thread_.joinable()) heartbeat_thread_ = std::thread([this] { heartbeat_loop(); });
}

void Study::stop_heartbeat(int64_t trial_id) {
  std::lock_guard<std::mutex> lock(heartbeat_mutex_);
  heartbeat_ids_.erase(trial_id);
}

void Study::heartbeat_loop() {
  const auto interval = std::chrono::duration<double>(options_.heartbeat_interval_seconds);
  std::unique_lock<std::mutex> lock(heartbeat_mutex_);
  while (!heartbeat_cv_.wait_for(lock, interval, [this] { return heartbeat_stop_; })) {
    const std::set<int64_t> ids = heartbeat_ids_;
    lock.unlock();
    for (int64_t id : ids) {
      // A trial finished meanwhile refuses the write; a storage hiccup must not kill the worker.
      try {
        storage_->record_heartbeat(id);
      } catch (const std::exception&) {
      }
    }
    lock.lock();
  }
}

int64_t Study::n_complete() const {
  return storage_->get_n_trials(study_id_, TrialState::Complete);
}

std::vector<int64_t> Study::fail_stale_trials(std::optional<double> grace_seconds) {
  const double grace = grace_seconds.value_or(options_.grace_period_seconds > 0
                                                  ? options_.grace_period_seconds
                                                  : 2.0 * options_.heartbeat_interval_seconds);
  std::vector<int64_t> numbers;
  for (int64_t id : storage_->fail_stale_trials(study_id_, grace)) {
    FrozenTrialPtr failed = storage_->get_trial(id);
    numbers.push_back(failed->number);
    if (options_.max_retry > 0) retry(*failed);
  }
  return numbers;
}

void Study::retry(const FrozenTrial& failed) {
  FrozenTrial copy;
  copy.state = TrialState::Waiting;
  copy.params = failed.params;
  copy.distributions = failed.distributions;
  copy.user_attrs = failed.user_attrs;
  copy.system_attrs = failed.system_attrs;
  copy.system_attrs.erase("fail_reason");
  copy.system_attrs.erase(kHeartbeatLostAttr);
  copy.system_attrs.erase(kSlotAttr);  // a retry is counted without a slot
  nlohmann::json history = nlohmann::json::array();
  auto it = failed.system_attrs.find("retry_history");
  if (it != failed.system_attrs.end() && it->second.is_array()) history = it->second;
  history.push_back(failed.number);
  if (static_cast<int64_t>(history.size()) > options_.max_retry) return;
  if (copy.system_attrs.count("failed_trial") == 0) copy.system_attrs["failed_trial"] = failed.number;
  copy.system_attrs["retry_history"] = history;
  storage_->create_trial_from(study_id_, copy);
}

Trial Study::ask() {
  auto trial = try_ask();
  CHOP_CHECK(trial.has_value(), SearchError,
             "sampler '{}' has no configuration left (every configuration of the space is evaluated)",
             sampler_->name());
  return std::move(*trial);
}

FrozenTrialPtr Study::tell(Trial& trial, const std::vector<double>& values) {
  return tell(trial, TrialState::Complete, values);
}

FrozenTrialPtr Study::tell(Trial& trial, TrialState state, const std::vector<double>& values,
                           const std::string& fail_reason) {
  CHOP_CHECK(is_finished(state), SearchError, "tell() needs COMPLETE, PRUNED or FAIL, not {}",
             to_string(state));
  std::string reason = fail_reason;
  std::vector<double> stored = values;
  if (state == TrialState::Complete) {
    if (static_cast<int64_t>(values.size()) != n_objectives()) {
      reason = fmt::format("the objective returned {} value(s) but the study has {} objective(s)",
                           values.size(), n_objectives());
    }
    for (double v : values)
      if (std::isnan(v)) reason = "the objective returned NaN";
    if (!reason.empty()) {
      state = TrialState::Fail;
      stored.clear();
    }
  } else {
    stored.clear();
  }
  if (heartbeats_on()) stop_heartbeat(trial.trial_id());
  const FrozenTrialPtr current = storage_->get_trial(trial.trial_id());
  if (current->state == TrialState::Fail && current->system_attrs.count(kHeartbeatLostAttr)) {
    // Another worker judged this one dead while it was cut off from the storage for longer than
    // the grace period (and may have queued the trial again: max_retry). Optuna's worker stops
    // with "Cannot tell a FAIL trial"; this one drops the result and goes on.
    std::cerr << fmt::format("chop: trial {} was failed by another worker while this one could not reach "
                             "the storage; its result is dropped\n", current->number);
    return current;
  }
  CHOP_CHECK(current->state == TrialState::Running, SearchError,
             "trial {} is already {}; tell() finishes a trial once", current->number,
             to_string(current->state));
  if (state == TrialState::Fail && !reason.empty())
    storage_->set_trial_system_attr(trial.trial_id(), "fail_reason", reason);
  CHOP_CHECK(storage_->set_trial_state_values(trial.trial_id(), state, stored), SearchError,
             "trial {} was finished concurrently", current->number);
  FrozenTrialPtr done = storage_->get_trial(trial.trial_id());
  if (done->state == TrialState::Complete) {
    std::lock_guard<std::mutex> lock(dedup_mutex_);
    complete_by_params_.emplace(params_key(done->params), done->number);
    for (const auto& [n, d] : done->distributions) complete_space_.insert_or_assign(n, d);
  }
  sampler_->after_trial(*this, *done);
  return done;
}

std::optional<int64_t> Study::find_duplicate(const std::map<std::string, double>& params) const {
  std::lock_guard<std::mutex> lock(dedup_mutex_);
  auto it = complete_by_params_.find(params_key(params));
  if (it == complete_by_params_.end()) return std::nullopt;
  return it->second;
}

std::optional<FrozenTrialPtr> Study::try_dedup(Trial& trial) {
  SearchSpace space;
  {
    std::lock_guard<std::mutex> lock(dedup_mutex_);
    space = complete_space_;
  }
  if (space.empty()) return std::nullopt;
  for (const auto& [name, d] : space)
    if (!d.is_discrete()) return std::nullopt;
  // Sample the known space up front, so a repeat is caught before the objective runs.
  for (const auto& [name, d] : space) trial.suggest(name, d);
  const auto earlier = find_duplicate(trial.internal_params());
  if (!earlier) return std::nullopt;
  FrozenTrialPtr prev = storage_->get_all_trials(study_id_)[static_cast<size_t>(*earlier)];
  trial.set_user_attr("dedup_of", *earlier);
  for (const auto& [k, v] : prev->user_attrs)
    if (k != "dedup_of") trial.set_user_attr(k, v);
  if (!prev->constraints.empty()) trial.set_constraints(prev->constraints);
  return tell(trial, TrialState::Complete, prev->values);
}

FrozenTrialPtr Study::run_trial(Trial& trial, const Objective& objective) {
  try {
    if (options_.dedup) {
      if (auto done = try_dedup(trial)) return *done;
    }
    const std::vector<double> values = objective(trial);
    return tell(trial, TrialState::Complete, values);
  } catch (const TrialPruned&) {
    return tell(trial, TrialState::Pruned);
  } catch (const ConfigError& e) {
    tell(trial, TrialState::Fail, {}, e.what());
    throw;
  } catch (const InternalError& e) {
    tell(trial, TrialState::Fail, {}, e.what());
    throw;
  } catch (const std::exception& e) {
    return tell(trial, TrialState::Fail, {}, e.what());
  }
}

void Study::optimize(const Objective& objective, int64_t n_trials, double timeout_seconds,
                     int n_jobs, std::vector<Callback> callbacks) {
  OptimizeOptions options;
  options.n_trials = n_trials;
  options.timeout_seconds = timeout_seconds;
  options.n_jobs = n_jobs;
  options.callbacks = std::move(callbacks);
  optimize(objective, options);
}

void Study::optimize(const Objective& objective, const OptimizeOptions& options) {
  CHOP_CHECK(options.n_jobs >= 1, ConfigError, "`n_jobs >= 1` must hold, but got n_jobs={}",
             options.n_jobs);
  CHOP_CHECK(options.n_trials >= 0 || options.timeout_seconds > 0, ConfigError,
             "optimize needs n_trials >= 0 or timeout > 0, but got n_trials={}, timeout={}",
             options.n_trials, options.timeout_seconds);
  CHOP_CHECK(options.timeout_seconds >= 0, ConfigError,
             "`timeout >= 0` must hold, but got timeout={}", options.timeout_seconds);
  stop_ = false;
  const auto start = std::chrono::steady_clock::now();
  wait_deadline_ = options.timeout_seconds > 0
                       ? start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::chrono::duration<double>(options.timeout_seconds))
                       : std::chrono::steady_clock::time_point::max();
  std::atomic<int64_t> started{0};
  // The study-wide total is enforced by try_ask's slots; otherwise count this call's trials.
  std::optional<int64_t> study_total;
  if (options.until_study_total && options.n_trials >= 0) study_total = options.n_trials;
  auto claim = [&] {
    return options.until_study_total || options.n_trials < 0 ||
           started.fetch_add(1) < options.n_trials;
  };
  std::mutex fatal_mutex;
  std::exception_ptr fatal;
  auto timed_out = [&] {
    if (options.timeout_seconds <= 0) return false;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return elapsed >= options.timeout_seconds;
  };
  auto worker = [&] {
    while (!stop_) {
      if (timed_out()) return;
      if (!claim()) return;
      try {
        std::optional<Trial> trial = try_ask(study_total);
        if (!trial) {
          stop_ = true;
          return;
        }
        FrozenTrialPtr done = run_trial(*trial, objective);
        for (const auto& cb : options.callbacks) cb(*this, *done);
      } catch (...) {
        std::lock_guard<std::mutex> lock(fatal_mutex);
        if (!fatal) fatal = std::current_exception();
        stop_ = true;
        return;
      }
    }
  };
  if (options.n_jobs == 1) {
    worker();
  } else {
    std::vector<std::thread> threads;
    for (int i = 0; i < options.n_jobs; ++i) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
  }
  wait_deadline_ = std::chrono::steady_clock::time_point::max();
  if (fatal) std::rethrow_exception(fatal);
}

std::vector<FrozenTrialPtr> Study::trials(
    const std::optional<std::vector<TrialState>>& states) const {
  return storage_->get_all_trials(study_id_, states);
}

FrozenTrialPtr Study::best_trial() const {
  CHOP_CHECK(!is_multi_objective(), SearchError,
             "best_trial() is for single-objective studies; use best_trials() for the Pareto front");
  const auto front = best_trials();
  CHOP_CHECK(!front.empty(), SearchError, "study '{}' has no feasible COMPLETE trial yet",
             options_.name);
  return front.front();
}

std::vector<FrozenTrialPtr> Study::best_trials() const {
  return pareto_front(trials(std::vector{TrialState::Complete}), directions_);
}

}  // namespace chop::search
