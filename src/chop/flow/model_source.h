// Where a run's model comes from: a checkpoint, a [model] table in the config, or the zoo.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "chop/data/data_options.h"
#include "chop/ir/graph.h"
#include "chop/runtime/module.h"
#include "chop/support/run_config.h"

namespace chop::flow {

/// The data options of a resolved run (data set, paths, batch size, seed, splits).
data::DataOptions data_options(const RunConfig& c);

/// The graph for a run: the user's model file (`model_file`, TorchScript) when given, a custom
/// `[model]` table when the config has one, else the zoo model `model` shaped for the data set
/// (input shape, classes). Throws ConfigError / GraphError / DataError.
ir::Graph run_graph(const RunConfig& run, const data::DatasetInfo& dataset,
                    const nlohmann::ordered_json& config_toml);

/// The module for a run: loaded from `load` when given (its graph must fit the data set and be
/// of the model named, when one is); else the model file with its weights (`reinit`: fresh ones
/// from seed); else run_graph() initialized from seed. On device.
runtime::GraphModule run_module(const RunConfig& run, const data::DatasetInfo& dataset,
                                const nlohmann::ordered_json& config_toml, uint64_t seed,
                                torch::Device device);

}  // namespace chop::flow
