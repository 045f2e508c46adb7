// GridSampler: every combination of a discrete search space exactly once, then the study stops.
#include "chop/search/samplers/grid_sampler.h"

#include "chop/search/storage/storage.h"
#include "chop/search/study.h"
#include "chop/support/error.h"
#include "chop/support/option_reader.h"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

namespace chop::search {

GridSampler::GridSampler(const SearchSpace& space, uint64_t seed) : seed_(seed) { set_search_space(space); }

void GridSampler::set_search_space(const SearchSpace& space) {
  std::lock_guard<std::mutex> lock(mutex_);
  space_.clear();
  for (const auto& [name, d] : space) add_param_locked(name, d);
  space_complete_ = true;
}

std::unique_ptr<Sampler> GridSampler::create(uint64_t seed, const nlohmann::json& options) {
  OptionReader(options, "sampler 'grid'").finish();
  return std::make_unique<GridSampler>(seed);
}

int64_t GridSampler::add_param_locked(const std::string& name, const Distribution& d) {
  CHOP_CHECK(d.is_discrete(), ConfigError,
             "the grid sampler needs a discrete space, but parameter '{}' is a continuous {}; give "
             "it a step or make it categorical",
             name, d.to_string());
  space_.emplace_back(name, d);
  return static_cast<int64_t>(space_.size()) - 1;
}

int64_t GridSampler::grid_size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return grid_size_locked();
}

int64_t GridSampler::grid_size_locked() const {
  if (!space_complete_) return -1;
  int64_t n = 1;
  for (const auto& [name, d] : space_) n *= d.n_values();
  return n;
}

namespace {
constexpr const char* kSpaceAttr = "grid:search_space";
}

void GridSampler::adopt_stored_space_locked(Study& study) {
  if (space_complete_) return;
  const auto attrs = study.storage().get_study_system_attrs(study.study_id());
  auto it = attrs.find(kSpaceAttr);
  if (it == attrs.end()) return;
  space_.clear();
  for (const auto& entry : it->second)
    space_.emplace_back(entry.at(0).get<std::string>(), Distribution::from_json(entry.at(1)));
  space_complete_ = true;
}

std::optional<TrialClaim> GridSampler::next_claim(Study& study) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::set<int64_t> held;
  std::map<int64_t, int64_t> lost;  // point -> trials of it whose process died
  int64_t n = -1;                     // the grid's size, once known
  for (;;) {
    adopt_stored_space_locked(study);
    held.clear();
    lost.clear();
    bool learning = false;  // a running trial is still revealing the space
    bool running = false;
    for (const auto& t : study.storage().get_all_trials(study.study_id(), std::nullopt)) {
      auto it = t->system_attrs.find("grid_id");
      if (it == t->system_attrs.end()) continue;
      const int64_t id = it->second.get<int64_t>();
      if (t->state == TrialState::Fail && t->system_attrs.count(kHeartbeatLostAttr)) ++lost[id];
      else held.insert(id);
      learning = learning || (!space_complete_ && t->state == TrialState::Running);
      running = running || t->state == TrialState::Running;
    }
    // Every point held, some by running trials: one of those may yet die with its process and
    // free its point, so the grid is not exhausted until they end (or their heartbeat stops).
    n = grid_size_locked();
    const bool all_held = n >= 0 && static_cast<int64_t>(held.size()) >= n;
    if (!learning && !(all_held && running && study.heartbeats_on())) break;
    // One trial at a time until the space is known: a second point could lie beyond a grid
    // smaller than the number of parallel trials. A dead worker's trial ends by heartbeat.
    lock.unlock();
    if (study.heartbeats_on()) study.fail_stale_trials();
    std::this_thread::sleep_for(std::chrono::milliseconds(learning ? 20 : 100));
    lock.lock();
  }
  int64_t id = 0;
  while (held.count(id)) ++id;
  TrialClaim claim;
  claim.exhausted = n >= 0 && id >= n;
  // A point whose trials all died with their process is claimed again (key grid:<id>:<k> for the
  // k-th attempt, so the claim stays atomic); a point whose objective failed is not.
  auto attempts = lost.find(id);
  claim.key = attempts == lost.end() ? fmt::format("grid:{}", id)
                                     : fmt::format("grid:{}:{}", id, attempts->second);
  claim.system_attrs["grid_id"] = id;
  return claim;
}

void GridSampler::before_trial(Study& /*study*/, const FrozenTrial& trial) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = trial.system_attrs.find("grid_id");
  if (it != trial.system_attrs.end()) grid_ids_[trial.number] = it->second.get<int64_t>();
}

double GridSampler::sample_independent(Study& /*study*/, const FrozenTrial& trial,
                                       const std::string& name, const Distribution& distribution) {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t index = -1;
  for (size_t i = 0; i < space_.size(); ++i)
    if (space_[i].first == name) index = static_cast<int64_t>(i);
  if (index < 0) {
    CHOP_CHECK(!space_complete_, SearchError,
               "parameter '{}' is not in the grid's search space; the grid sampler needs the same "
               "parameters in every trial",
               name);
    index = add_param_locked(name, distribution);
  }
  const Distribution& d = space_[static_cast<size_t>(index)].second;
  CHOP_CHECK(d == distribution, SearchError,
             "parameter '{}' changed from {} to {}; the grid sampler needs a fixed space", name,
             d.to_string(), distribution.to_string());
  auto it = grid_ids_.find(trial.number);
  CHOP_CHECK(it != grid_ids_.end(), SearchError,
             "trial {} holds no grid point: give every parameter when enqueueing trials for the "
             "grid sampler",
             trial.number);
  int64_t id = it->second;
  for (int64_t i = 0; i < index; ++i) id /= space_[static_cast<size_t>(i)].second.n_values();
  return d.internal_at(id % d.n_values());
}

void GridSampler::after_trial(Study& study, const FrozenTrial& /*trial*/) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!space_complete_) {
    nlohmann::json stored = nlohmann::json::array();
    for (const auto& [name, d] : space_) stored.push_back({name, d.to_json()});
    const auto attrs = study.storage().get_study_system_attrs(study.study_id());
    if (!attrs.count(kSpaceAttr)) study.storage().set_study_system_attr(study.study_id(), kSpaceAttr, stored);
  }
  space_complete_ = true;
}

}  // namespace chop::search
