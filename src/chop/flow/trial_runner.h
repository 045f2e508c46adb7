// One search trial: sample a config, transform the base graph, build the module, run the
// software runners in config order, then the hardware metrics, and score the objectives.
#pragma once

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

 private:
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
};

}  // namespace chop::flow
