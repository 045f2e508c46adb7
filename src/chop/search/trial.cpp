// Trial: the handle an objective uses to suggest parameters, report progress and ask to prune.
#include "chop/search/trial.h"

#include "chop/search/study.h"
#include "chop/support/error.h"

#include <cmath>

namespace chop::search {

Trial::Trial(Study& study, TrialRef ref, std::map<std::string, double> relative_params,
             SearchSpace relative_space, const FrozenTrial* existing)
    : study_(&study),
      ref_(ref),
      relative_params_(std::move(relative_params)),
      relative_space_(std::move(relative_space)) {
  if (existing == nullptr) return;
  params_ = existing->params;
  distributions_ = existing->distributions;
}

ParamValue Trial::suggest(const std::string& name, const Distribution& distribution) {
  auto known = distributions_.find(name);
  if (known != distributions_.end()) {
    CHOP_CHECK(known->second == distribution, SearchError,
               "parameter '{}' was suggested as {} and now as {}", name, known->second.to_string(),
               distribution.to_string());
    return distribution.to_external(params_.at(name));
  }
  double internal;
  auto rel = relative_params_.find(name);
  auto rel_space = relative_space_.find(name);
  if (distribution.single()) {
    internal = distribution.internal_at(0);
  } else if (rel != relative_params_.end() && rel_space != relative_space_.end() &&
             rel_space->second == distribution) {
    internal = rel->second;
  } else {
    FrozenTrialPtr snap = snapshot();
    internal = study_->sampler().sample_independent(*study_, *snap, name, distribution);
  }
  CHOP_ASSERT(distribution.contains(internal), "sampler '{}' proposed {} outside {} for '{}'",
              study_->sampler().name(), internal, distribution.to_string(), name);
  study_->storage().set_trial_param(ref_.trial_id, name, internal, distribution);
  params_[name] = internal;
  distributions_.insert_or_assign(name, distribution);
  return distribution.to_external(internal);
}

double Trial::suggest_float(const std::string& name, double low, double high, bool log,
                            std::optional<double> step) {
  return std::get<double>(suggest(name, Distribution::float_range(low, high, log, step)));
}

int64_t Trial::suggest_int(const std::string& name, int64_t low, int64_t high, bool log,
                           int64_t step) {
  return std::get<int64_t>(suggest(name, Distribution::int_range(low, high, log, step)));
}

ParamValue Trial::suggest_categorical(const std::string& name,
                                      const std::vector<ParamValue>& choices) {
  return suggest(name, Distribution::categorical(choices));
}

void Trial::report(int64_t step, double value) {
  study_->storage().set_trial_intermediate_value(ref_.trial_id, step, value);
}

bool Trial::should_prune() {
  FrozenTrialPtr snap = snapshot();
  return study_->pruner().prune(*study_, *snap);
}

void Trial::set_user_attr(const std::string& key, const nlohmann::json& value) {
  study_->storage().set_trial_user_attr(ref_.trial_id, key, value);
}

void Trial::set_constraints(const std::vector<double>& constraints) {
  study_->storage().set_trial_constraints(ref_.trial_id, constraints);
}

std::map<std::string, ParamValue> Trial::params() const {
  std::map<std::string, ParamValue> out;
  for (const auto& [name, v] : params_) out.emplace(name, distributions_.at(name).to_external(v));
  return out;
}

FrozenTrialPtr Trial::snapshot() const { return study_->storage().get_trial(ref_.trial_id); }

}  // namespace chop::search
