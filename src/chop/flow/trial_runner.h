// One search trial: sample a config, transform the base graph, build the module, run the
// software runners in config order, then the hardware metrics, and score the objectives.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chop/data/data_module.h"
#include "chop/flow/search_config.h"
#include "chop/flow/search_space.h"
#include "chop/ir/graph.h"
#include "chop/runtime/module.h"
#include "chop/search/trial.h"
#include "chop/support/run_config.h"

namespace chop::flow {

/// Built once per search, before any trial, from the resolved run and search configs: the data,
/// the base graph (from the checkpoint when one is loaded), the space (every choice checked).
/// Options of runners and metrics were checked when the SearchConfig was read.
class TrialRunner {
 public:
  /// `trials_dir`: where each trial's checkpoint goes (trial_<N>.ckpt). `shared_machine`: other
  /// trainings run beside this one (n_jobs > 1 or a worker), so no BLAS thread pool.
  TrialRunner(const RunConfig& run, const SearchConfig& search, const nlohmann::ordered_json& toml,
              std::string trials_dir, bool shared_machine);

  const ir::Graph& base() const { return base_; }
  const SearchSpace& space() const { return *space_; }
  uint64_t seed() const { return seed_; }

  /// Runs trial `trial` and returns its objective values (one per SearchConfig::objectives()).
  /// Records config, software / hardware / scaled metrics, constraints and quantization scales
  /// as user attributes and saves the trial's checkpoint. Throws search::TrialPruned when the
  /// pruner stops it; ConfigError / GraphError for an impossible sampled config.
  std::vector<double> run(search::Trial& trial);

  /// The checkpoint trial `number` saved.
  std::string checkpoint(int64_t number) const;

  /// What one configuration measured: software, hardware and scaled metrics (by name), the
  /// objective values, constraint values (empty: none) and quantization scales.
  struct Evaluation {
    nlohmann::json software = nlohmann::json::object(), hardware = nlohmann::json::object(),
                   scaled = nlohmann::json::object(), scales = nlohmann::json::object();
    std::vector<double> values, constraints;
    /// The user attributes a trial records it under (software_metrics, hardware_metrics,
    /// scaled_metrics, quantization_scales when any).
    std::map<std::string, nlohmann::json> attributes() const;
  };

  /// Strategy "supernet": trains the supernet at every layer's largest width (sandwich rule,
  /// [search.strategy.supernet]); run() then scores each trial's candidate from its weights
  /// (batch norms recalibrated on training batches, quantizers calibrated) without training.
  /// `stop` is polled every step; `progress` shows a bar. Saves the supernet as `ckpt`. Returns
  /// the training seconds.
  double train_supernet(const std::string& ckpt, bool progress, const std::function<bool()>& stop);
  bool has_supernet() const { return supernet_.has_value(); }
  /// After train_supernet, for a study that will score every configuration of the space (its
  /// n_trials reach the space's size, no timeout): scores them all now, on parallel_jobs() threads (the
  /// supernet is read-only; each candidate's score depends on nothing else, so the results are
  /// those of one thread), and run() looks each trial's up. `stop` is polled between candidates.
  /// Returns the number scored.
  int64_t score_every_candidate(bool progress, const std::function<bool()>& stop);
  /// The candidates score_every_candidate scored, as COMPLETE trials (params, values, constraints,
  /// config and the attributes run() records): what a search stopped while scoring keeps.
  std::vector<search::FrozenTrial> scored_trials() const;

  /// Independent trainings or evaluations this process may run at once: one per core (divided
  /// by LibTorch's intra-op threads), 1 on a shared machine (n_jobs > 1 or a worker).
  int parallel_jobs() const;

  /// A configuration (every parameter's value) trained stand-alone as a trial of the optuna
  /// strategy would be (basic_train, evaluation, hardware metrics); its checkpoint saved as
  /// `ckpt` unless empty. `concurrent`: other trainings run beside it (no BLAS thread pool).
  Evaluation train_standalone(const std::map<std::string, search::ParamValue>& params, const std::string& ckpt,
                              bool concurrent = false);
  /// Whether the stand-alone training of g gives the same result beside other trainings: not
  /// with dropout, whose masks come from LibTorch's one global generator.
  static bool trains_deterministically_in_parallel(const ir::Graph& g);

 private:
  /// The module a configuration starts from: the loaded model's weights, or `seed_`'s.
  runtime::GraphModule fresh_module(const ir::Graph& g);
  /// Trains (when `train`) and scores m, the module of g; `trial` (optional) gets the epochs'
  /// values for its pruner (TrialPruned when it says stop).
  Evaluation evaluate(const ir::Graph& g, runtime::GraphModule& m, bool train, search::Trial* trial,
                      bool concurrent = false);
  /// A supernet candidate's evaluation: the supernet's leading slices, its batch norms
  /// recalibrated at its own widths, then evaluate() without training.
  Evaluation score_candidate(const ir::Graph& g);
  /// The graph at the widths of a configuration's width parameters (no quantization).
  ir::Graph width_graph(const std::map<std::string, search::ParamValue>& params) const;

  /// A quantized trial of the loaded model's shapes is calibrated from one shared observation of
  /// the loaded model's inputs (float, on training batches).
  void calibrate_from_loaded(runtime::GraphModule& m, const ir::Graph& g);

  const RunConfig& run_;
  const SearchConfig& cfg_;
  std::string trials_dir_;
  bool shared_machine_;
  uint64_t seed_;
  torch::Device device_;
  data::DataModule data_;
  std::optional<runtime::GraphModule> loaded_;  ///< every trial starts from its weights
  ir::Graph base_;
  std::unique_ptr<SearchSpace> space_;
  std::mutex calibration_mutex_;
  std::map<int64_t, runtime::InputObservations> loaded_observations_;  ///< by batches observed
  std::optional<runtime::GraphModule> supernet_;      ///< strategy "supernet", once trained
  std::vector<torch::Tensor> recalibration_batches_;  ///< batch-norm recalibration of candidates
  struct Scored {
    search::Params params;  ///< the configuration, as the study stores it
    nlohmann::json config;  ///< its transform tables
    Evaluation evaluation;
  };
  std::map<std::string, Scored> scored_;              ///< score_every_candidate's, by tables JSON
};

}  // namespace chop::flow
