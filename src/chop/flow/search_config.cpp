// The [search] table of a config (MASE's format plus chop's keys), read once into typed options.
#include "chop/flow/search_config.h"

#include <algorithm>

#include "chop/interchange/onnx_export.h"
#include "chop/passes/hardware_metrics.h"
#include "chop/results/metric_info.h"
#include "chop/search/pruners/pruner.h"
#include "chop/search/samplers/sampler.h"
#include "chop/support/error.h"
#include "chop/support/option_reader.h"
#include "chop/support/strings.h"

namespace chop::flow {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

SoftwareRunner read_sw_runner(const std::string& name, const nlohmann::ordered_json& table) {
  static const std::vector<std::string> kRunners{"basic_evaluation", "basic_train"};
  CHOP_CHECK(contains(kRunners, name), ConfigError, "[search.strategy.sw_runner]: {}",
             unknown_name_message("software runner", name, kRunners));
  OptionReader r(table, "[search.strategy.sw_runner." + name + "]");
  SoftwareRunner s;
  s.name = name;
  s.data_loader = r.get<std::string>("data_loader", s.data_loader);
  CHOP_CHECK(s.data_loader == "val_dataloader" || s.data_loader == "test_dataloader" ||
                 s.data_loader == "train_dataloader",
             ConfigError, "[search.strategy.sw_runner.{}] data_loader must be val_dataloader, "
             "test_dataloader or train_dataloader, but got '{}'", name, s.data_loader);
  s.num_samples = r.get<int64_t>("num_samples", 0);
  CHOP_CHECK(s.num_samples >= 0, ConfigError, "[search.strategy.sw_runner.{}] num_samples must be >= 0, but got {}",
             name, s.num_samples);
  if (name == "basic_train") {
    s.max_epochs = r.get<int64_t>("max_epochs", 1);
    s.max_steps = r.get<int64_t>("max_steps", -1);
    s.learning_rate = r.get<double>("learning_rate", 0);
    s.optimizer = r.get<std::string>("optimizer", "");
    CHOP_CHECK(s.max_epochs >= 1 || s.max_steps > 0, ConfigError,
               "[search.strategy.sw_runner.basic_train] needs max_epochs >= 1 or max_steps > 0");
    CHOP_CHECK(s.learning_rate >= 0, ConfigError,
               "[search.strategy.sw_runner.basic_train] learning_rate must be positive (or 0: the "
               "run's learning_rate), but got {}", s.learning_rate);
  }
  r.finish();
  return s;
}

}  // namespace

SearchConfig read_search_config(const nlohmann::ordered_json& search) {
  SearchConfig c;
  CHOP_CHECK(search.is_object(), ConfigError, "[search] must be a table");
  for (const auto& [key, v] : search.items())
    CHOP_CHECK(key == "search_space" || key == "strategy" || key == "export", ConfigError, "[search]: {}",
               unknown_name_message("key", key, {"search_space", "strategy", "export"}));
  if (search.contains("export")) {
    CHOP_CHECK(search["export"].is_array(), ConfigError, "[search] export must be a list such as [\"onnx\", \"qonnx\"]");
    for (const auto& f : search["export"]) {
      CHOP_CHECK(f.is_string(), ConfigError, "[search] export must list format names, but holds {}", f.dump());
      try {
        interchange::parse_export_format(f.get<std::string>());
      } catch (const ConfigError& e) {
        throw ConfigError(fmt::format("[search] export: {}", e.what()));
      }
      c.export_formats.push_back(f.get<std::string>());
    }
  }
  CHOP_CHECK(search.contains("search_space"), ConfigError, "[search.search_space] is missing");
  const auto& space = search["search_space"];
  for (const auto& [key, v] : space.items())
    CHOP_CHECK(key == "name" || key == "setup" || key == "seed", ConfigError,
               "[search.search_space]: {}", unknown_name_message("key", key, {"name", "setup", "seed"}));
  CHOP_CHECK(space.contains("name") && space["name"].is_string(), ConfigError,
             "[search.search_space] needs name = \"graph/quantize/mixed_precision_ptq\" (or another space)");
  c.space_name = space["name"].get<std::string>();
  c.space_setup = space.value("setup", nlohmann::ordered_json::object());
  c.space_seed = space.value("seed", nlohmann::ordered_json::object());

  nlohmann::ordered_json strategy = search.value("strategy", nlohmann::ordered_json::object());
  OptionReader sr(strategy, "[search.strategy]");
  c.strategy = sr.get<std::string>("name", "optuna");
  CHOP_CHECK(c.strategy == "optuna" || c.strategy == "supernet", ConfigError,
             "[search.strategy] name must be \"optuna\" (chop's native engine with Optuna's "
             "samplers: each trial trains its candidate) or \"supernet\" (a weight-sharing width "
             "search: candidates scored from one trained supernet), but got '{}'", c.strategy);
  c.eval_mode = sr.get<bool>("eval_mode", true);
  nlohmann::json sw = sr.value("sw_runner"), hw = sr.value("hw_runner"), setup = sr.value("setup"),
                 metrics = sr.value("metrics"), constraints = sr.value("constraints"),
                 supernet = sr.value("supernet");
  sr.finish();
  CHOP_CHECK(supernet.is_null() || c.strategy == "supernet", ConfigError,
             "[search.strategy.supernet] is read only with [search.strategy] name = \"supernet\"");
  if (c.strategy == "supernet") {
    static const std::vector<std::string> kWidthSpaces{"graph/architecture/channel", "graph/joint/channel_quantize",
                                                       "graph/quantize/channel_size_modifier"};
    CHOP_CHECK(contains(kWidthSpaces, c.space_name), ConfigError,
               "[search.strategy] name = \"supernet\" searches channel widths: the space must be one of {}, "
               "but is '{}'", join(kWidthSpaces), c.space_name);
    OptionReader r(supernet.is_null() ? nlohmann::json::object() : supernet, "[search.strategy.supernet]");
    SupernetSetup& n = c.supernet;
    n.max_epochs = r.get<int64_t>("max_epochs", n.max_epochs);
    n.learning_rate = r.get<double>("learning_rate", n.learning_rate);
    n.random_subnets = r.get<int64_t>("random_subnets", n.random_subnets);
    n.batch_size = r.get<int64_t>("batch_size", n.batch_size);
    n.distill = r.get<bool>("distill", n.distill);
    n.calibration_batches = r.get<int64_t>("calibration_batches", n.calibration_batches);
    n.retrain = r.get<int64_t>("retrain", n.retrain);
    n.fidelity_samples = r.get<int64_t>("fidelity_samples", n.fidelity_samples);
    n.score = r.get<std::string>("score", n.score);
    r.finish();
    const auto software = results::metric_names(/*hardware=*/false);
    CHOP_CHECK(contains(software, n.score), ConfigError,
               "[search.strategy.supernet] score must be a software metric ({}), but got '{}'", join(software), n.score);
    auto at_least = [](int64_t v, int64_t low, const char* key) {
      CHOP_CHECK(v >= low, ConfigError, "[search.strategy.supernet] {} must be >= {}, but got {}", key, low, v);
    };
    at_least(n.max_epochs, 1, "max_epochs");
    at_least(n.random_subnets, 0, "random_subnets");
    at_least(n.batch_size, 0, "batch_size");
    at_least(n.calibration_batches, 1, "calibration_batches");
    at_least(n.retrain, 1, "retrain");
    at_least(n.fidelity_samples, 0, "fidelity_samples");
    CHOP_CHECK(n.learning_rate >= 0, ConfigError,
               "[search.strategy.supernet] learning_rate must be positive (or 0: basic_train's), but got {}",
               n.learning_rate);
  }

  // Runners in file order (ordered_json keeps it).
  if (strategy.contains("sw_runner"))
    for (const auto& [name, table] : strategy["sw_runner"].items()) c.sw_runners.push_back(read_sw_runner(name, table));
  if (c.sw_runners.empty()) c.sw_runners.push_back(SoftwareRunner{});
  CHOP_CHECK(c.strategy != "supernet" || std::any_of(c.sw_runners.begin(), c.sw_runners.end(),
                                                      [](const SoftwareRunner& r) { return r.name == "basic_train"; }),
             ConfigError, "[search.strategy] name = \"supernet\" retrains its best candidates stand-alone with "
             "[search.strategy.sw_runner.basic_train]: add that table");
  if (strategy.contains("hw_runner"))
    for (const auto& [name, table] : strategy["hw_runner"].items()) {
      const passes::HardwareMetric* metric = nullptr;
      try {
        metric = &passes::hardware_metric(name);
      } catch (const ConfigError& e) {
        throw ConfigError(fmt::format("[search.strategy.hw_runner]: {}", e.what()));
      }
      // A bad option fails now, not after the first trial has trained.
      OptionReader reader(table, "[search.strategy.hw_runner." + name + "]");
      c.hw_runners.push_back({name, table, metric->read(reader)});
      reader.finish();
    }

  OptionReader su(setup, "[search.strategy.setup]");
  auto& s = c.setup;
  s.n_trials = su.get<int64_t>("n_trials", s.n_trials);
  s.timeout = su.get<double>("timeout", s.timeout);
  s.n_jobs = su.get<int>("n_jobs", s.n_jobs);
  s.sampler = su.get<std::string>("sampler", s.sampler);
  if (su.value("sampler_options").is_object()) s.sampler_options = su.value("sampler_options");
  s.pruner = su.get<std::string>("pruner", s.pruner);
  if (su.value("pruner_options").is_object()) s.pruner_options = su.value("pruner_options");
  s.pruning_metric = su.get<std::string>("pruning_metric", s.pruning_metric);
  s.sum_scaled_metrics = su.get<bool>("sum_scaled_metrics", s.sum_scaled_metrics);
  s.direction = su.get<std::string>("direction", s.direction);
  s.seed = su.get<int64_t>("seed", s.seed);
  s.dedup = su.get<bool>("dedup", s.dedup);
  s.keep_trial_ckpts = su.get<bool>("keep_trial_ckpts", s.keep_trial_ckpts);
  su.finish();
  CHOP_CHECK(s.n_trials >= 0, ConfigError, "[search.strategy.setup] n_trials must be >= 0, but got {}",
             s.n_trials);
  CHOP_CHECK(s.timeout >= 0, ConfigError,
             "[search.strategy.setup] timeout must be >= 0 seconds (0: none), but got {}", s.timeout);
  CHOP_CHECK(s.n_trials > 0 || s.timeout > 0, ConfigError,
             "[search.strategy.setup] needs n_trials > 0 or timeout > 0");
  CHOP_CHECK(s.n_jobs >= 1, ConfigError, "[search.strategy.setup] n_jobs must be >= 1, but got {}", s.n_jobs);
  CHOP_CHECK(s.direction == "maximize" || s.direction == "minimize", ConfigError,
             "[search.strategy.setup] direction must be maximize or minimize, but got '{}'", s.direction);
  std::vector<std::string> pruners = search::pruner_names();
  CHOP_CHECK(contains(pruners, s.pruner), ConfigError, "[search.strategy.setup]: {}",
             unknown_name_message("pruner", s.pruner, pruners));
  // The sampler and pruner check their own options: build them once here, before any work.
  try {
    search::make_sampler(s.sampler, 0, s.sampler_options);
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("[search.strategy.setup] sampler = \"{}\": {}", s.sampler, e.what()));
  }
  try {
    search::make_pruner(s.pruner, s.pruner_options);
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("[search.strategy.setup] pruner = \"{}\": {}", s.pruner, e.what()));
  }

  std::vector<std::string> known = results::metric_names(/*hardware=*/false);
  for (const auto& h : c.hw_runners)
    for (const auto& m : results::runner_metrics(h.name))
      if (!contains(known, m)) known.push_back(m);
  if (metrics.is_object())
    for (const auto& [name, spec] : metrics.items()) {
      CHOP_CHECK(contains(known, name), ConfigError,
                 "[search.strategy.metrics]: no runner produces metric '{}'; produced: {} (add a "
                 "[search.strategy.hw_runner.{}] table for a hardware metric)", name, join(known), name);
      OptionReader mr(spec, "[search.strategy.metrics." + name + "]");
      MetricSpec m{name, mr.get<double>("scale", 1.0), mr.get<std::string>("direction", "maximize")};
      mr.finish();
      CHOP_CHECK(m.direction == "maximize" || m.direction == "minimize", ConfigError,
                 "[search.strategy.metrics.{}] direction must be maximize or minimize, but got '{}'",
                 name, m.direction);
      c.metrics.push_back(m);
    }
  if (c.metrics.empty()) c.metrics.push_back({"accuracy", 1.0, "maximize"});
  std::sort(c.metrics.begin(), c.metrics.end(),
            [](const MetricSpec& a, const MetricSpec& b) { return a.name < b.name; });

  if (constraints.is_object())
    for (const auto& [key, limit] : constraints.items()) {
      CHOP_CHECK(key.rfind("max_", 0) == 0 && contains(known, key.substr(4)), ConfigError,
                 "[search.strategy.constraints]: '{}' must be max_<metric> for a produced metric ({})",
                 key, join(known));
      CHOP_CHECK(limit.is_number(), ConfigError, "[search.strategy.constraints] {} must be a number", key);
      c.constraints[key.substr(4)] = limit.get<double>();
    }
  return c;
}

std::vector<results::Objective> SearchConfig::objectives() const {
  if (setup.sum_scaled_metrics) return {{"sum_scaled_metrics", setup.direction == "maximize"}};
  std::vector<results::Objective> out;
  for (const auto& m : metrics) out.push_back({m.name, m.maximize()});
  return out;
}

nlohmann::ordered_json SearchConfig::to_json() const {
  nlohmann::ordered_json metrics_j = nlohmann::ordered_json::object();
  for (const auto& m : metrics) metrics_j[m.name] = {{"scale", m.scale}, {"direction", m.direction}};
  nlohmann::ordered_json sw_j = nlohmann::ordered_json::object();
  for (const auto& s : sw_runners) {
    sw_j[s.name] = {{"data_loader", s.data_loader}, {"num_samples", s.num_samples}};
    if (s.name == "basic_train") {
      sw_j[s.name]["max_epochs"] = s.max_epochs;
      sw_j[s.name]["max_steps"] = s.max_steps;
    }
  }
  nlohmann::ordered_json hw_j = nlohmann::ordered_json::object();
  for (const auto& h : hw_runners) hw_j[h.name] = nlohmann::ordered_json::parse(h.options.dump());
  nlohmann::ordered_json out = {{"search_space", {{"name", space_name}, {"setup", space_setup}, {"seed", space_seed}}},
          {"strategy",
           {{"name", strategy},
            {"eval_mode", eval_mode},
            {"sw_runner", sw_j},
            {"hw_runner", hw_j},
            {"setup",
             {{"n_trials", setup.n_trials}, {"timeout", setup.timeout}, {"n_jobs", setup.n_jobs},
              {"sampler", setup.sampler}, {"sampler_options", nlohmann::ordered_json::parse(setup.sampler_options.dump())},
              {"pruner", setup.pruner}, {"pruner_options", nlohmann::ordered_json::parse(setup.pruner_options.dump())},
              {"pruning_metric", setup.pruning_metric}, {"sum_scaled_metrics", setup.sum_scaled_metrics},
              {"direction", setup.direction}, {"seed", setup.seed}, {"dedup", setup.dedup},
              {"keep_trial_ckpts", setup.keep_trial_ckpts}}},
            {"metrics", metrics_j},
            {"constraints", constraints}}}};
  if (strategy == "supernet")
    out["strategy"]["supernet"] = {{"max_epochs", supernet.max_epochs}, {"learning_rate", supernet.learning_rate},
                                   {"random_subnets", supernet.random_subnets}, {"batch_size", supernet.batch_size},
                                   {"distill", supernet.distill},
                                   {"calibration_batches", supernet.calibration_batches},
                                   {"retrain", supernet.retrain}, {"fidelity_samples", supernet.fidelity_samples},
                                   {"score", supernet.score}};
  if (!export_formats.empty()) out["export"] = export_formats;
  return out;
}

}  // namespace chop::flow
