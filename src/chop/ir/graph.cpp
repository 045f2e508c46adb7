// The graph IR: nodes in topological order, shape inference, lint, printing.
#include "chop/ir/graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::ir {
namespace {

int64_t product(const Shape& s, size_t from = 0, size_t to = SIZE_MAX) {
  int64_t p = 1;
  for (size_t i = from; i < s.size() && i < to; ++i) p *= s[i];
  return p;
}

// Output size of a window of `kernel`; 0 or less when the window does not fit.
int64_t pooled(int64_t size, int64_t kernel, int64_t stride, int64_t padding) {
  int64_t room = size + 2 * padding - kernel;
  return room < 0 ? 0 : room / stride + 1;
}

const char* py_bool(bool b) { return b ? "True" : "False"; }

std::string attr_value(const Attrs& a, const std::string& key) {
  if (key == "in_features") return std::to_string(a.in_features);
  if (key == "out_features") return std::to_string(a.out_features);
  if (key == "in_channels") return std::to_string(a.in_channels);
  if (key == "out_channels") return std::to_string(a.out_channels);
  if (key == "kernel_size") return std::to_string(a.kernel_size);
  if (key == "stride") return std::to_string(a.stride);
  if (key == "padding") return std::to_string(a.padding);
  if (key == "num_features") return std::to_string(a.num_features);
  if (key == "output_size") return std::to_string(a.output_size);
  if (key == "start_dim") return std::to_string(a.start_dim);
  if (key == "end_dim") return std::to_string(a.end_dim);
  if (key == "bias") return a.bias ? "true" : "false";
  if (key == "inplace") return a.inplace ? "true" : "false";
  if (key == "eps") return python_float(a.eps);
  if (key == "momentum") return python_float(a.momentum);
  if (key == "p") return python_float(a.p);
  CHOP_ASSERT(false, "unknown attribute key {}", key);
}

}  // namespace

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Graph::Graph(std::string model_name, Shape input_shape)
    : model_name_(std::move(model_name)), input_shape_(std::move(input_shape)) {}

Node& Graph::add(std::string name, OpKind op, std::vector<std::string> inputs, Attrs attrs) {
  CHOP_CHECK(!name.empty(), GraphError, "a node needs a name (op {})", op_name(op));
  CHOP_CHECK(!index_.count(name), GraphError, "duplicate node name '{}'", name);
  int arity = op_arity(op);
  CHOP_CHECK(arity < 0 ? !inputs.empty() : static_cast<int>(inputs.size()) == arity, GraphError,
             "node '{}' ({}) takes {} input(s), but got {}", name, op_name(op), arity,
             inputs.size());
  for (const auto& in : inputs)
    CHOP_CHECK(index_.count(in), GraphError,
               "node '{}' uses '{}', which is not defined before it", name, in);
  Node n;
  n.name = std::move(name);
  n.op = op;
  n.inputs = std::move(inputs);
  n.attrs = attrs;
  for (const auto& in : n.inputs) nodes_[index_.at(in)].users.push_back(n.name);
  index_[n.name] = nodes_.size();
  nodes_.push_back(std::move(n));
  return nodes_.back();
}

void Graph::reindex() {
  index_.clear();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].users.clear();
    index_[nodes_[i].name] = i;
  }
  for (const auto& n : nodes_)
    for (const auto& in : n.inputs) {
      auto it = index_.find(in);
      CHOP_CHECK(it != index_.end(), GraphError, "node '{}' uses unknown node '{}'", n.name, in);
      nodes_[it->second].users.push_back(n.name);
    }
}

const Node* Graph::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &nodes_[it->second];
}

Node* Graph::find(const std::string& name) {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &nodes_[it->second];
}

const Node& Graph::node(const std::string& name) const {
  const Node* n = find(name);
  CHOP_CHECK(n, GraphError, "{}", unknown_name_message("node", name, node_names()));
  return *n;
}

Node& Graph::node(const std::string& name) {
  return const_cast<Node&>(static_cast<const Graph&>(*this).node(name));
}

size_t Graph::index_of(const std::string& name) const {
  auto it = index_.find(name);
  CHOP_CHECK(it != index_.end(), GraphError, "{}", unknown_name_message("node", name, node_names()));
  return it->second;
}

std::vector<std::string> Graph::node_names() const {
  std::vector<std::string> names;
  for (const auto& n : nodes_) names.push_back(n.name);
  return names;
}

Shape infer_node_shape(const Node& node, const std::vector<Shape>& in, const Shape& graph_input) {
  const Attrs& a = node.attrs;
  auto fail = [&](const std::string& why) {
    return GraphError(fmt::format("node '{}' ({}): {}", node.name, op_name(node.op), why));
  };
  auto need_rank = [&](size_t lo, size_t hi) {
    if (in[0].size() < lo || in[0].size() > hi)
      throw fail(fmt::format("input shape {} has the wrong rank (expected {}..{} dims besides batch)",
                             shape_str(in[0]), lo, hi));
  };
  auto need_positive = [&](int64_t v, const char* what) {
    if (v <= 0) throw fail(fmt::format("{} must be positive, but got {}", what, v));
  };
  switch (node.op) {
    case OpKind::Input:
      return graph_input;
    case OpKind::Output:
    case OpKind::Relu:
    case OpKind::Dropout:
      return in[0];
    case OpKind::Linear: {
      need_rank(1, 8);
      need_positive(a.out_features, "out_features");
      if (in[0].back() != a.in_features)
        throw fail(fmt::format("in_features={} but its input has shape {}", a.in_features,
                               shape_str(in[0])));
      Shape out = in[0];
      out.back() = a.out_features;
      return out;
    }
    case OpKind::Conv2d: {
      need_rank(3, 3);
      need_positive(a.out_channels, "out_channels");
      need_positive(a.kernel_size, "kernel_size");
      need_positive(a.stride, "stride");
      if (in[0][0] != a.in_channels)
        throw fail(fmt::format("in_channels={} but its input has shape {}", a.in_channels,
                               shape_str(in[0])));
      Shape out{a.out_channels, pooled(in[0][1], a.kernel_size, a.stride, a.padding),
                pooled(in[0][2], a.kernel_size, a.stride, a.padding)};
      if (out[1] <= 0 || out[2] <= 0)
        throw fail(fmt::format("kernel {} does not fit input {}", a.kernel_size, shape_str(in[0])));
      return out;
    }
    case OpKind::BatchNorm1d:
      need_rank(1, 2);
      if (in[0][0] != a.num_features)
        throw fail(fmt::format("num_features={} but its input has shape {}", a.num_features,
                               shape_str(in[0])));
      return in[0];
    case OpKind::BatchNorm2d:
      need_rank(3, 3);
      if (in[0][0] != a.num_features)
        throw fail(fmt::format("num_features={} but its input has shape {}", a.num_features,
                               shape_str(in[0])));
      return in[0];
    case OpKind::MaxPool2d:
    case OpKind::AvgPool2d: {
      need_rank(3, 3);
      need_positive(a.kernel_size, "kernel_size");
      need_positive(a.stride, "stride");
      Shape out{in[0][0], pooled(in[0][1], a.kernel_size, a.stride, a.padding),
                pooled(in[0][2], a.kernel_size, a.stride, a.padding)};
      if (out[1] <= 0 || out[2] <= 0)
        throw fail(fmt::format("kernel {} does not fit input {}", a.kernel_size, shape_str(in[0])));
      return out;
    }
    case OpKind::AdaptiveAvgPool2d:
      need_rank(3, 3);
      need_positive(a.output_size, "output_size");
      return {in[0][0], a.output_size, a.output_size};
    case OpKind::Flatten: {
      // torch dims count the batch; our shapes don't.
      int64_t rank = static_cast<int64_t>(in[0].size()) + 1;
      int64_t start = a.start_dim < 0 ? a.start_dim + rank : a.start_dim;
      int64_t end = a.end_dim < 0 ? a.end_dim + rank : a.end_dim;
      if (start < 1 || end < start || end >= rank)
        throw fail(fmt::format("cannot flatten dims {}..{} of {}", a.start_dim, a.end_dim,
                               shape_str(in[0])));
      Shape out(in[0].begin(), in[0].begin() + (start - 1));
      out.push_back(product(in[0], start - 1, end));
      out.insert(out.end(), in[0].begin() + end, in[0].end());
      return out;
    }
    case OpKind::Add:
      if (in[0] != in[1])
        throw fail(fmt::format("adds shapes {} and {}, which differ", shape_str(in[0]),
                               shape_str(in[1])));
      return in[0];
  }
  CHOP_ASSERT(false, "unhandled op {}", static_cast<int>(node.op));
}

void Graph::infer_shapes() {
  for (auto& n : nodes_) {
    n.meta.in_shapes.clear();
    for (const auto& in : n.inputs) n.meta.in_shapes.push_back(nodes_[index_.at(in)].meta.out_shape);
    n.meta.out_shape = infer_node_shape(n, n.meta.in_shapes, input_shape_);
  }
}

void Graph::lint() const {
  std::set<std::string> seen;
  int n_inputs = 0, n_outputs = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    CHOP_CHECK(seen.insert(n.name).second, GraphError, "lint: duplicate node name '{}'", n.name);
    auto it = index_.find(n.name);
    CHOP_CHECK(it != index_.end() && it->second == i, GraphError,
               "lint: index of node '{}' is stale", n.name);
    int arity = op_arity(n.op);
    CHOP_CHECK(arity < 0 ? !n.inputs.empty() : static_cast<int>(n.inputs.size()) == arity,
               GraphError, "lint: node '{}' ({}) has {} inputs, expected {}", n.name,
               op_name(n.op), n.inputs.size(), arity);
    for (const auto& in : n.inputs) {
      CHOP_CHECK(seen.count(in) && in != n.name, GraphError,
                 "lint: node '{}' uses '{}', which does not come before it", n.name, in);
      const auto& users = nodes_[index_.at(in)].users;
      CHOP_CHECK(std::count(users.begin(), users.end(), n.name) >= 1, GraphError,
                 "lint: '{}' is an input of '{}' but does not list it as a user", in, n.name);
    }
    for (const auto& u : n.users) {
      const Node* user = find(u);
      CHOP_CHECK(user && std::count(user->inputs.begin(), user->inputs.end(), n.name) >= 1,
                 GraphError, "lint: '{}' lists user '{}', which does not use it", n.name, u);
    }
    n_inputs += n.op == OpKind::Input;
    n_outputs += n.op == OpKind::Output;
    if (n.op != OpKind::Output)
      CHOP_CHECK(!n.users.empty(), GraphError, "lint: node '{}' has no users (dead code)", n.name);
    // Shapes: what the node recorded must be what its producers give, and fit its attributes.
    CHOP_CHECK(n.meta.in_shapes.size() == n.inputs.size(), GraphError,
               "lint: node '{}' has {} input shapes for {} inputs (run shape inference)", n.name,
               n.meta.in_shapes.size(), n.inputs.size());
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const Shape& produced = nodes_[index_.at(n.inputs[k])].meta.out_shape;
      CHOP_CHECK(produced == n.meta.in_shapes[k], GraphError,
                 "lint: '{}' produces {} but '{}' expects {}", n.inputs[k], shape_str(produced),
                 n.name, shape_str(n.meta.in_shapes[k]));
    }
    Shape expected = infer_node_shape(n, n.meta.in_shapes, input_shape_);
    CHOP_CHECK(expected == n.meta.out_shape, GraphError,
               "lint: node '{}' records output {} but its attributes give {}", n.name,
               shape_str(n.meta.out_shape), shape_str(expected));
  }
  CHOP_CHECK(n_inputs == 1 && n_outputs == 1, GraphError,
             "lint: a graph needs exactly one input and one output, but has {} and {}", n_inputs,
             n_outputs);
  CHOP_CHECK(nodes_.back().op == OpKind::Output, GraphError, "lint: the last node must be the output");
}

std::string Graph::to_text() const {
  std::string out = fmt::format("graph {} (input {})\n", model_name_, shape_str(input_shape_));
  for (const auto& n : nodes_) {
    std::vector<std::string> ins, attrs;
    for (const auto& in : n.inputs) ins.push_back("%" + in);
    for (const auto& key : attr_keys(n.op)) attrs.push_back(key + "=" + attr_value(n.attrs, key));
    out += fmt::format("  %{} = {}({})", n.name, op_name(n.op), join(ins));
    if (!attrs.empty()) out += " {" + join(attrs) + "}";
    out += " : " + shape_str(n.meta.out_shape);
    std::vector<std::string> precs;
    if (!n.meta.data_in.is_float32()) precs.push_back("data_in=" + n.meta.data_in.to_string());
    if (!n.meta.weight.is_float32()) precs.push_back("weight=" + n.meta.weight.to_string());
    if (!n.meta.bias.is_float32()) precs.push_back("bias=" + n.meta.bias.to_string());
    if (!precs.empty()) out += " <" + join(precs) + ">";
    out += "\n";
  }
  return out;
}

int64_t node_param_count(const Node& n) {
  const Attrs& a = n.attrs;
  switch (n.op) {
    case OpKind::Linear:
      return a.in_features * a.out_features + (a.bias ? a.out_features : 0);
    case OpKind::Conv2d:
      return a.in_channels * a.out_channels * a.kernel_size * a.kernel_size +
             (a.bias ? a.out_channels : 0);
    case OpKind::BatchNorm1d:
    case OpKind::BatchNorm2d:
      return 2 * a.num_features;
    case OpKind::Input:
    case OpKind::Output:
    case OpKind::Relu:
    case OpKind::MaxPool2d:
    case OpKind::AvgPool2d:
    case OpKind::AdaptiveAvgPool2d:
    case OpKind::Flatten:
    case OpKind::Dropout:
    case OpKind::Add:
      return 0;
  }
  CHOP_ASSERT(false, "unhandled op {}", static_cast<int>(n.op));
}

bool output_nonnegative(const Graph& g, const Node& n) {
  switch (n.op) {
    case OpKind::Relu:
      return true;
    case OpKind::MaxPool2d:
    case OpKind::AvgPool2d:
    case OpKind::AdaptiveAvgPool2d:
    case OpKind::Flatten:
    case OpKind::Dropout:
    case OpKind::Output:
      return output_nonnegative(g, g.node(n.inputs.at(0)));
    case OpKind::Input:
    case OpKind::Linear:
    case OpKind::Conv2d:
    case OpKind::BatchNorm1d:
    case OpKind::BatchNorm2d:
    case OpKind::Add:
      return false;
  }
  CHOP_ASSERT(false, "unhandled op {}", static_cast<int>(n.op));
}

int64_t Graph::count_params() const {
  int64_t total = 0;
  for (const auto& n : nodes_) total += node_param_count(n);
  return total;
}

std::string torch_repr(const Node& n) {
  const Attrs& a = n.attrs;
  switch (n.op) {
    case OpKind::Linear:
      return fmt::format("Linear(in_features={}, out_features={}, bias={})", a.in_features,
                         a.out_features, py_bool(a.bias));
    case OpKind::Conv2d: {
      std::string s = fmt::format("Conv2d({}, {}, kernel_size=({}, {}), stride=({}, {})",
                                  a.in_channels, a.out_channels, a.kernel_size, a.kernel_size,
                                  a.stride, a.stride);
      if (a.padding) s += fmt::format(", padding=({}, {})", a.padding, a.padding);
      if (!a.bias) s += ", bias=False";
      return s + ")";
    }
    case OpKind::BatchNorm1d:
    case OpKind::BatchNorm2d:
      return fmt::format("{}({}, eps={}, momentum={}, affine=True, track_running_stats=True)",
                         op_torch_class(n.op), a.num_features, python_float(a.eps),
                         python_float(a.momentum));
    case OpKind::Relu:
      return a.inplace ? "ReLU(inplace=True)" : "ReLU()";
    case OpKind::MaxPool2d:
      return fmt::format("MaxPool2d(kernel_size={}, stride={}, padding={}, dilation=1, "
                         "ceil_mode=False)", a.kernel_size, a.stride, a.padding);
    case OpKind::AvgPool2d:
      return fmt::format("AvgPool2d(kernel_size={}, stride={}, padding={})", a.kernel_size,
                         a.stride, a.padding);
    case OpKind::AdaptiveAvgPool2d:
      return fmt::format("AdaptiveAvgPool2d(output_size=({}, {}))", a.output_size, a.output_size);
    case OpKind::Flatten:
      return fmt::format("Flatten(start_dim={}, end_dim={})", a.start_dim, a.end_dim);
    case OpKind::Dropout:
      return fmt::format("Dropout(p={}, inplace={})", python_float(a.p), py_bool(a.inplace));
    case OpKind::Input:
    case OpKind::Output:
    case OpKind::Add:
      return "";
  }
  CHOP_ASSERT(false, "unhandled op {}", static_cast<int>(n.op));
}

bool Graph::operator==(const Graph& o) const {
  return model_name_ == o.model_name_ && input_shape_ == o.input_shape_ && nodes_ == o.nodes_;
}

}  // namespace chop::ir
