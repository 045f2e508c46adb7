// Trial: the handle an objective uses to suggest parameters, report progress and ask to prune.
#pragma once

#include "chop/search/frozen_trial.h"
#include "chop/search/samplers/sampler.h"
#include "chop/search/storage/storage.h"

#include <stdexcept>

namespace chop::search {

class Study;

/// Thrown by an objective to end its trial as PRUNED (usually after should_prune()).
class TrialPruned : public std::runtime_error {
 public:
  TrialPruned() : std::runtime_error("trial pruned") {}
};

/// A running trial. Used by one thread at a time (the one running the objective).
class Trial {
 public:
  /// `existing`: the trial as stored, whose params (a retried WAITING trial's) are kept.
  Trial(Study& study, TrialRef ref, std::map<std::string, double> relative_params,
        SearchSpace relative_space, const FrozenTrial* existing = nullptr);

  int64_t number() const { return ref_.number; }
  int64_t trial_id() const { return ref_.trial_id; }
  Study& study() { return *study_; }

  /// Float in [low, high] (log-uniform prior when log; on the grid low + k*step with step).
  /// Asking again for the same name returns the same value. ConfigError on a bad range.
  double suggest_float(const std::string& name, double low, double high, bool log = false,
                       std::optional<double> step = std::nullopt);
  /// Int in [low, high] on the grid low + k*step.
  int64_t suggest_int(const std::string& name, int64_t low, int64_t high, bool log = false,
                      int64_t step = 1);
  /// One of `choices`.
  ParamValue suggest_categorical(const std::string& name, const std::vector<ParamValue>& choices);
  /// One value of any distribution; the primitive behind the typed suggest_* calls. SearchError
  /// when `name` was already suggested with a different distribution.
  ParamValue suggest(const std::string& name, const Distribution& distribution);

  /// Records an intermediate value (e.g. validation accuracy after epoch `step`).
  void report(int64_t step, double value);
  /// True when the study's pruner says this trial should stop (throw TrialPruned then).
  bool should_prune();
  void set_user_attr(const std::string& key, const nlohmann::json& value);
  /// Constraint values; the trial is infeasible when any is > 0.
  void set_constraints(const std::vector<double>& constraints);

  /// External values of the parameters suggested so far.
  std::map<std::string, ParamValue> params() const;
  /// Internal values of the parameters suggested so far.
  const std::map<std::string, double>& internal_params() const { return params_; }
  /// Current snapshot from storage.
  FrozenTrialPtr snapshot() const;

 private:
  Study* study_;
  TrialRef ref_;
  std::map<std::string, double> relative_params_;
  SearchSpace relative_space_;
  std::map<std::string, double> params_;
  std::map<std::string, Distribution> distributions_;
};

}  // namespace chop::search
