// Loading a study's results (log.json, best.json, resolved_config.json) into StudyResults.
#include "chop/report/study_results.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "chop/support/error.h"

namespace fs = std::filesystem;

namespace chop::report {
namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

template <typename Json>
Json read_json_file(const std::string& path) {
  std::ifstream in(path);
  CHOP_CHECK(in.good(), DataError, "cannot read '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return Json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw DataError(fmt::format("'{}' is not valid JSON: {}", path, first_line(e.what())));
  }
}

NamedValues named_values(const nlohmann::ordered_json& j, const std::string& what, const char* key) {
  NamedValues out;
  if (!j.contains(key) || j[key].is_null()) return out;
  CHOP_CHECK(j[key].is_object(), DataError, "{}: '{}' must be an object, but got {}", what, key,
             j[key].type_name());
  for (const auto& [k, v] : j[key].items()) {
    if (v.is_null()) continue;  // a metric a runner could not measure
    CHOP_CHECK(v.is_number(), DataError, "{}: '{}.{}' must be a number, but got {}", what, key, k,
               v.dump());
    out.emplace_back(k, v.get<double>());
  }
  return out;
}

std::vector<double> number_list(const nlohmann::ordered_json& j, const std::string& what, const char* key) {
  std::vector<double> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  CHOP_CHECK(j[key].is_array(), DataError, "{}: '{}' must be an array, but got {}", what, key,
             j[key].type_name());
  for (const auto& v : j[key]) {
    CHOP_CHECK(v.is_number(), DataError, "{}: '{}' must hold numbers, but got {}", what, key, v.dump());
    out.push_back(v.get<double>());
  }
  return out;
}

void add_key(std::vector<std::string>& keys, const std::string& k) {
  if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
}

bool is_maximize(const nlohmann::ordered_json& d, const std::string& what) {
  CHOP_CHECK(d.is_string() && (d == "maximize" || d == "minimize"), DataError,
             "{}: direction must be \"maximize\" or \"minimize\", but got {}", what, d.dump());
  return d == "maximize";
}

}  // namespace

const char* to_string(TrialState s) {
  switch (s) {
    case TrialState::Complete: return "COMPLETE";
    case TrialState::Pruned: return "PRUNED";
    case TrialState::Fail: return "FAIL";
    case TrialState::Running: return "RUNNING";
    case TrialState::Waiting: return "WAITING";
  }
  return "?";
}

std::optional<TrialState> parse_trial_state(const std::string& text) {
  for (auto s : {TrialState::Complete, TrialState::Pruned, TrialState::Fail, TrialState::Running,
                 TrialState::Waiting})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

const double* find_value(const NamedValues& values, const std::string& name) {
  for (const auto& [k, v] : values)
    if (k == name) return &v;
  return nullptr;
}

const nlohmann::json* TrialRecord::param(const std::string& key) const {
  for (const auto& [k, v] : params)
    if (k == key) return &v;
  return nullptr;
}

bool TrialRecord::feasible() const {
  if (state != TrialState::Complete) return false;
  return std::all_of(constraints.begin(), constraints.end(), [](double c) { return c <= 0; });
}

std::vector<std::string> StudyResults::param_keys() const {
  std::vector<std::string> keys;
  for (const auto& t : trials)
    for (const auto& [k, v] : t.params) add_key(keys, k);
  return keys;
}

std::vector<std::string> StudyResults::software_metric_keys() const {
  std::vector<std::string> keys;
  for (const auto& t : trials)
    for (const auto& [k, v] : t.software_metrics) add_key(keys, k);
  return keys;
}

std::vector<std::string> StudyResults::hardware_metric_keys() const {
  std::vector<std::string> keys;
  for (const auto& t : trials)
    for (const auto& [k, v] : t.hardware_metrics) add_key(keys, k);
  return keys;
}

const TrialRecord* StudyResults::trial(int64_t number) const {
  for (const auto& t : trials)
    if (t.number == number) return &t;
  return nullptr;
}

void read_objectives(const nlohmann::ordered_json& resolved, size_t n_values, const std::string& what,
                     StudyResults& out) {
  out.objectives.clear();
  out.metrics.clear();
  const nlohmann::ordered_json none = nlohmann::ordered_json::object();
  auto table = [&](const nlohmann::ordered_json& parent, const char* key) -> const nlohmann::ordered_json& {
    if (!parent.is_object() || !parent.contains(key)) return none;
    CHOP_CHECK(parent[key].is_object(), DataError, "{}: '{}' must be an object, but got {}", what, key,
               parent[key].type_name());
    return parent[key];
  };
  const auto& strategy = table(table(resolved, "search"), "strategy");
  const auto& setup = table(strategy, "setup");
  for (const auto& [name, spec] : table(strategy, "metrics").items()) {
    CHOP_CHECK(spec.is_object(), DataError, "{}: metrics.{} must be an object", what, name);
    MetricSpec m{name, 1.0, true};
    if (spec.contains("scale")) {
      CHOP_CHECK(spec["scale"].is_number(), DataError, "{}: metrics.{}.scale must be a number", what, name);
      m.scale = spec["scale"].get<double>();
    }
    if (spec.contains("direction")) m.maximize = is_maximize(spec["direction"], what + ": metrics." + name);
    out.metrics.push_back(m);
  }
  out.pruning_metric = setup.contains("pruning_metric") && setup["pruning_metric"].is_string()
                           ? setup["pruning_metric"].get<std::string>()
                           : "accuracy";
  bool summed = setup.contains("sum_scaled_metrics") && setup["sum_scaled_metrics"] == true;
  if (summed || (out.metrics.size() > 1 && n_values == 1)) {
    bool maximize = !setup.contains("direction") || is_maximize(setup["direction"], what + ": setup");
    out.objectives.push_back({"sum_scaled_metrics", maximize});
    return;
  }
  for (const auto& m : out.metrics) out.objectives.push_back({m.name, m.maximize});
  if (!out.objectives.empty()) return;
  // No metrics table: name the values by position (Optuna's default is to minimize).
  for (size_t i = 0; i < std::max<size_t>(n_values, 1); ++i)
    out.objectives.push_back({fmt::format("value_{}", i), false});
}

TrialRecord parse_trial(const nlohmann::ordered_json& j, const std::string& what) {
  CHOP_CHECK(j.is_object(), DataError, "{}: a trial must be an object, but got {}", what, j.type_name());
  TrialRecord t;
  CHOP_CHECK(j.contains("number") && j["number"].is_number_integer(), DataError,
             "{}: 'number' must be an integer", what);
  t.number = j["number"].get<int64_t>();
  CHOP_CHECK(j.contains("state") && j["state"].is_string(), DataError, "{}: 'state' must be a string", what);
  auto state = parse_trial_state(j["state"].get<std::string>());
  CHOP_CHECK(state.has_value(), DataError,
             "{}: 'state' must be COMPLETE, PRUNED, FAIL, RUNNING or WAITING, but got {}", what,
             j["state"].dump());
  t.state = *state;
  t.values = number_list(j, what, "values");
  if (j.contains("params")) {
    CHOP_CHECK(j["params"].is_object(), DataError, "{}: 'params' must be an object", what);
    for (const auto& [k, v] : j["params"].items()) t.params.emplace_back(k, nlohmann::json::parse(v.dump()));
  }
  t.software_metrics = named_values(j, what, "software_metrics");
  t.hardware_metrics = named_values(j, what, "hardware_metrics");
  t.scaled_metrics = named_values(j, what, "scaled_metrics");
  for (const auto& [step, v] : named_values(j, what, "intermediate_values")) {
    try {
      t.intermediate_values[std::stoll(step)] = v;
    } catch (const std::exception&) {
      throw DataError(fmt::format("{}: intermediate_values step '{}' is not an integer", what, step));
    }
  }
  t.constraints = number_list(j, what, "constraints");
  if (j.contains("config") && j["config"].is_object()) t.config = nlohmann::json::parse(j["config"].dump());
  if (j.contains("duration_s") && j["duration_s"].is_number()) t.duration_s = j["duration_s"].get<double>();
  if (j.contains("dedup_of") && j["dedup_of"].is_number_integer()) t.dedup_of = j["dedup_of"].get<int64_t>();
  if (j.contains("fail_reason") && j["fail_reason"].is_string()) t.fail_reason = j["fail_reason"].get<std::string>();
  return t;
}

std::string resolve_results_dir(const std::string& dir) {
  CHOP_CHECK(fs::is_directory(dir), DataError, "results directory '{}' does not exist", dir);
  if (fs::exists(fs::path(dir) / "log.json")) return dir;
  fs::path nested = fs::path(dir) / "software" / "search_ckpts";
  if (fs::exists(nested / "log.json")) return nested.string();
  return dir;
}

StudyResults load_results_dir(const std::string& dir_in) {
  const std::string dir = resolve_results_dir(dir_in);
  const std::string log_path = (fs::path(dir) / "log.json").string();
  const std::string best_path = (fs::path(dir) / "best.json").string();
  const std::string config_path = (fs::path(dir) / "resolved_config.json").string();
  CHOP_CHECK(fs::exists(log_path), DataError,
             "'{}' is missing: '{}' is not a search results directory (chop search writes log.json, "
             "best.json and resolved_config.json into <project>/software/search_ckpts)",
             log_path, dir_in);
  CHOP_CHECK(fs::exists(config_path), DataError, "'{}' is missing (chop search writes it first)", config_path);

  StudyResults out;
  out.source = dir;
  auto log = read_json_file<nlohmann::ordered_json>(log_path);
  CHOP_CHECK(log.is_array(), DataError, "'{}' must hold an array of trials, but holds {}", log_path,
             log.type_name());
  size_t n_values = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    out.trials.push_back(parse_trial(log[i], fmt::format("'{}' [{}]", log_path, i)));
    n_values = std::max(n_values, out.trials.back().values.size());
  }
  std::stable_sort(out.trials.begin(), out.trials.end(),
                   [](const TrialRecord& a, const TrialRecord& b) { return a.number < b.number; });

  out.resolved_config = read_json_file<nlohmann::ordered_json>(config_path);
  CHOP_CHECK(out.resolved_config.is_object(), DataError, "'{}' must hold an object, but holds {}",
             config_path, out.resolved_config.type_name());
  read_objectives(out.resolved_config, n_values, "'" + config_path + "'", out);
  for (const auto& t : out.trials)
    CHOP_CHECK(t.state != TrialState::Complete || t.values.size() == out.objectives.size(), DataError,
               "'{}': trial {} has {} value(s) but the study has {} objective(s) ({})", log_path, t.number,
               t.values.size(), out.objectives.size(), config_path);
  if (out.resolved_config.contains("project") && out.resolved_config["project"].is_string())
    out.name = out.resolved_config["project"].get<std::string>();
  if (out.name.empty()) out.name = fs::path(dir).lexically_normal().filename().string();

  if (fs::exists(best_path)) {
    auto best = read_json_file<nlohmann::ordered_json>(best_path);
    CHOP_CHECK(best.is_array(), DataError, "'{}' must hold an array of trials, but holds {}", best_path,
               best.type_name());
    for (size_t i = 0; i < best.size(); ++i)
      out.best_numbers.push_back(parse_trial(best[i], fmt::format("'{}' [{}]", best_path, i)).number);
  }
  return out;
}

}  // namespace chop::report
