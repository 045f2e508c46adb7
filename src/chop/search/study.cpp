// Study: a search over one objective (or several) with ask/tell, optimize, best trials and dedup.
#include "chop/search/study.h"

#include "chop/search/multi_objective.h"
#include "chop/search/samplers/tpe_sampler.h"
#include "chop/search/storage/in_memory_storage.h"
#include "chop/support/error.h"

#include <chrono>
#include <cmath>
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
  bool exists = false;
  for (const auto& n : storage_->get_all_study_names()) exists = exists || n == options_.name;
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

std::optional<Trial> Study::try_ask() {
  std::lock_guard<std::mutex> lock(ask_mutex_);
  if (sampler_->is_exhausted(*this)) return std::nullopt;
  const TrialRef ref = storage_->create_trial(study_id_);
  sampler_->before_trial(*this, *storage_->get_trial(ref.trial_id));
  FrozenTrialPtr snap = storage_->get_trial(ref.trial_id);
  SearchSpace space = sampler_->infer_relative_search_space(*this, *snap);
  std::map<std::string, double> relative;
  if (!space.empty()) relative = sampler_->sample_relative(*this, *snap, space);
  return Trial(*this, ref, std::move(relative), std::move(space));
}

Trial Study::ask() {
  auto trial = try_ask();
  CHOP_CHECK(trial.has_value(), SearchError,
             "sampler '{}' has no configuration left (the grid is exhausted)", sampler_->name());
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
  const FrozenTrialPtr current = storage_->get_trial(trial.trial_id());
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
  std::atomic<int64_t> started{0};
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
      if (options.n_trials >= 0 && started.fetch_add(1) >= options.n_trials) return;
      if (timed_out()) return;
      try {
        std::optional<Trial> trial = try_ask();
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
