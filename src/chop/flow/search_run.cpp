// `chop search`: a study whose trials transform, train / evaluate and measure a model.
#include "chop/flow/search_run.h"

#include <fmt/format.h>

#include <atomic>
#include <map>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>
#include <optional>

#include "chop/data/data_module.h"
#include "chop/flow/model_source.h"
#include "chop/flow/search_space.h"
#include "chop/flow/train_options.h"
#include "chop/flow/transforms.h"
#include "chop/runtime/checkpoint.h"
#include "chop/search/samplers/grid_sampler.h"
#include "chop/search/storage/storage_url.h"
#include "chop/search/study.h"
#include "chop/support/error.h"
#include "chop/support/files.h"
#include "chop/support/progress.h"
#include "chop/support/strings.h"
#include "chop/support/table.h"
#include "chop/train/trainer.h"

namespace chop::flow {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

/// One software metric by name, read from the metrics' own JSON field list.
double software_metric(const train::ClassificationMetrics& m, const std::string& name) {
  auto j = m.to_json(/*with_confusion=*/false);
  CHOP_ASSERT(j.contains(name), "unknown software metric {}", name);
  return j[name].get<double>();
}

/// Fault injection for the crash-recovery tests: `CHOP_FAULT_KILL_AT_TRIAL=N` makes the process
/// SIGKILL itself once trial N is RUNNING in storage, exactly as `kill -9` mid-trial would,
/// without a test racing a poll loop against the search.
void maybe_kill_at_trial(int64_t number) {
  const char* env = std::getenv("CHOP_FAULT_KILL_AT_TRIAL");
  if (env && *env && std::strtoll(env, nullptr, 10) == number) std::raise(SIGKILL);
}

data::SplitKind split_of(const std::string& data_loader) {
  if (data_loader == "test_dataloader") return data::SplitKind::test;
  if (data_loader == "train_dataloader") return data::SplitKind::train;
  return data::SplitKind::val;
}

std::string trial_ckpt(const std::string& out_dir, int64_t number) {
  return fmt::format("{}/trials/trial_{}.ckpt", out_dir, number);
}

/// A metrics dict as Python prints it rounded to 3 places: {'loss': 1.273, 'accuracy': 0.528}.
std::string py_dict(const nlohmann::json& metrics, const std::vector<std::string>& order) {
  std::vector<std::string> items;
  for (const auto& k : order)
    if (metrics.contains(k) && metrics[k].is_number())
      items.push_back(fmt::format("'{}': {}", k, python_round(metrics[k].get<double>(), 3)));
  return "{" + join(items) + "}";
}

Json trial_json(const search::FrozenTrial& t) {
  Json params = Json::object();
  for (const auto& [k, v] : t.external_params())
    params[k] = Json::parse(std::visit([](const auto& x) { return nlohmann::json(x); }, v).dump());
  Json j = {{"number", t.number}, {"state", search::to_string(t.state)}, {"values", t.values},
            {"params", params}};
  for (const char* key : {"software_metrics", "hardware_metrics", "scaled_metrics", "config",
                          "quantization_scales", "dedup_of"})
    if (t.user_attrs.count(key)) j[key] = Json::parse(t.user_attrs.at(key).dump());
  if (t.state == search::TrialState::Fail) j["fail_reason"] = t.fail_reason();
  if (!t.constraints.empty()) j["constraints"] = t.constraints;
  if (!t.intermediate_values.empty()) {
    Json steps = Json::object();
    for (const auto& [step, v] : t.intermediate_values) steps[std::to_string(step)] = v;
    j["intermediate_values"] = steps;
  }
  if (t.datetime_start && t.datetime_complete)
    j["duration_s"] = std::chrono::duration<double>(*t.datetime_complete - *t.datetime_start).count();
  return j;
}

std::string csv_cell(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

void write_trials_csv(const std::string& path, const std::vector<search::FrozenTrialPtr>& trials) {
  std::vector<std::string> params, sw, hw;
  auto add = [](std::vector<std::string>& keys, const std::string& k) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  };
  size_t n_values = 0;
  for (const auto& t : trials) {
    for (const auto& [k, v] : t->external_params()) add(params, k);
    if (t->user_attrs.count("software_metrics"))
      for (const auto& [k, v] : t->user_attrs.at("software_metrics").items()) add(sw, k);
    if (t->user_attrs.count("hardware_metrics"))
      for (const auto& [k, v] : t->user_attrs.at("hardware_metrics").items()) add(hw, k);
    n_values = std::max(n_values, t->values.size());
  }
  std::vector<std::string> header{"number", "state"};
  for (size_t i = 0; i < n_values; ++i) header.push_back(fmt::format("value_{}", i));
  for (const auto& k : params) header.push_back("param:" + k);
  for (const auto& k : sw) header.push_back("sw:" + k);
  for (const auto& k : hw) header.push_back("hw:" + k);
  std::string out = join(header, ",") + "\n";
  for (const auto& t : trials) {
    std::vector<std::string> row{std::to_string(t->number), search::to_string(t->state)};
    for (size_t i = 0; i < n_values; ++i)
      row.push_back(i < t->values.size() ? fmt::format("{}", t->values[i]) : "");
    auto ext = t->external_params();
    for (const auto& k : params)
      row.push_back(ext.count(k) ? csv_cell(std::visit([](const auto& x) { return nlohmann::json(x); }, ext.at(k))) : "");
    for (const auto& [group, keys] : {std::pair{"software_metrics", &sw}, std::pair{"hardware_metrics", &hw}})
      for (const auto& k : *keys) {
        auto it = t->user_attrs.find(group);
        row.push_back(it != t->user_attrs.end() && it->second.contains(k) ? csv_cell(it->second[k]) : "");
      }
    out += join(row, ",") + "\n";
  }
  write_file_atomically(path, out);
}

std::atomic<search::Study*> g_running_study{nullptr};
std::atomic<bool> g_stop_requested{false};

/// Writes log.json, best.json, trials.csv (and, at the end, best.ckpt) from the study's trials.
void write_outputs(search::Study& study, const std::string& out_dir, const SearchRunOptions& o,
                   bool final, SearchOutcome* outcome = nullptr) {
  auto trials = study.trials();
  auto best = study.best_trials();
  // A de-duplicated trial repeats an earlier one's result: list the original only.
  best.erase(std::remove_if(best.begin(), best.end(),
                            [](const auto& t) { return t->user_attrs.count("dedup_of") > 0; }),
             best.end());
  std::sort(best.begin(), best.end(), [](const auto& a, const auto& b) { return a->number < b->number; });
  Json log = Json::array(), best_j = Json::array();
  for (const auto& t : trials) log.push_back(trial_json(*t));
  for (const auto& t : best) best_j.push_back(trial_json(*t));
  write_file_atomically(out_dir + "/log.json", log.dump(2) + "\n");
  write_file_atomically(out_dir + "/best.json", best_j.dump(2) + "\n");
  write_trials_csv(out_dir + "/trials.csv", trials);
  if (final && outcome) {
    outcome->trials = trials;
    outcome->best = best;
    outcome->table = best_trials_table(best);
    if (!best.empty()) {
      const auto& first = *best.front();
      int64_t source = first.number;
      if (first.user_attrs.count("dedup_of")) source = first.user_attrs.at("dedup_of").get<int64_t>();
      std::string from = trial_ckpt(out_dir, source);
      if (fs::exists(from)) {
        outcome->best_ckpt = out_dir + "/best.ckpt";
        fs::copy_file(from, outcome->best_ckpt, fs::copy_options::overwrite_existing);
      }
    }
    if (!o.search.setup.keep_trial_ckpts) fs::remove_all(out_dir + "/trials");
  }
  if (o.on_outputs) o.on_outputs(out_dir);
}


/// What a study searches (parameters and their choices, objectives and their directions),
/// stored with it; a resumed or shared study must search the same, else SearchError naming
/// the difference (one space and one trials.csv per study).
void check_same_search(search::Study& study, const SearchSpace& space, const SearchConfig& cfg,
                       const std::string& storage_url) {
  nlohmann::json params = nlohmann::json::object(), objectives = nlohmann::json::array();
  for (const auto& [name, choices] : space.parameters()) params[name] = choices;
  if (cfg.setup.sum_scaled_metrics) objectives.push_back("sum of scaled metrics (" + cfg.setup.direction + ")");
  for (const auto& m : cfg.metrics) objectives.push_back(m.name + " (" + m.direction + ")");
  const nlohmann::json mine = {{"parameters", params}, {"objectives", objectives}};
  const char* key = "chop:search";
  auto attrs = study.storage().get_study_user_attrs(study.study_id());
  auto it = attrs.find(key);
  if (it == attrs.end()) {
    study.storage().set_study_user_attr(study.study_id(), key, mine);
    return;
  }
  const nlohmann::json& stored = it->second;
  auto names = [](const nlohmann::json& p) {
    std::vector<std::string> out;
    for (const auto& [k, v] : p.items()) out.push_back(k);
    return join(out);
  };
  const std::string where = fmt::format("study '{}' (storage {})", study.name(), storage_url);
  const std::string fix = "use another --project or --study-name, or the config it was run with";
  if (stored["objectives"] != mine["objectives"])
    throw SearchError(fmt::format("{} has objectives {}, this config {}: {}", where,
                                  stored["objectives"].dump(), mine["objectives"].dump(), fix));
  if (names(stored["parameters"]) != names(mine["parameters"]))
    throw SearchError(fmt::format("{} searches parameters {}, this config {}: {}", where,
                                  names(stored["parameters"]), names(mine["parameters"]), fix));
  for (const auto& [name, choices] : mine["parameters"].items())
    if (stored["parameters"][name] != choices)
      throw SearchError(fmt::format("{}: parameter '{}' has choices {}, this config {}: {}", where, name,
                                    stored["parameters"][name].dump(), choices.dump(), fix));
}

}  // namespace

void request_search_stop() {
  g_stop_requested = true;
  if (search::Study* s = g_running_study.load()) s->stop();
}

std::string best_trials_table(const std::vector<search::FrozenTrialPtr>& best) {
  Table t({"", "number", "software_metrics", "hardware_metrics", "scaled_metrics"});
  int64_t i = 0;
  for (const auto& trial : best) {
    auto attr = [&](const char* k) {
      return trial->user_attrs.count(k) ? trial->user_attrs.at(k) : nlohmann::json::object();
    };
    const nlohmann::json sw = attr("software_metrics"), hw = attr("hardware_metrics"),
                         scaled = attr("scaled_metrics");
    std::vector<std::string> sw_keys{"loss", "accuracy"}, hw_keys, scaled_keys;
    for (const auto& [k, v] : scaled.items()) {
      scaled_keys.push_back(k);
      if (sw.contains(k) && k != "loss" && k != "accuracy") sw_keys.push_back(k);
    }
    for (const auto& [k, v] : hw.items()) hw_keys.push_back(k);
    t.add_row({std::to_string(i++), std::to_string(trial->number), py_dict(sw, sw_keys),
               py_dict(hw, hw_keys), py_dict(scaled, scaled_keys)});
  }
  return t.render(Table::Style::Org);
}

SearchOutcome run_search(const SearchRunOptions& o) {
  const RunConfig& run = o.run;
  const SearchConfig& cfg = o.search;
  runtime::set_threads(run.num_threads);
  torch::Device device = runtime::parse_accelerator(run.accelerator);
  uint64_t seed = static_cast<uint64_t>(cfg.setup.seed >= 0 ? cfg.setup.seed : run.seed);

  auto started = std::chrono::steady_clock::now();
  SearchOutcome outcome;
  outcome.out_dir = run.software_dir() + "/search_ckpts";
  data::DataModule dm(data_options(run));
  // A loaded checkpoint is the starting point of every trial: same-shaped tensors are copied,
  // resized ones take the overlapping part of the trained weights.
  std::optional<runtime::GraphModule> loaded;
  if (!run.load.empty()) loaded = run_module(run.model, run.load, dm.info(), o.toml, seed, device);
  ir::Graph base = loaded ? (*loaded)->graph() : run_graph(run.model, dm.info(), o.toml);
  base.lint();
  auto space = make_search_space(cfg, base);  // checks every choice: nothing is written before
  Json resolved = to_json(run);
  resolved["search"] = cfg.to_json();

  // Objectives: one per metric, or their sum honouring each metric's own direction.
  std::vector<search::StudyDirection> directions;
  auto dir = [](const std::string& d) {
    return d == "maximize" ? search::StudyDirection::Maximize : search::StudyDirection::Minimize;
  };
  if (cfg.setup.sum_scaled_metrics)
    directions.push_back(dir(cfg.setup.direction));
  else
    for (const auto& m : cfg.metrics) directions.push_back(dir(m.direction));

  search::StudyOptions so;
  so.name = run.project;
  so.directions = directions;
  so.sampler = search::make_sampler(cfg.setup.sampler, seed, cfg.setup.sampler_options);
  // The grid gets the whole space up front, so parallel trials and workers never wait for a
  // first trial to reveal it.
  if (so.sampler->name() == "grid") so.sampler = std::make_unique<search::GridSampler>(space->distributions(), seed);
  so.pruner = search::make_pruner(cfg.setup.pruner, cfg.setup.pruner_options);
  so.dedup = cfg.setup.dedup;
  std::string storage_url = o.storage_url.empty() ? "sqlite:///" + outcome.out_dir + "/study.db" : o.storage_url;
  so.storage = search::make_storage(storage_url);
  bool shared = o.resume || o.worker;
  so.load_if_exists = shared;
  if (!o.study_name.empty()) so.name = o.study_name;
  if (storage_url != "memory") so.with_heartbeat(2, 10);  // a dead worker's trial: FAIL after 10 s
  const auto& sw_metrics = software_metric_names();
  bool pruning_maximize = cfg.setup.pruning_metric != "loss";
  so.pruning_direction = pruning_maximize ? search::StudyDirection::Maximize : search::StudyDirection::Minimize;
  CHOP_CHECK(std::find(sw_metrics.begin(), sw_metrics.end(), cfg.setup.pruning_metric) != sw_metrics.end(),
             ConfigError, "[search.strategy.setup] pruning_metric must be a software metric ({}), but got '{}'",
             join(sw_metrics), cfg.setup.pruning_metric);
  std::unique_ptr<search::Study> study_ptr;
  try {
    study_ptr = std::make_unique<search::Study>(so);
  } catch (const SearchError& e) {
    throw SearchError(fmt::format("{} (storage {}): pass --resume to continue it, or choose "
                                  "another --project / --study-name", e.what(), storage_url));
  }
  search::Study& study = *study_ptr;
  check_same_search(study, *space, cfg, storage_url);
  write_file_atomically(outcome.out_dir + "/resolved_config.json", resolved.dump(2) + "\n");
  study.storage().set_study_user_attr(study.study_id(), "resolved_config",
                                      nlohmann::json::parse(resolved.dump()));

  // Every trial of a search from a checkpoint starts from its weights, so a quantization
  // without width changes sees the inputs the loaded model sees: observe them once (float, on
  // training batches) and calibrate every such trial from the same observations.
  std::mutex calibration_mutex;
  std::map<int64_t, runtime::InputObservations> loaded_observations;  // by batches observed
  auto calibrate_from_loaded = [&](runtime::GraphModule& m, const ir::Graph& g) {
    if (!loaded || !m->needs_calibration()) return;
    for (const auto& n : g.nodes()) {
      const ir::Node* b = base.find(n.name);
      if (!b || b->meta.in_shapes != n.meta.in_shapes) return;  // widths changed: its own calibration
    }
    std::lock_guard<std::mutex> lock(calibration_mutex);
    int64_t n = m->calibration_batches();
    auto it = loaded_observations.find(n);
    if (it == loaded_observations.end())
      it = loaded_observations.emplace(n, (*loaded)->observe_inputs(train::calibration_batches(dm, n, device), true)).first;
    m->calibrate(it->second);
  };

  auto objective = [&](search::Trial& trial) -> std::vector<double> {
    Json tables = space->sample(trial);
    trial.set_user_attr("config", nlohmann::json::parse(tables.dump()));
    maybe_kill_at_trial(trial.number());
    ir::Graph g = apply_transforms(base, tables);
    auto m = loaded ? runtime::rebuild_module(g, **loaded, seed, /*inherit_resized=*/true)
                    : runtime::build_module(g, seed, device);
    calibrate_from_loaded(m, g);
    nlohmann::json sw_j = nlohmann::json::object(), hw_j = nlohmann::json::object(),
                   scaled_j = nlohmann::json::object();
    // Software runners in config order (MASE's): basic_train trains, then scores its split;
    // basic_evaluation scores. Metrics merge, a later runner's value winning on a clash.
    for (const SoftwareRunner& sw : cfg.sw_runners) {
      if (sw.name == "basic_train") {
        train::TrainOptions t = train_options(run, &sw);
        t.progress = false;
        t.blas_pool = cfg.setup.n_jobs <= 1 && !o.worker;  // one training on the machine
        bool pruned = false;
        train::train(m, dm, t, [&](const train::EpochRecord& r) {
          if (r.val.n_samples == 0) return true;
          trial.report(r.epoch, software_metric(r.val, cfg.setup.pruning_metric));
          pruned = trial.should_prune();
          return !pruned;
        });
        if (pruned) throw search::TrialPruned();
      }
      auto metrics = train::evaluate(m, dm, split_of(sw.data_loader), sw.num_samples, cfg.eval_mode);
      const auto all = metrics.to_json(/*with_confusion=*/false);
      for (const auto& name : sw_metrics) sw_j[name] = all.at(name).get<double>();
    }
    for (const auto& [k, v] : hardware_metrics(g, cfg.hw_runners, &m)) hw_j[k] = v;
    std::vector<double> values;
    double sum = 0;
    for (const auto& spec : cfg.metrics) {
      double v = sw_j.contains(spec.name) ? sw_j[spec.name].get<double>() : hw_j.at(spec.name).get<double>();
      double scaled = spec.scale * v;
      scaled_j[spec.name] = scaled;
      values.push_back(scaled);
      sum += spec.direction == cfg.setup.direction ? scaled : -scaled;
    }
    std::vector<double> constraints;
    for (const auto& [name, limit] : cfg.constraints) {
      double v = sw_j.contains(name) ? sw_j[name].get<double>() : hw_j.at(name).get<double>();
      constraints.push_back(v - limit);
    }
    if (!constraints.empty()) trial.set_constraints(constraints);
    trial.set_user_attr("software_metrics", sw_j);
    trial.set_user_attr("hardware_metrics", hw_j);
    trial.set_user_attr("scaled_metrics", scaled_j);
    // The scale each quantized tensor ended with, so a result can be reproduced with "frac".
    auto scales = m->quantization_scales();
    if (!scales.empty()) trial.set_user_attr("quantization_scales", nlohmann::json::parse(scales.dump()));
    runtime::save_checkpoint(trial_ckpt(outcome.out_dir, trial.number()), m);
    if (cfg.setup.sum_scaled_metrics) return {sum};
    return values;
  };

  std::unique_ptr<ProgressBar> bar;
  std::mutex bar_mutex;
  int64_t n_total = cfg.setup.n_trials > 0 ? cfg.setup.n_trials : 0;
  if (o.progress) bar = std::make_unique<ProgressBar>("search", n_total, "it", 5);
  search::OptimizeOptions opt;
  opt.n_trials = cfg.setup.n_trials > 0 ? cfg.setup.n_trials : -1;
  opt.timeout_seconds = cfg.setup.timeout;
  opt.n_jobs = cfg.setup.n_jobs;
  opt.until_study_total = shared;
  int64_t n_done = shared ? study.n_complete() : 0;
  opt.callbacks.push_back([&](search::Study& s, const search::FrozenTrial&) {
    std::lock_guard<std::mutex> lock(bar_mutex);
    ++n_done;
    if (!bar) return;
    std::string best;
    if (!s.is_multi_objective()) {
      auto complete = s.trials(std::vector<search::TrialState>{search::TrialState::Complete});
      if (!complete.empty()) best = fmt::format("best {:.4f}, ", s.best_trial()->values[0]);
    }
    bar->update(n_done, fmt::format("{}{:.2f}/{} seconds", best, bar->elapsed_s(),
                                    cfg.setup.timeout > 0 ? fmt::format("{:g}", cfg.setup.timeout) : "inf"));
  });
  if (o.report_every > 0 && !o.worker)
    opt.callbacks.push_back([&](search::Study& s, const search::FrozenTrial&) {
      std::lock_guard<std::mutex> lock(bar_mutex);
      if (n_done % o.report_every == 0) write_outputs(s, outcome.out_dir, o, /*final=*/false);
    });
  g_running_study = &study;
  try {
    study.optimize(objective, opt);
  } catch (...) {
    g_running_study = nullptr;
    throw;
  }
  g_running_study = nullptr;
  if (!o.worker && study.heartbeats_on()) {
    // Trials left RUNNING by a dead process become FAIL once their heartbeat is stale; wait for
    // that (at most the grace period) so the stored study ends with no phantom RUNNING trial.
    auto running = [&] { return study.trials(std::vector<search::TrialState>{search::TrialState::Running}).size(); };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(12);
    while (running() > 0 && std::chrono::steady_clock::now() < deadline) {
      study.fail_stale_trials();
      if (running() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
  if (bar) {
    bar->update(n_done);
    bar->finish();
  }

  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  outcome.n_complete = study.n_complete();
  outcome.n_trials = n_total;
  if (auto* grid = dynamic_cast<search::GridSampler*>(&study.sampler())) outcome.grid_points = grid->grid_size();
  outcome.interrupted = g_stop_requested && (n_total == 0 || outcome.n_complete < n_total);
  if (o.worker) return outcome;
  write_outputs(study, outcome.out_dir, o, /*final=*/true, &outcome);
  return outcome;
}

void export_study(const std::string& storage_url, const std::string& study_name,
                  const std::string& out_dir) {
  auto storage = search::make_storage(storage_url);
  auto names = storage->get_all_study_names();
  CHOP_CHECK(std::find(names.begin(), names.end(), study_name) != names.end(), SearchError, "{}",
             unknown_name_message("study", study_name, names) + " (storage " + storage_url + ")");
  int64_t id = storage->get_study_id(study_name);
  search::StudyOptions so;
  so.name = study_name;
  so.storage = storage;
  so.directions = storage->get_study_directions(id);
  so.load_if_exists = true;
  so.sampler = search::make_sampler("random", 0);
  search::Study study(so);
  auto attrs = storage->get_study_user_attrs(id);
  Json resolved = attrs.count("resolved_config") ? Json::parse(attrs.at("resolved_config").dump())
                                                  : Json{{"study", study_name}};
  write_file_atomically(out_dir + "/resolved_config.json", resolved.dump(2) + "\n");
  const SearchRunOptions defaults;
  write_outputs(study, out_dir, defaults, /*final=*/false);
}

}  // namespace chop::flow
