// The passes a search trial needs: transforms from `[passes]` tables and hardware metrics.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "chop/flow/search_config.h"
#include "chop/ir/graph.h"
#include "chop/passes/hardware_metrics.h"
#include "chop/runtime/module.h"

namespace chop::flow {

/// Runs the transform passes named by the keys of `tables` (MASE's `[passes.<name>]` format)
/// on a copy of g, in order. Throws ConfigError / GraphError for bad tables or impossible widths.
ir::Graph apply_transforms(const ir::Graph& g, const nlohmann::ordered_json& tables);

/// The metrics of the configured hardware runners on a transformed graph, in runner order (see
/// passes/hardware_metrics.def). `module` holds the weights, for measured metrics (latency).
passes::MetricValues measure_hardware(const std::vector<HardwareRunner>& runners, const ir::Graph& g,
                                      runtime::GraphModule* module);

}  // namespace chop::flow
