// Graph <-> JSON, lossless: graph_from_json(graph_to_json(g)) == g.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "chop/ir/graph.h"

namespace chop::ir {

/// The graph as JSON: model, input_shape, and each node's name, op, inputs, attributes (the
/// op's keys only), metadata and pass facts.
nlohmann::json graph_to_json(const Graph& g);

/// Rebuilds a graph; throws GraphError naming the node and key on an unknown op, unknown
/// attribute key, missing field or wrong type. Shapes are re-inferred and checked.
Graph graph_from_json(const nlohmann::json& j);

/// Sets one attribute from a JSON value (used by TOML model declarations too); throws
/// GraphError listing op's valid keys when `key` is not one of them.
void set_attr(Attrs& attrs, OpKind op, const std::string& key, const nlohmann::json& value,
              const std::string& node_name);

}  // namespace chop::ir
