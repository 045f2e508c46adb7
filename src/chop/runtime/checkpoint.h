// Checkpoints: one file holding the graph (JSON) and every named tensor of its module.
#pragma once

#include <string>

#include "chop/runtime/module.h"

namespace chop::runtime {

/// Writes graph + parameters + buffers to path atomically (a temporary file renamed into
/// place), creating parent directories. Throws DataError when it cannot write.
void save_checkpoint(const std::string& path, GraphModule& module);

/// Reads a checkpoint into a new module on device. Throws DataError naming the file when it
/// is missing or not a chop checkpoint, when a tensor is missing, has the wrong shape or is
/// unexpected, and GraphError when the stored graph is invalid (unknown op, ...).
GraphModule load_checkpoint(const std::string& path, torch::Device device = torch::kCPU);

/// Only the graph stored in a checkpoint (no tensors are materialized).
ir::Graph load_checkpoint_graph(const std::string& path);

/// Copies tensors of `path` into an existing module whose graph has the same nodes and shapes.
void load_checkpoint_weights(const std::string& path, GraphModule& module);

}  // namespace chop::runtime
