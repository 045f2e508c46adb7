// A user's PyTorch model in: a TorchScript archive (torch.jit.trace or torch.jit.script) read
// with LibTorch's interpreter and turned into chop's graph, with its weights.
#pragma once

#include <string>

#include "chop/ir/graph.h"
#include "chop/runtime/module.h"

namespace chop::interchange {

struct ImportOptions {
  /// Per-sample input shape ([16], [1, 28, 28]); empty: inferred from the first layer when it
  /// fixes it (a Linear or BatchNorm1d), else a ConfigError asking for --input-shape.
  ir::Shape input_shape;
  /// Used when neither input_shape nor the file fixes the shape (a conv-first model): the data
  /// set's, so a file that does fix it is checked against the data set instead of reshaped.
  ir::Shape default_input_shape;
  std::string model_name;  ///< the graph's model name; empty: the file's stem
};

/// Reads the archive at `path` in eval mode: every aten op chop's IR has (linear, conv2d,
/// batch_norm, relu, max/avg/adaptive-avg pooling, flatten, dropout, add), from nested modules
/// and nn.Sequential alike, named as torch.fx names them (`seq_blocks.2` -> `seq_blocks_2`;
/// functional calls by their function: `add`, `add_1`), with the module's weights and batch-norm
/// statistics. Throws DataError for a missing or non-TorchScript file, GraphError naming the op,
/// the node and the source line for what chop cannot represent (an unknown op, transposed or
/// grouped or dilated convolutions, several outputs, data-dependent control flow).
runtime::GraphModule import_torchscript(const std::string& path, const ImportOptions& options,
                                        torch::Device device = torch::kCPU);

}  // namespace chop::interchange
