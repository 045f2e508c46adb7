// The graph IR: nodes in topological order, shape inference, lint, printing.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "chop/ir/node.h"

namespace chop::ir {

class Graph {
 public:
  Graph() = default;
  /// An empty graph for model `model_name` whose input has `input_shape` (no batch dimension).
  Graph(std::string model_name, Shape input_shape);

  const std::string& model_name() const { return model_name_; }
  const Shape& input_shape() const { return input_shape_; }
  void set_input_shape(Shape s) { input_shape_ = std::move(s); }

  /// Appends a node whose inputs already exist; keeps users up to date. Throws GraphError on a
  /// duplicate name, an unknown input or a wrong number of inputs.
  Node& add(std::string name, OpKind op, std::vector<std::string> inputs, Attrs attrs = {});

  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<Node>& nodes() { return nodes_; }
  size_t size() const { return nodes_.size(); }

  /// The node called name, or nullptr.
  const Node* find(const std::string& name) const;
  Node* find(const std::string& name);
  /// The node called name; throws GraphError naming the known nodes when there is none.
  const Node& node(const std::string& name) const;
  Node& node(const std::string& name);
  /// Index of the node in topological order.
  size_t index_of(const std::string& name) const;
  std::vector<std::string> node_names() const;

  /// Fills meta.in_shapes / meta.out_shape of every node from input_shape(), without torch.
  /// Throws GraphError naming the node whose attributes disagree with what reaches it.
  void infer_shapes();

  /// Checks topological order, unique names, arity, users, one input and one output, and
  /// that stored shapes agree between producer and consumer and with the attributes.
  /// Throws GraphError describing the first problem.
  void lint() const;

  /// Deterministic text form: one line per node with op, inputs, attributes and shapes.
  std::string to_text() const;

  /// Number of trainable parameters (weights, biases, batch-norm affine).
  int64_t count_params() const;

  /// Recomputes the name index and every node's users from the inputs, after a pass edited
  /// nodes() directly (renamed, removed or rewired nodes).
  void reindex();

  bool operator==(const Graph& o) const;
  bool operator!=(const Graph& o) const { return !(*this == o); }

 private:

  std::string model_name_;
  Shape input_shape_;
  std::vector<Node> nodes_;
  std::unordered_map<std::string, size_t> index_;
};

/// Output shape of one node given its input shapes (graph_input is what an Input node yields);
/// throws GraphError when they don't fit the node's attributes.
Shape infer_node_shape(const Node& node, const std::vector<Shape>& in_shapes,
                       const Shape& graph_input = {});

/// Number of trainable parameters of one node.
int64_t node_param_count(const Node& node);

/// Whether node n's output can never be negative: a ReLU, or a pool, flatten or dropout of such
/// a value (so a quantizer of it may use the unsigned range).
bool output_nonnegative(const Graph& g, const Node& n);

/// The node as PyTorch prints its module: "Linear(in_features=16, out_features=5, bias=True)".
std::string torch_repr(const Node& node);

/// "[16]", "[3, 32, 32]".
std::string shape_str(const Shape& s);

}  // namespace chop::ir
