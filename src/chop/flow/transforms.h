// The passes a search trial needs: transforms from `[passes]` tables and hardware metrics.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "chop/flow/search_config.h"
#include "chop/ir/graph.h"
#include "chop/passes/analysis.h"
#include "chop/passes/measure.h"
#include "chop/runtime/module.h"

namespace chop::flow {

/// Runs the transform passes named by the keys of `tables` (MASE's `[passes.<name>]` format)
/// on a copy of g, in order. Throws ConfigError / GraphError for bad tables or impossible widths.
ir::Graph apply_transforms(const ir::Graph& g, const nlohmann::ordered_json& tables);

/// The options of one hardware runner, read and checked (ConfigError naming the table for an
/// unknown or bad key): the search config reads them before any trial.
struct HardwareOptions {
  passes::MemoryDensityOptions density;  ///< average_bitwidth, memory_density
  passes::LatencyOptions latency;        ///< latency
};
HardwareOptions read_hardware_options(const HardwareRunner& runner);

/// Hardware metrics of a transformed graph for the configured runners (average_bitwidth also
/// gives memory_density). `module` is used by latency only.
std::map<std::string, double> hardware_metrics(const ir::Graph& g,
                                               const std::vector<HardwareRunner>& runners,
                                               runtime::GraphModule* module);

}  // namespace chop::flow
