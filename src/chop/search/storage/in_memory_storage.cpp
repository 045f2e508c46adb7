// InMemoryStorage: the default Storage, all studies in process memory behind one mutex.
#include "chop/search/storage/in_memory_storage.h"

#include "chop/support/error.h"

namespace chop::search {

int64_t InMemoryStorage::create_study(const std::string& name,
                                      const std::vector<StudyDirection>& directions) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& s : studies_)
    CHOP_CHECK(s.name != name, SearchError, "a study named '{}' already exists", name);
  CHOP_CHECK(!directions.empty(), ConfigError, "a study needs at least one direction");
  studies_.push_back({name, directions, {}, {}, {}});
  return static_cast<int64_t>(studies_.size()) - 1;
}

int64_t InMemoryStorage::get_study_id(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < studies_.size(); ++i)
    if (studies_[i].name == name) return static_cast<int64_t>(i);
  throw SearchError(fmt::format("no study named '{}'", name));
}

const InMemoryStorage::StudyRecord& InMemoryStorage::study(int64_t study_id) const {
  CHOP_CHECK(study_id >= 0 && study_id < static_cast<int64_t>(studies_.size()), SearchError,
             "no study with id {}", study_id);
  return studies_[static_cast<size_t>(study_id)];
}

std::string InMemoryStorage::get_study_name(int64_t study_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return study(study_id).name;
}

std::vector<StudyDirection> InMemoryStorage::get_study_directions(int64_t study_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return study(study_id).directions;
}

std::vector<std::string> InMemoryStorage::get_all_study_names() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> names;
  for (const auto& s : studies_) names.push_back(s.name);
  return names;
}

void InMemoryStorage::set_study_user_attr(int64_t study_id, const std::string& key,
                                          const nlohmann::json& value) {
  std::lock_guard<std::mutex> lock(mutex_);
  study(study_id);
  studies_[static_cast<size_t>(study_id)].user_attrs[key] = value;
}

std::map<std::string, nlohmann::json> InMemoryStorage::get_study_user_attrs(int64_t study_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return study(study_id).user_attrs;
}

void InMemoryStorage::set_study_system_attr(int64_t study_id, const std::string& key,
                                            const nlohmann::json& value) {
  std::lock_guard<std::mutex> lock(mutex_);
  study(study_id);
  studies_[static_cast<size_t>(study_id)].system_attrs[key] = value;
}

std::map<std::string, nlohmann::json> InMemoryStorage::get_study_system_attrs(
    int64_t study_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return study(study_id).system_attrs;
}

TrialRef InMemoryStorage::create_trial_from(int64_t study_id, const FrozenTrial& templ) {
  std::lock_guard<std::mutex> lock(mutex_);
  study(study_id);
  auto& rec = studies_[static_cast<size_t>(study_id)];
  auto trial = std::make_shared<FrozenTrial>(templ);
  trial->trial_id = static_cast<int64_t>(trial_locations_.size());
  trial->number = static_cast<int64_t>(rec.trials.size());
  if (!is_finished(trial->state) && !trial->datetime_start) trial->datetime_start = Clock::now();
  trial_locations_.emplace_back(study_id, trial->number);
  rec.trials.push_back(trial);
  return {trial->trial_id, trial->number};
}

std::optional<TrialRef> InMemoryStorage::pop_waiting_trial(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  study(study_id);
  auto& rec = studies_[static_cast<size_t>(study_id)];
  for (auto& slot : rec.trials) {
    if (slot->state != TrialState::Waiting) continue;
    if (slot.use_count() > 1) slot = std::make_shared<FrozenTrial>(*slot);
    slot->state = TrialState::Running;
    slot->datetime_start = Clock::now();
    return TrialRef{slot->trial_id, slot->number};
  }
  return std::nullopt;
}

void InMemoryStorage::record_heartbeat(int64_t trial_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  writable(trial_id);
  heartbeats_[trial_id] = std::chrono::steady_clock::now();
}

std::vector<int64_t> InMemoryStorage::fail_stale_trials(int64_t study_id, double grace_seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  study(study_id);
  const auto cutoff = std::chrono::steady_clock::now() -
                      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                          std::chrono::duration<double>(grace_seconds));
  std::vector<int64_t> failed;
  for (auto& slot : studies_[static_cast<size_t>(study_id)].trials) {
    if (slot->state != TrialState::Running) continue;
    auto hb = heartbeats_.find(slot->trial_id);
    if (hb == heartbeats_.end() || hb->second >= cutoff) continue;
    FrozenTrial& t = writable(slot->trial_id);
    t.state = TrialState::Fail;
    t.datetime_complete = Clock::now();
    t.system_attrs["fail_reason"] = heartbeat_lost_reason(grace_seconds);
    t.system_attrs[kHeartbeatLostAttr] = true;
    failed.push_back(t.trial_id);
  }
  return failed;
}

TrialRef InMemoryStorage::create_trial(int64_t study_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return create_trial_locked(study_id);
}

std::optional<TrialRef> InMemoryStorage::create_trial_claiming(
    int64_t study_id, const std::vector<std::string>& claim_keys,
    const std::map<std::string, nlohmann::json>& system_attrs) {
  std::lock_guard<std::mutex> lock(mutex_);
  study(study_id);
  auto& claims = studies_[static_cast<size_t>(study_id)].system_attrs;
  for (const auto& key : claim_keys)
    if (claims.count(key)) return std::nullopt;
  const TrialRef ref = create_trial_locked(study_id);
  for (const auto& key : claim_keys) claims[key] = ref.number;
  writable(ref.trial_id).system_attrs.insert(system_attrs.begin(), system_attrs.end());
  return ref;
}

bool InMemoryStorage::claim_study_key(int64_t study_id, const std::string& key,
                                      const nlohmann::json& value) {
  std::lock_guard<std::mutex> lock(mutex_);
  study(study_id);
  return studies_[static_cast<size_t>(study_id)].system_attrs.emplace(key, value).second;
}

TrialRef InMemoryStorage::create_trial_locked(int64_t study_id) {
  study(study_id);
  auto& rec = studies_[static_cast<size_t>(study_id)];
  auto trial = std::make_shared<FrozenTrial>();
  trial->trial_id = static_cast<int64_t>(trial_locations_.size());
  trial->number = static_cast<int64_t>(rec.trials.size());
  trial->state = TrialState::Running;
  trial->datetime_start = Clock::now();
  trial_locations_.emplace_back(study_id, trial->number);
  rec.trials.push_back(trial);
  return {trial->trial_id, trial->number};
}

FrozenTrial& InMemoryStorage::writable(int64_t trial_id) {
  CHOP_CHECK(trial_id >= 0 && trial_id < static_cast<int64_t>(trial_locations_.size()),
             SearchError, "no trial with id {}", trial_id);
  const auto [study_id, number] = trial_locations_[static_cast<size_t>(trial_id)];
  auto& slot = studies_[static_cast<size_t>(study_id)].trials[static_cast<size_t>(number)];
  CHOP_CHECK(!is_finished(slot->state), SearchError,
             "trial {} is {} and finished trials are read-only", number, to_string(slot->state));
  // Under the lock nobody can take a new reference, so use_count() == 1 means no reader holds it.
  if (slot.use_count() > 1) slot = std::make_shared<FrozenTrial>(*slot);
  return *slot;
}

void InMemoryStorage::set_trial_param(int64_t trial_id, const std::string& name, double internal,
                                      const Distribution& distribution) {
  std::lock_guard<std::mutex> lock(mutex_);
  FrozenTrial& t = writable(trial_id);
  auto it = t.distributions.find(name);
  CHOP_CHECK(it == t.distributions.end() || it->second == distribution, SearchError,
             "parameter '{}' of trial {} was set with {} and now with {}", name, t.number,
             it == t.distributions.end() ? "" : it->second.to_string(), distribution.to_string());
  t.params[name] = internal;
  t.distributions.insert_or_assign(name, distribution);
}

bool InMemoryStorage::set_trial_state_values(int64_t trial_id, TrialState state,
                                             const std::vector<double>& values) {
  std::lock_guard<std::mutex> lock(mutex_);
  CHOP_CHECK(trial_id >= 0 && trial_id < static_cast<int64_t>(trial_locations_.size()),
             SearchError, "no trial with id {}", trial_id);
  const auto [study_id, number] = trial_locations_[static_cast<size_t>(trial_id)];
  const auto& slot = studies_[static_cast<size_t>(study_id)].trials[static_cast<size_t>(number)];
  if (slot->state != TrialState::Running) return false;
  FrozenTrial& t = writable(trial_id);
  t.state = state;
  t.values = values;
  if (is_finished(state)) t.datetime_complete = Clock::now();
  return true;
}

void InMemoryStorage::set_trial_intermediate_value(int64_t trial_id, int64_t step, double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  writable(trial_id).intermediate_values[step] = value;
}

void InMemoryStorage::set_trial_user_attr(int64_t trial_id, const std::string& key,
                                          const nlohmann::json& value) {
  std::lock_guard<std::mutex> lock(mutex_);
  writable(trial_id).user_attrs[key] = value;
}

void InMemoryStorage::set_trial_system_attr(int64_t trial_id, const std::string& key,
                                            const nlohmann::json& value) {
  std::lock_guard<std::mutex> lock(mutex_);
  writable(trial_id).system_attrs[key] = value;
}

void InMemoryStorage::set_trial_constraints(int64_t trial_id,
                                            const std::vector<double>& constraints) {
  std::lock_guard<std::mutex> lock(mutex_);
  writable(trial_id).constraints = constraints;
}

FrozenTrialPtr InMemoryStorage::get_trial(int64_t trial_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  CHOP_CHECK(trial_id >= 0 && trial_id < static_cast<int64_t>(trial_locations_.size()),
             SearchError, "no trial with id {}", trial_id);
  const auto [study_id, number] = trial_locations_[static_cast<size_t>(trial_id)];
  return studies_[static_cast<size_t>(study_id)].trials[static_cast<size_t>(number)];
}

std::vector<FrozenTrialPtr> InMemoryStorage::get_all_trials(
    int64_t study_id, const std::optional<std::vector<TrialState>>& states) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto& rec = study(study_id);
  std::vector<FrozenTrialPtr> out;
  out.reserve(rec.trials.size());
  for (const auto& t : rec.trials) {
    if (states) {
      bool keep = false;
      for (TrialState s : *states) keep = keep || t->state == s;
      if (!keep) continue;
    }
    out.push_back(t);
  }
  return out;
}

int64_t InMemoryStorage::get_n_trials(int64_t study_id, std::optional<TrialState> state) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto& rec = study(study_id);
  if (!state) return static_cast<int64_t>(rec.trials.size());
  int64_t n = 0;
  for (const auto& t : rec.trials) n += t->state == *state;
  return n;
}

}  // namespace chop::search
