// `chop search`: a study whose trials transform, train / evaluate and measure a model.
//
// run_search (at the end) is three steps, each a function below:
//   setup()         the TrialRunner (data, base graph, space), the study, the stored-search check
//   optimize()      trials until the target, a timeout or Ctrl-C, with the progress bar
//   write_outputs() the typed results to log.json, best.json, trials.csv, study.json,
//                   resolved_config.json; best.ckpt and [search] export at the end
// One trial is TrialRunner::run (trial_runner.cpp).
#include "chop/flow/search_run.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "chop/flow/supernet.h"
#include "chop/flow/trial_runner.h"
#include "chop/interchange/onnx_export.h"
#include "chop/runtime/checkpoint.h"
#include "chop/search/storage/storage_url.h"
#include "chop/search/study.h"
#include "chop/support/error.h"
#include "chop/support/files.h"
#include "chop/support/progress.h"
#include "chop/results/metric_info.h"
#include "chop/support/strings.h"

namespace chop::flow {
namespace {

namespace fs = std::filesystem;

std::atomic<search::Study*> g_running_study{nullptr};
std::atomic<bool> g_stop_requested{false};

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

/// What setup() builds before any trial.
struct Search {
  std::string out_dir;      ///< .../software/search_ckpts
  std::string storage_url;
  bool shared = false;      ///< --resume or a worker: continue the stored study to its total
  std::unique_ptr<TrialRunner> runner;
  std::unique_ptr<search::Study> study;
  nlohmann::ordered_json resolved;
  /// Strategy "supernet": what the supernet and its stand-alone retraining measured
  /// (supernet.json), and the retrained best's checkpoint, which becomes best.ckpt.
  nlohmann::ordered_json supernet;
  std::string retrained_best_ckpt;
};

/// The study's results as they are now, with what the search decided its values mean.
results::StudyResults current_results(Search& s) {
  results::StudyResults r = results::from_study(*s.study, s.out_dir);
  r.resolved_config = s.resolved;  // in file order (the stored attribute's keys are sorted)
  if (!s.supernet.is_null()) r.supernet = s.supernet;
  return r;
}

/// Writes log.json, best.json, trials.csv, study.json and resolved_config.json (and calls
/// on_outputs); at the end also best.ckpt, dropping the other trials' checkpoints unless kept.
results::StudyResults write_outputs(Search& s, const SearchRunOptions& o, bool final, SearchOutcome* outcome = nullptr) {
  results::StudyResults r = current_results(s);
  results::write_results_dir(r, s.out_dir);
  if (final && outcome) {
    if (auto best = r.best(); !best.empty()) {
      // best.ckpt names its trial in the study ("chop:best_ckpt"), so a resumed search whose
      // best trial came earlier (its trial checkpoint since dropped) still reports it.
      const int64_t source = best.front()->dedup_of.value_or(best.front()->number);
      // A supernet's best model is its best candidate trained stand-alone, not its slice.
      const std::string from = s.retrained_best_ckpt.empty() ? s.runner->checkpoint(source) : s.retrained_best_ckpt,
                        to = s.out_dir + "/best.ckpt";
      auto& storage = s.study->storage();
      auto attrs = storage.get_study_user_attrs(s.study->study_id());
      auto it = attrs.find("chop:best_ckpt");
      if (fs::exists(from)) {
        fs::copy_file(from, to, fs::copy_options::overwrite_existing);
        storage.set_study_user_attr(s.study->study_id(), "chop:best_ckpt", source);
        outcome->best_ckpt = to;
      } else if (fs::exists(to) && it != attrs.end() && it->second == source) {
        outcome->best_ckpt = to;
      }
      // [search] export: the best model for hardware flows, beside best.ckpt.
      for (const auto& format : o.search.export_formats) {
        if (outcome->best_ckpt.empty()) break;
        auto best_module = runtime::load_checkpoint(outcome->best_ckpt);
        interchange::ExportOptions eo;
        eo.format = interchange::parse_export_format(format);
        std::string path = s.out_dir + (format == "onnx" ? "/best.onnx" : "/best." + format + ".onnx");
        interchange::export_onnx(best_module, eo, path);
        outcome->exports.push_back(path);
      }
    }
    if (!o.search.setup.keep_trial_ckpts) fs::remove_all(s.out_dir + "/trials");
  }
  if (o.on_outputs) o.on_outputs(r, s.out_dir);
  return r;
}

/// Everything before the first trial: the trial runner (data, base graph, space: every choice
/// checked), the study (sampler, pruner, storage, heartbeats), and a check that a stored study
/// searches the same. Nothing is written before these checks.
Search setup(const SearchRunOptions& o) {
  const RunConfig& run = o.run;
  const SearchConfig& cfg = o.search;
  runtime::set_threads(run.num_threads);
  Search s;
  s.out_dir = run.software_dir() + "/search_ckpts";
  remove_stale_temporaries(s.out_dir);  // a killed run's half-written files (--resume, or a rerun)
  s.shared = o.resume || o.worker;
  CHOP_CHECK(!(s.shared && cfg.strategy == "supernet"), ConfigError,
             "[search.strategy] name = \"supernet\" trains its supernet in one process: it cannot --resume a "
             "study or run as a worker (--n-workers)");
  s.runner = std::make_unique<TrialRunner>(run, cfg, o.toml, s.out_dir + "/trials",
                                           /*shared_machine=*/cfg.setup.n_jobs > 1 || o.worker);
  s.resolved = to_json(run, o.toml);
  s.resolved["search"] = cfg.to_json();

  search::StudyOptions so;
  so.name = o.study_name.empty() ? run.project : o.study_name;
  so.directions.clear();
  for (const auto& objective : cfg.objectives())
    so.directions.push_back(objective.maximize ? search::StudyDirection::Maximize : search::StudyDirection::Minimize);
  so.sampler = search::make_sampler(cfg.setup.sampler, s.runner->seed(), cfg.setup.sampler_options);
  so.search_space = s.runner->space().distributions();
  so.pruner = search::make_pruner(cfg.setup.pruner, cfg.setup.pruner_options);
  so.dedup = cfg.setup.dedup;
  s.storage_url = o.storage_url.empty() ? "sqlite:///" + s.out_dir + "/study.db" : o.storage_url;
  so.storage = search::make_storage(s.storage_url);
  so.load_if_exists = s.shared;
  if (s.storage_url != "memory") so.with_heartbeat(2, 10);  // a dead worker's trial: FAIL after 10 s
  const auto sw_metrics = results::metric_names(/*hardware=*/false);
  CHOP_CHECK(std::find(sw_metrics.begin(), sw_metrics.end(), cfg.setup.pruning_metric) != sw_metrics.end(),
             ConfigError, "[search.strategy.setup] pruning_metric must be a software metric ({}), but got '{}'",
             join(sw_metrics), cfg.setup.pruning_metric);
  so.pruning_direction = results::find_metric(cfg.setup.pruning_metric)->higher_is_better
                             ? search::StudyDirection::Maximize
                             : search::StudyDirection::Minimize;
  try {
    s.study = std::make_unique<search::Study>(so);
  } catch (const SearchError& e) {
    throw SearchError(fmt::format("{} (storage {}): pass --resume to continue it, or choose "
                                  "another --project / --study-name", e.what(), s.storage_url));
  }
  check_same_search(*s.study, s.runner->space(), cfg, s.storage_url);

  results::StudyResults meaning;
  meaning.objectives = cfg.objectives();
  meaning.metrics = cfg.metrics;
  meaning.pruning_metric = cfg.setup.pruning_metric;
  auto& storage = s.study->storage();
  storage.set_study_user_attr(s.study->study_id(), "chop:results", nlohmann::json::parse(results::meaning_json(meaning).dump()));
  storage.set_study_user_attr(s.study->study_id(), "resolved_config", nlohmann::json::parse(s.resolved.dump()));
  if (o.worker)
    write_file_atomically(s.out_dir + "/resolved_config.json", s.resolved.dump(2) + "\n");
  else
    results::write_results_dir(current_results(s), s.out_dir);
  return s;
}

/// Runs trials until the study's target, a timeout or a stop request, showing progress; then
/// waits (at most the heartbeat grace) for trials a dead process left RUNNING to become FAIL.
void optimize(Search& s, const SearchRunOptions& o) {
  const SearchConfig& cfg = o.search;
  search::Study& study = *s.study;
  std::unique_ptr<ProgressBar> bar;
  std::mutex bar_mutex;
  int64_t n_total = cfg.setup.n_trials > 0 ? cfg.setup.n_trials : 0;
  // Distinct proposals end with the space: the bar counts to its size when that is smaller.
  if (study.distinct_proposals() && n_total > study.space_size()) n_total = study.space_size();
  if (o.progress) bar = std::make_unique<ProgressBar>("search", n_total, "it", 5);
  search::OptimizeOptions opt;
  opt.n_trials = cfg.setup.n_trials > 0 ? cfg.setup.n_trials : -1;
  opt.timeout_seconds = cfg.setup.timeout;
  opt.n_jobs = cfg.setup.n_jobs;
  opt.until_study_total = s.shared;
  int64_t n_done = s.shared ? study.n_complete() : 0;
  opt.callbacks.push_back([&](search::Study& st, const search::FrozenTrial&) {
    std::lock_guard<std::mutex> lock(bar_mutex);
    ++n_done;
    if (!bar) return;
    std::string best;
    if (!st.is_multi_objective()) {
      auto complete = st.trials(std::vector<search::TrialState>{search::TrialState::Complete});
      if (!complete.empty()) best = fmt::format("best {:.4f}, ", st.best_trial()->values[0]);
    }
    bar->update(n_done, fmt::format("{}{:.2f}/{} seconds", best, bar->elapsed_s(),
                                    cfg.setup.timeout > 0 ? fmt::format("{:g}", cfg.setup.timeout) : "inf"));
  });
  if (o.report_every > 0 && !o.worker)
    opt.callbacks.push_back([&](search::Study&, const search::FrozenTrial&) {
      std::lock_guard<std::mutex> lock(bar_mutex);
      if (n_done % o.report_every == 0) write_outputs(s, o, /*final=*/false);
    });
  g_running_study = &study;
  try {
    study.optimize([&](search::Trial& trial) { return s.runner->run(trial); }, opt);
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
}

}  // namespace

void request_search_stop() {
  g_stop_requested = true;
  if (search::Study* s = g_running_study.load()) s->stop();
}

/// Strategy "supernet", before the trials: trains the supernet (false: stopped by Ctrl-C).
bool train_supernet(Search& s, const SearchRunOptions& o) {
  const double seconds = s.runner->train_supernet(s.out_dir + "/supernet/supernet.ckpt", o.progress,
                                                  [] { return g_stop_requested.load(); });
  s.supernet = {{"supernet", {{"ckpt", s.out_dir + "/supernet/supernet.ckpt"},
                              {"train_seconds", seconds},
                              {"max_epochs", o.search.supernet.max_epochs}}}};
  return !g_stop_requested;
}

/// Strategy "supernet", stopped by Ctrl-C: the candidates scored up front that no trial has
/// recorded yet become COMPLETE trials, so that the results hold every score computed.
void keep_scored_candidates(Search& s) {
  std::set<search::Params> recorded;
  for (const auto& t : s.study->trials()) recorded.insert(t->params);
  for (const auto& t : s.runner->scored_trials())
    if (recorded.count(t.params) == 0) s.study->storage().create_trial_from(s.study->study_id(), t);
}

/// Strategy "supernet", after the trials: the best candidates and a sample retrained stand-alone.
void retrain_best(Search& s, const SearchRunOptions& o, double scoring_seconds) {
  nlohmann::ordered_json doc = retrain_candidates(*s.runner, *s.study, o.search, s.out_dir + "/supernet", o.progress,
                                                  [] { return g_stop_requested.load(); });
  doc["supernet"] = s.supernet["supernet"];
  doc["supernet"]["candidates_scored"] = s.study->n_complete();
  doc["supernet"]["scoring_seconds"] = scoring_seconds;
  s.supernet = doc;
  if (doc.contains("best") && doc["best"]["ckpt"].is_string()) s.retrained_best_ckpt = doc["best"]["ckpt"];
  s.study->storage().set_study_user_attr(s.study->study_id(), "chop:supernet", nlohmann::json::parse(doc.dump()));
}

SearchOutcome run_search(const SearchRunOptions& o) {
  Search s = setup(o);
  const bool supernet = o.search.strategy == "supernet";
  const bool trained = !supernet || train_supernet(s, o);
  auto start = std::chrono::steady_clock::now();
  // A study that will score the whole space (n_trials reach its size, no timeout): every
  // candidate scored up front, on every core.
  const int64_t n_trials = o.search.setup.n_trials;
  if (supernet && trained && s.study->distinct_proposals() && s.study->space_size() > 0 && n_trials > 0 &&
      n_trials >= s.study->space_size() && o.search.setup.timeout <= 0)
    s.runner->score_every_candidate(o.progress, [] { return g_stop_requested.load(); });
  if (trained && !g_stop_requested) optimize(s, o);
  if (g_stop_requested) keep_scored_candidates(s);
  if (supernet && trained && !g_stop_requested && s.study->n_complete() > 0)
    retrain_best(s, o, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  SearchOutcome outcome;
  outcome.out_dir = s.out_dir;
  outcome.n_complete = s.study->n_complete();
  outcome.n_trials = o.search.setup.n_trials > 0 ? o.search.setup.n_trials : 0;
  if (s.study->exhausted()) outcome.space_size = s.study->space_size();
  outcome.interrupted = g_stop_requested && (outcome.n_trials == 0 || outcome.n_complete < outcome.n_trials);
  if (!o.worker) outcome.results = write_outputs(s, o, /*final=*/true, &outcome);
  return outcome;
}

}  // namespace chop::flow
