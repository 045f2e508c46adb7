// What an importer reads from a model file, before it is a graph: the nodes in order, the
// output, the tensors. One place turns it into chop's graph and module, for every format.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "chop/ir/graph.h"
#include "chop/runtime/module.h"

namespace chop::interchange {

struct ImportedGraph {
  struct Node {
    std::string name;
    ir::OpKind op;
    std::vector<std::string> inputs;  ///< "x" for the model's input
    ir::Attrs attrs;
  };
  std::vector<Node> nodes;  ///< in topological order
  std::string output;       ///< the node the model returns
  std::map<std::string, torch::Tensor> tensors;  ///< "<node>.<parameter or buffer>" -> value

  /// The graph: input "x" of input_shape, the nodes, "output"; shapes inferred and linted.
  ir::Graph graph(const std::string& model_name, const ir::Shape& input_shape) const;
  /// The graph's module with the tensors copied in (DataError naming `path` for a shape that
  /// does not fit); tensors the graph has no place for are a bug.
  runtime::GraphModule module(const ir::Graph& g, const std::string& path, torch::Device device) const;
};

}  // namespace chop::interchange
