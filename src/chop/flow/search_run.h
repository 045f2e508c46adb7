// `chop search`: a study whose trials transform, train / evaluate and measure a model.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "chop/flow/search_config.h"
#include "chop/results/study_results.h"
#include "chop/support/run_config.h"

namespace chop::flow {

struct SearchRunOptions {
  RunConfig run;                          ///< resolved run settings (model, dataset, seed ...)
  SearchConfig search;                    ///< resolved [search]
  nlohmann::ordered_json toml = nlohmann::ordered_json::object();  ///< the whole config
  bool progress = true;
  /// Where trials are stored: "" = sqlite:///<search_ckpts>/study.db; "memory"; sqlite:///...;
  /// postgresql://... (several machines).
  std::string storage_url;
  std::string study_name;  ///< "" = the project name
  bool resume = false;     ///< continue the study of that name to n_trials COMPLETE trials
  /// A worker process started by --n-workers (or on another machine): runs trials of a shared
  /// study until it has n_trials COMPLETE trials; writes no final outputs.
  bool worker = false;
  /// Called every this many finished trials to refresh outputs during a long search (0: off).
  int64_t report_every = 0;
  /// Called whenever the outputs are (re)written, with what was written (the HTML report).
  std::function<void(const results::StudyResults& results, const std::string& out_dir)> on_outputs;
};

struct SearchOutcome {
  std::string out_dir;                              ///< .../software/search_ckpts
  results::StudyResults results;  ///< every trial, the best ones, objectives (not for a worker)
  std::string best_ckpt;           ///< checkpoint of the first best trial
  std::vector<std::string> exports;  ///< [search] export: best.onnx, best.qonnx.onnx
  int64_t n_complete = 0;    ///< COMPLETE trials in the study
  int64_t n_trials = 0;      ///< the study's target (0: none, a timeout only)
  /// The search space's number of configurations when the search stopped because every one was
  /// evaluated (a grid, or distinct proposals); -1 otherwise.
  int64_t space_size = -1;
  bool interrupted = false;  ///< request_search_stop() ended it before its target
};

/// Runs the whole search: data, base graph, space, study, trials, outputs (log.json, best.json,
/// trials.csv, resolved_config.json, best.ckpt). Throws ConfigError for bad configs; failing
/// trials are recorded FAIL and the search goes on.
SearchOutcome run_search(const SearchRunOptions& options);

/// Asks the running search (if any) to start no new trials: the first Ctrl-C. Safe to call
/// from a signal handler.
void request_search_stop();

}  // namespace chop::flow
