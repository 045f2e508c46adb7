// Passes that run the module: profile_statistics and latency (the torch part of chop_passes).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "chop/passes/pass.h"

namespace chop::passes {

/// `[passes.profile_statistics]`. Batches come from ctx.data's `split`, or are N(0, 1) noise of
/// the graph's input shape (seeded by ctx.seed) when there is no data module.
struct ProfileStatisticsOptions {
  int64_t num_batches = 4;
  int64_t batch_size = 32;       ///< noise batches only; data batches use the data module's
  std::string split = "train";   ///< train, val, test
  double percentile_low = 1;     ///< in percent
  double percentile_high = 99;

  static ProfileStatisticsOptions read(OptionReader& r);
};

/// `[passes.latency]`: warm-up runs, then n_batches timed forward passes in eval mode.
struct LatencyOptions {
  int64_t warmup = 3;
  int64_t n_batches = 20;
  int64_t batch_size = 1;

  static LatencyOptions read(OptionReader& r);
};

/// Latency of a model in milliseconds (per batch of batch_size).
struct LatencyResult {
  double median_ms = 0, p90_ms = 0, mean_ms = 0;
  std::vector<std::string> node_names;
  std::vector<double> node_median_ms;  ///< per node, graph order
};

/// Measures the module of g (module_for) on noise batches: options.warmup untimed runs, then
/// options.n_batches timed ones; median and p90 (nearest rank) of the batch times, and the
/// median time of each node.
LatencyResult measure_latency(const ir::Graph& g, PassContext& ctx, const LatencyOptions& options);

/// The module that runs g: ctx.module when its graph equals g, otherwise one rebuilt from g
/// (runtime::rebuild_module from ctx.module, honouring ctx.inherit_resized_weights, or built
/// from ctx.seed when there is none), stored back into ctx.module.
std::shared_ptr<runtime::GraphModuleImpl> module_for(const ir::Graph& g, PassContext& ctx);

CHOP_DECLARE_PASS(ProfileStatisticsPass, ProfileStatisticsOptions);
CHOP_DECLARE_PASS(LatencyPass, LatencyOptions);

}  // namespace chop::passes
