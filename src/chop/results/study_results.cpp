// A search's results: built from a study, written to and read from a results directory.
#include "chop/results/study_results.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "chop/search/samplers/sampler.h"
#include "chop/search/storage/storage_url.h"
#include "chop/search/study.h"
#include "chop/support/error.h"
#include "chop/support/files.h"
#include "chop/support/strings.h"
#include "chop/support/table.h"

namespace fs = std::filesystem;

namespace chop::results {
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

std::optional<TrialState> parse_trial_state(const std::string& text) {
  for (auto s : {TrialState::Complete, TrialState::Pruned, TrialState::Fail, TrialState::Running,
                 TrialState::Waiting})
    if (text == search::to_string(s)) return s;
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

std::vector<const TrialRecord*> StudyResults::best() const {
  std::vector<const TrialRecord*> out;
  for (int64_t n : best_numbers)
    if (const TrialRecord* t = trial(n)) out.push_back(t);
  return out;
}

nlohmann::ordered_json meaning_json(const StudyResults& r) {
  using J = nlohmann::ordered_json;
  J objectives = J::array(), metrics = J::array();
  for (const auto& o : r.objectives) objectives.push_back({{"name", o.name}, {"direction", o.maximize ? "maximize" : "minimize"}});
  for (const auto& m : r.metrics) metrics.push_back({{"name", m.name}, {"scale", m.scale}, {"direction", m.direction}});
  return {{"objectives", objectives}, {"metrics", metrics}, {"pruning_metric", r.pruning_metric}};
}

void read_meaning(const nlohmann::ordered_json& j, const std::string& what, StudyResults& out) {
  CHOP_CHECK(j.is_object(), DataError, "{}: must hold an object, but holds {}", what, j.type_name());
  auto list = [&](const char* key) -> const nlohmann::ordered_json& {
    CHOP_CHECK(j.contains(key) && j[key].is_array(), DataError, "{}: '{}' must be an array", what, key);
    return j[key];
  };
  auto name_of = [&](const nlohmann::ordered_json& e, const char* key) {
    CHOP_CHECK(e.is_object() && e.contains("name") && e["name"].is_string(), DataError,
               "{}: every '{}' entry needs a name, but got {}", what, key, e.dump());
    return e["name"].get<std::string>();
  };
  out.objectives.clear();
  out.metrics.clear();
  for (const auto& e : list("objectives")) {
    std::string name = name_of(e, "objectives");
    out.objectives.push_back({name, is_maximize(e.value("direction", nlohmann::ordered_json()), what + ": objective " + name)});
  }
  CHOP_CHECK(!out.objectives.empty(), DataError, "{}: 'objectives' is empty", what);
  for (const auto& e : list("metrics")) {
    MetricSpec m{name_of(e, "metrics")};
    CHOP_CHECK(e.contains("scale") && e["scale"].is_number(), DataError, "{}: metric {} needs a numeric scale", what, m.name);
    m.scale = e["scale"].get<double>();
    m.direction = is_maximize(e.value("direction", nlohmann::ordered_json()), what + ": metric " + m.name) ? "maximize" : "minimize";
    out.metrics.push_back(m);
  }
  if (j.contains("pruning_metric") && j["pruning_metric"].is_string()) out.pruning_metric = j["pruning_metric"].get<std::string>();
}

nlohmann::ordered_json trial_json(const TrialRecord& t) {
  using J = nlohmann::ordered_json;
  J params = J::object();
  for (const auto& [k, v] : t.params) params[k] = J::parse(v.dump());
  J j = {{"number", t.number}, {"state", search::to_string(t.state)}, {"values", t.values}, {"params", params}};
  auto group = [](const NamedValues& values) {
    J g = J::object();
    for (const auto& [k, v] : values) g[k] = v;
    return g;
  };
  if (t.measured) {
    j["software_metrics"] = group(t.software_metrics);
    j["hardware_metrics"] = group(t.hardware_metrics);
    j["scaled_metrics"] = group(t.scaled_metrics);
  }
  if (!t.config.is_null()) j["config"] = J::parse(t.config.dump());
  if (!t.quantization_scales.is_null()) j["quantization_scales"] = J::parse(t.quantization_scales.dump());
  if (t.dedup_of) j["dedup_of"] = *t.dedup_of;
  if (t.state == TrialState::Fail) j["fail_reason"] = t.fail_reason;
  if (!t.constraints.empty()) j["constraints"] = t.constraints;
  if (!t.intermediate_values.empty()) {
    J steps = J::object();
    for (const auto& [step, v] : t.intermediate_values) steps[std::to_string(step)] = v;
    j["intermediate_values"] = steps;
  }
  if (t.duration_s) j["duration_s"] = *t.duration_s;
  return j;
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
  t.measured = j.contains("software_metrics") && j["software_metrics"].is_object();
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
  if (j.contains("quantization_scales") && !j["quantization_scales"].is_null())
    t.quantization_scales = nlohmann::json::parse(j["quantization_scales"].dump());
  if (j.contains("duration_s") && j["duration_s"].is_number()) t.duration_s = j["duration_s"].get<double>();
  if (j.contains("dedup_of") && j["dedup_of"].is_number_integer()) t.dedup_of = j["dedup_of"].get<int64_t>();
  if (j.contains("fail_reason") && j["fail_reason"].is_string()) t.fail_reason = j["fail_reason"].get<std::string>();
  return t;
}

TrialRecord from_frozen(const search::FrozenTrial& f) {
  TrialRecord t;
  t.number = f.number;
  t.state = f.state;
  t.values = f.values;
  for (const auto& [k, v] : f.external_params())
    t.params.emplace_back(k, std::visit([](const auto& x) { return nlohmann::json(x); }, v));
  auto attr = [&](const char* key) -> const nlohmann::json* {
    auto it = f.user_attrs.find(key);
    return it == f.user_attrs.end() ? nullptr : &it->second;
  };
  auto values = [](const nlohmann::json* g) {
    NamedValues out;
    if (g && g->is_object())
      for (const auto& [k, v] : g->items())
        if (v.is_number()) out.emplace_back(k, v.get<double>());
    return out;
  };
  t.measured = attr("software_metrics") != nullptr;
  t.software_metrics = values(attr("software_metrics"));
  t.hardware_metrics = values(attr("hardware_metrics"));
  t.scaled_metrics = values(attr("scaled_metrics"));
  t.intermediate_values = f.intermediate_values;
  t.constraints = f.constraints;
  if (const auto* c = attr("config")) t.config = *c;
  if (const auto* q = attr("quantization_scales")) t.quantization_scales = *q;
  if (const auto* d = attr("dedup_of"); d && d->is_number_integer()) t.dedup_of = d->get<int64_t>();
  if (f.state == TrialState::Fail) t.fail_reason = f.fail_reason();
  if (f.datetime_start && f.datetime_complete)
    t.duration_s = std::chrono::duration<double>(*f.datetime_complete - *f.datetime_start).count();
  return t;
}

StudyResults from_study(search::Study& study, const std::string& source) {
  StudyResults r;
  r.name = study.name();
  r.source = source;
  for (const auto& t : study.trials()) r.trials.push_back(from_frozen(*t));
  // A de-duplicated trial repeats an earlier one's result: the best list names the original only.
  for (const auto& t : study.best_trials())
    if (!t->user_attrs.count("dedup_of")) r.best_numbers.push_back(t->number);
  std::sort(r.best_numbers.begin(), r.best_numbers.end());
  auto attrs = study.storage().get_study_user_attrs(study.study_id());
  if (auto it = attrs.find("chop:results"); it != attrs.end()) {
    read_meaning(nlohmann::ordered_json::parse(it->second.dump()), "study '" + r.name + "' attribute chop:results", r);
  } else {  // a study chop did not write: the values by position, in its stored directions
    for (size_t i = 0; i < study.directions().size(); ++i)
      r.objectives.push_back({fmt::format("value_{}", i), study.directions()[i] == search::StudyDirection::Maximize});
  }
  if (auto it = attrs.find("resolved_config"); it != attrs.end())
    r.resolved_config = nlohmann::ordered_json::parse(it->second.dump());
  else
    r.resolved_config = {{"study", r.name}};
  if (auto it = attrs.find("chop:supernet"); it != attrs.end())
    r.supernet = nlohmann::ordered_json::parse(it->second.dump());
  return r;
}

StudyResults load_study(const std::string& url, const std::string& name) {
  auto storage = search::make_storage(url);
  auto names = storage->get_all_study_names();
  CHOP_CHECK(std::find(names.begin(), names.end(), name) != names.end(), SearchError, "{}",
             unknown_name_message("study", name, names) + " (storage " + url + ")");
  search::StudyOptions so;
  so.name = name;
  so.storage = storage;
  so.directions = storage->get_study_directions(storage->get_study_id(name));
  so.load_if_exists = true;
  so.sampler = search::make_sampler("random", 0);
  search::Study study(so);
  return from_study(study, url);
}

namespace {

std::string csv_cell(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

std::string trials_csv(const StudyResults& r) {
  size_t n_values = 0;
  for (const auto& t : r.trials) n_values = std::max(n_values, t.values.size());
  const auto params = r.param_keys(), sw = r.software_metric_keys(), hw = r.hardware_metric_keys();
  std::vector<std::string> header{"number", "state"};
  for (size_t i = 0; i < n_values; ++i) header.push_back(fmt::format("value_{}", i));
  for (const auto& k : params) header.push_back("param:" + k);
  for (const auto& k : sw) header.push_back("sw:" + k);
  for (const auto& k : hw) header.push_back("hw:" + k);
  std::string out = join(header, ",") + "\n";
  for (const auto& t : r.trials) {
    std::vector<std::string> row{std::to_string(t.number), search::to_string(t.state)};
    for (size_t i = 0; i < n_values; ++i) row.push_back(i < t.values.size() ? fmt::format("{}", t.values[i]) : "");
    for (const auto& k : params) row.push_back(t.param(k) ? csv_cell(*t.param(k)) : "");
    for (const auto& [values, keys] : {std::pair{&t.software_metrics, &sw}, std::pair{&t.hardware_metrics, &hw}})
      for (const auto& k : *keys) {
        const double* v = find_value(*values, k);
        row.push_back(v ? nlohmann::json(*v).dump() : "");
      }
    out += join(row, ",") + "\n";
  }
  return out;
}

/// A metrics dict as Python prints it rounded to 3 places: {'loss': 1.273, 'accuracy': 0.528}.
std::string py_dict(const NamedValues& metrics, const std::vector<std::string>& order) {
  std::vector<std::string> items;
  for (const auto& k : order)
    if (const double* v = find_value(metrics, k)) items.push_back(fmt::format("'{}': {}", k, python_round(*v, 3)));
  return "{" + join(items) + "}";
}

}  // namespace

void write_results_dir(const StudyResults& r, const std::string& dir) {
  nlohmann::ordered_json log = nlohmann::ordered_json::array(), best = nlohmann::ordered_json::array();
  for (const auto& t : r.trials) log.push_back(trial_json(t));
  for (const TrialRecord* t : r.best()) best.push_back(trial_json(*t));
  nlohmann::ordered_json meaning = {{"name", r.name}};
  meaning.update(meaning_json(r));
  write_file_atomically(dir + "/resolved_config.json", r.resolved_config.dump(2) + "\n");
  write_file_atomically(dir + "/study.json", meaning.dump(2) + "\n");
  write_file_atomically(dir + "/log.json", log.dump(2) + "\n");
  write_file_atomically(dir + "/best.json", best.dump(2) + "\n");
  write_file_atomically(dir + "/trials.csv", trials_csv(r));
  if (!r.supernet.is_null()) write_file_atomically(dir + "/supernet.json", r.supernet.dump(2) + "\n");
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
  auto path = [&](const char* file) { return (fs::path(dir) / file).string(); };
  const std::string log_path = path("log.json"), best_path = path("best.json"),
                    config_path = path("resolved_config.json"), study_path = path("study.json");
  CHOP_CHECK(fs::exists(log_path), DataError,
             "'{}' is missing: '{}' is not a search results directory (chop search writes log.json, "
             "best.json, study.json and resolved_config.json into <project>/software/search_ckpts)",
             log_path, dir_in);
  for (const auto& p : {config_path, study_path})
    CHOP_CHECK(fs::exists(p), DataError, "'{}' is missing (chop search writes it before any trial; "
               "results of an older chop: `chop report --storage sqlite:///{}/study.db --study-name NAME`)",
               p, dir);

  StudyResults out;
  out.source = dir;
  auto log = read_json_file<nlohmann::ordered_json>(log_path);
  CHOP_CHECK(log.is_array(), DataError, "'{}' must hold an array of trials, but holds {}", log_path,
             log.type_name());
  for (size_t i = 0; i < log.size(); ++i)
    out.trials.push_back(parse_trial(log[i], fmt::format("'{}' [{}]", log_path, i)));
  std::stable_sort(out.trials.begin(), out.trials.end(),
                   [](const TrialRecord& a, const TrialRecord& b) { return a.number < b.number; });

  out.resolved_config = read_json_file<nlohmann::ordered_json>(config_path);
  CHOP_CHECK(out.resolved_config.is_object(), DataError, "'{}' must hold an object, but holds {}",
             config_path, out.resolved_config.type_name());
  auto study = read_json_file<nlohmann::ordered_json>(study_path);
  read_meaning(study, "'" + study_path + "'", out);
  for (const auto& t : out.trials)
    CHOP_CHECK(t.state != TrialState::Complete || t.values.size() == out.objectives.size(), DataError,
               "'{}': trial {} has {} value(s) but the study has {} objective(s) ({})", log_path, t.number,
               t.values.size(), out.objectives.size(), study_path);
  if (study.contains("name") && study["name"].is_string()) out.name = study["name"].get<std::string>();
  if (out.name.empty()) out.name = fs::path(dir).lexically_normal().filename().string();

  if (const std::string supernet_path = path("supernet.json"); fs::exists(supernet_path)) {
    out.supernet = read_json_file<nlohmann::ordered_json>(supernet_path);
    CHOP_CHECK(out.supernet.is_object(), DataError, "'{}' must hold an object, but holds {}", supernet_path,
               out.supernet.type_name());
  }
  if (fs::exists(best_path)) {
    auto best = read_json_file<nlohmann::ordered_json>(best_path);
    CHOP_CHECK(best.is_array(), DataError, "'{}' must hold an array of trials, but holds {}", best_path,
               best.type_name());
    for (size_t i = 0; i < best.size(); ++i)
      out.best_numbers.push_back(parse_trial(best[i], fmt::format("'{}' [{}]", best_path, i)).number);
  }
  return out;
}

std::string best_trials_table(const StudyResults& r) {
  Table t({"", "number", "software_metrics", "hardware_metrics", "scaled_metrics"});
  int64_t i = 0;
  for (const TrialRecord* trial : r.best()) {
    std::vector<std::string> sw_keys{"loss", "accuracy"}, hw_keys, scaled_keys;
    for (const auto& [k, v] : trial->scaled_metrics) {
      scaled_keys.push_back(k);
      if (find_value(trial->software_metrics, k) && k != "loss" && k != "accuracy") sw_keys.push_back(k);
    }
    for (const auto& [k, v] : trial->hardware_metrics) hw_keys.push_back(k);
    t.add_row({std::to_string(i++), std::to_string(trial->number), py_dict(trial->software_metrics, sw_keys),
               py_dict(trial->hardware_metrics, hw_keys), py_dict(trial->scaled_metrics, scaled_keys)});
  }
  return t.render(Table::Style::Org);
}

}  // namespace chop::results
