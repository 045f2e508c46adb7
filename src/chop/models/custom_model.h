// Models declared in TOML: [model] name = "custom" with a list of layers.
#pragma once

#include <nlohmann/json.hpp>

#include "chop/ir/graph.h"

namespace chop::models {

/// Builds a graph from a `[model]` table (already read from TOML), for example
///
///   [model]
///   name = "custom"
///   input_shape = [16]
///   prefix = "seq_blocks"          # layer names seq_blocks_0, seq_blocks_1, ...
///   [[model.layers]]
///   op = "batch_norm1d"
///   num_features = 16
///   [[model.layers]]
///   op = "linear"
///   in_features = 16
///   out_features = 5
///
/// Layers run in sequence; a layer may set `name`, and `inputs = ["a", "b"]` for add.
/// Throws ConfigError / GraphError naming the layer and key at fault.
ir::Graph build_custom_model(const nlohmann::ordered_json& model_table);

}  // namespace chop::models
