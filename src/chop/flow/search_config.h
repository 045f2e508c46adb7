// The [search] table of a config (MASE's format plus chop's keys), read once into typed options.
#pragma once

#include <nlohmann/json.hpp>

#include <any>
#include <map>
#include <string>
#include <vector>

#include "chop/results/study_results.h"

namespace chop::flow {

/// [search.strategy.metrics.<name>]: objective term scale * metric.
using results::MetricSpec;

/// [search.strategy.setup]
struct SearchSetup {
  int64_t n_trials = 20;
  double timeout = 0;  ///< seconds; 0: none
  int n_jobs = 1;
  std::string sampler = "tpe";
  nlohmann::json sampler_options = nlohmann::json::object();
  std::string pruner = "none";
  nlohmann::json pruner_options = nlohmann::json::object();
  std::string pruning_metric = "accuracy";  ///< the metric reported per epoch to the pruner
  bool sum_scaled_metrics = false;          ///< false: one objective per metric
  std::string direction = "maximize";       ///< of the summed objective
  int64_t seed = -1;                        ///< -1: the run's --seed
  /// true (default, unlike MASE / Optuna): a repeated configuration reuses the stored result and,
  /// in a fully discrete space (every chop space), samplers propose only unseen configurations, so
  /// n_trials counts distinct evaluations and an exhausted space ends the search. false: Optuna's
  /// behaviour (repeats are trained again).
  bool dedup = true;
  bool keep_trial_ckpts = false;            ///< keep every trial's checkpoint, not only the best
};

/// [search.strategy.supernet] (with [search.strategy] name = "supernet"): a weight-sharing
/// width search. One network at every layer's largest width is trained once (sandwich rule);
/// each trial then scores a candidate from its shared weights (batch norms recalibrated)
/// instead of training it; the best `retrain` candidates and `fidelity_samples` others are
/// trained stand-alone by basic_train, which measures the fidelity of the scores.
struct SupernetSetup {
  int64_t max_epochs = 4;          ///< supernet training epochs
  double learning_rate = 0;        ///< 0: basic_train's (or the run's) learning rate
  int64_t random_subnets = 2;      ///< random subnets per step beside the largest and smallest
  int64_t batch_size = 0;          ///< supernet training batches; 0: the run's batch_size
  bool distill = true;             ///< subnets learn the largest's outputs (false: the labels)
  int64_t calibration_batches = 32; ///< training batches that recalibrate a candidate's batch norms
  int64_t retrain = 3;             ///< best candidates trained stand-alone
  int64_t fidelity_samples = 8;    ///< further candidates, drawn at random, trained stand-alone
  /// The software metric of a candidate's supernet evaluation that ranks the candidates for
  /// retraining and the fidelity check. Default the validation loss: a continuous score that
  /// ranks stand-alone accuracy better than the supernet's own accuracy does (JSC-S widths:
  /// Kendall's tau 0.54 against 0.49), whose steps (single validation rows) are as coarse as
  /// the gaps between candidates.
  std::string score = "loss";
};

/// [search.strategy.sw_runner.<name>]
struct SoftwareRunner {
  std::string name = "basic_evaluation";  ///< basic_evaluation | basic_train
  std::string data_loader = "val_dataloader";
  int64_t num_samples = 0;  ///< 0: the whole split
  int64_t max_epochs = 1;   ///< basic_train
  int64_t max_steps = -1;
  double learning_rate = 0;  ///< 0: the run's learning_rate
  std::string optimizer;     ///< empty: the run's training_optimizer
};

/// [search.strategy.hw_runner.<name>]: a metric of passes/hardware_metrics.def and its options.
struct HardwareRunner {
  std::string name;
  nlohmann::json options = nlohmann::json::object();  ///< the table as written
  std::any settings;  ///< the options read by the metric's options type (e.g. compare_to)
};

struct SearchConfig {
  std::string space_name;  ///< graph/quantize/mixed_precision_ptq, ...
  nlohmann::ordered_json space_setup = nlohmann::ordered_json::object();
  nlohmann::ordered_json space_seed = nlohmann::ordered_json::object();
  std::string strategy = "optuna";  ///< optuna | supernet
  SupernetSetup supernet;            ///< strategy = "supernet"
  bool eval_mode = true;  ///< MASE's key: false evaluates in training mode (batch statistics, dropout)
  /// Run in file order, as MASE does (basic_train, then basic_evaluation, ...); each one's
  /// metrics are merged into the trial's, a later runner's value winning on a clash.
  std::vector<SoftwareRunner> sw_runners;
  std::vector<HardwareRunner> hw_runners;
  SearchSetup setup;
  std::vector<MetricSpec> metrics;  ///< sorted by name (as MASE)
  std::map<std::string, double> constraints;  ///< [search.strategy.constraints] max_<metric> = limit
  /// [search] export = ["onnx", "qonnx"]: the best model also written as best.onnx / best.qonnx.onnx
  std::vector<std::string> export_formats;

  nlohmann::ordered_json to_json() const;
  /// What each value of a trial means, as the search decides it: one objective per metric, or
  /// their sum ("sum_scaled_metrics", setup.direction) when sum_scaled_metrics is set.
  std::vector<results::Objective> objectives() const;
};

/// Reads `[search]`; throws ConfigError naming the table and key for unknown keys, wrong types,
/// unknown runners, samplers or pruners, metrics no runner produces, and bad values.
SearchConfig read_search_config(const nlohmann::ordered_json& search);

}  // namespace chop::flow
