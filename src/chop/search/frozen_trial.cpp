// FrozenTrial: an immutable snapshot of one trial (state, params, values, intermediate values, attrs).
#include "chop/search/frozen_trial.h"

#include "chop/support/error.h"
#include "chop/support/strings.h"

#include <cmath>

namespace chop::search {

const char* to_string(TrialState state) {
  switch (state) {
    case TrialState::Running: return "RUNNING";
    case TrialState::Complete: return "COMPLETE";
    case TrialState::Pruned: return "PRUNED";
    case TrialState::Fail: return "FAIL";
    case TrialState::Waiting: return "WAITING";
  }
  return "?";
}

const char* to_string(StudyDirection d) {
  switch (d) {
    case StudyDirection::Minimize: return "minimize";
    case StudyDirection::Maximize: return "maximize";
  }
  return "?";
}

StudyDirection parse_direction(const std::string& text) {
  if (text == "minimize" || text == "min") return StudyDirection::Minimize;
  if (text == "maximize" || text == "max") return StudyDirection::Maximize;
  throw ConfigError(unknown_name_message("direction", text, {"minimize", "maximize"}));
}

ParamValue FrozenTrial::param(const std::string& name) const {
  auto it = params.find(name);
  CHOP_CHECK(it != params.end(), SearchError, "trial {} has no parameter '{}'", number, name);
  return distributions.at(name).to_external(it->second);
}

std::map<std::string, ParamValue> FrozenTrial::external_params() const {
  std::map<std::string, ParamValue> out;
  for (const auto& [name, v] : params) out.emplace(name, distributions.at(name).to_external(v));
  return out;
}

bool FrozenTrial::feasible() const {
  for (double c : constraints)
    if (!(c <= 0.0)) return false;
  return true;
}

std::optional<int64_t> FrozenTrial::last_step() const {
  if (intermediate_values.empty()) return std::nullopt;
  return intermediate_values.rbegin()->first;
}

std::string FrozenTrial::fail_reason() const {
  auto it = system_attrs.find("fail_reason");
  return it == system_attrs.end() ? std::string() : it->second.get<std::string>();
}

double FrozenTrial::duration_seconds() const {
  if (!datetime_start || !datetime_complete) return 0.0;
  return std::chrono::duration<double>(*datetime_complete - *datetime_start).count();
}

nlohmann::json FrozenTrial::to_json() const {
  using nlohmann::json;
  json j;
  j["number"] = number;
  j["state"] = to_string(state);
  json vals = json::array();
  for (double v : values) vals.push_back(std::isfinite(v) ? json(v) : json(fmt::format("{}", v)));
  j["values"] = vals;
  json ps = json::object();
  for (const auto& [name, v] : params) ps[name] = chop::search::to_json(distributions.at(name).to_external(v));
  j["params"] = ps;
  json iv = json::object();
  for (const auto& [step, v] : intermediate_values) iv[std::to_string(step)] = v;
  j["intermediate_values"] = iv;
  j["user_attrs"] = json(user_attrs);
  if (!constraints.empty()) j["constraints"] = constraints;
  if (state == TrialState::Fail) j["fail_reason"] = fail_reason();
  j["duration_seconds"] = duration_seconds();
  return j;
}

}  // namespace chop::search
