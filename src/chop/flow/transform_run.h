// `chop transform`: the [passes.<name>] tables of a config run on a run's model, result saved.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "chop/passes/pass_manager.h"
#include "chop/support/run_config.h"

namespace chop::flow {

struct TransformOutcome {
  std::string out_dir;     ///< <project>/software/transform (resolved_config.json)
  std::string checkpoint;  ///< the transformed model: out_dir/transformed_ckpt
};

/// Checks every [passes] table, loads the run's model (from --load, [model] or the zoo; data
/// only when a pass measures it), runs the passes in file order calling `on_pass` after each,
/// and saves the transformed module. ConfigError for a config without [passes] or a bad table,
/// before anything is loaded.
TransformOutcome run_transform(const RunConfig& run, const nlohmann::ordered_json& toml,
                               const std::function<void(size_t index, const passes::PassRecord&)>& on_pass);

}  // namespace chop::flow
