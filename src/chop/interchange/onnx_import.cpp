// An ONNX model (libonnx's protobuf) to chop's graph and weights: what chop's own export writes
// (MatMul + Add), what torch.onnx writes (Gemm), and the other ops chop's IR has.
#include "chop/interchange/onnx_import.h"

#include "chop/interchange/imported_graph.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "chop/support/error.h"

namespace chop::interchange {
namespace {

/// A float initializer as a tensor (raw_data or float_data).
torch::Tensor to_tensor(const onnx::TensorProto& t, const std::string& path) {
  CHOP_CHECK(t.data_type() == onnx::TensorProto::FLOAT, GraphError,
             "'{}': initializer '{}' is not float32 (data type {})", path, t.name(), t.data_type());
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  // The values are checked against the shape before anything is allocated: a corrupt shape
  // (negative, or a product that overflows) is an error, not a huge tensor.
  int64_t n = 1;
  for (int64_t d : dims) {
    CHOP_CHECK(d >= 0 && (d == 0 || n <= std::numeric_limits<int64_t>::max() / 4 / d), DataError,
               "'{}': initializer '{}' has an invalid shape {}", path, t.name(), ir::shape_str(dims));
    n *= d;
  }
  if (!t.raw_data().empty()) {
    CHOP_CHECK(static_cast<int64_t>(t.raw_data().size()) == n * 4, DataError, "'{}': initializer '{}' is truncated", path, t.name());
  } else {
    CHOP_CHECK(t.float_data_size() == n, DataError, "'{}': initializer '{}' has {} values for shape {}", path, t.name(),
               t.float_data_size(), ir::shape_str(dims));
  }
  torch::Tensor out = torch::empty(dims, torch::kFloat);
  if (!t.raw_data().empty())
    std::memcpy(out.data_ptr(), t.raw_data().data(), t.raw_data().size());
  else
    std::copy(t.float_data().begin(), t.float_data().end(), out.data_ptr<float>());
  return out;
}

/// A float attribute read back as the double it was written from (eps 1e-5, not 9.99999975e-06).
double clean(float v) { return std::strtod(fmt::format("{:.7g}", v).c_str(), nullptr); }  // no throw on denormals

class OnnxReader {
 public:
  OnnxReader(const onnx::ModelProto& m, std::string path) : m_(m), path_(std::move(path)) {}

  void run(const ImportOptions& o) {
    const auto& g = m_.graph();
    for (const auto& t : g.initializer()) init_[t.name()] = to_tensor(t, path_);
    std::vector<const onnx::ValueInfoProto*> inputs;
    for (const auto& in : g.input())
      if (!init_.count(in.name())) inputs.push_back(&in);
    CHOP_CHECK(inputs.size() == 1, GraphError, "'{}': the graph has {} inputs besides its weights; chop imports models with one",
               path_, inputs.size());
    CHOP_CHECK(g.output_size() == 1, GraphError, "'{}': the graph has {} outputs; chop imports models with one", path_,
               g.output_size());
    // The options' shape, else the declared one, else the default (a symbolic dimension).
    input_shape_ = o.input_shape;
    const auto& dims = inputs[0]->type().tensor_type().shape().dim();
    if (input_shape_.empty())
      for (int i = 1; i < dims.size(); ++i) {
        if (!(dims[i].has_dim_value() && dims[i].dim_value() > 0)) {
          CHOP_CHECK(!o.default_input_shape.empty(), ConfigError,
                     "'{}': input '{}' has no fixed size in dimension {}; pass --input-shape", path_, inputs[0]->name(), i);
          input_shape_ = o.default_input_shape;
          break;
        }
        input_shape_.push_back(dims[i].dim_value());
      }
    value_[inputs[0]->name()] = "x";
    rank_["x"] = static_cast<int64_t>(input_shape_.size()) + 1;
    for (const auto& n : g.node())
      for (const auto& in : n.input()) ++uses_[in];
    for (int i = 0; i < g.node_size(); ++i) node(g.node(i), i);
    CHOP_CHECK(value_.count(g.output(0).name()), GraphError, "'{}': output '{}' is not computed by any node", path_,
               g.output(0).name());
    imported_.output = value_.at(g.output(0).name());
  }

  const ImportedGraph& imported() const { return imported_; }
  const ir::Shape& input_shape() const { return input_shape_; }

 private:
  using Pending = ImportedGraph::Node;

  [[noreturn]] void unsupported(const onnx::NodeProto& n, const std::string& why) const {
    throw GraphError(fmt::format("'{}': {} ({} node '{}')", path_, why, n.op_type(), n.name()));
  }

  const onnx::AttributeProto* attr(const onnx::NodeProto& n, const char* name) const {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  int64_t int_attr(const onnx::NodeProto& n, const char* name, int64_t fallback) const {
    const auto* a = attr(n, name);
    return a ? a->i() : fallback;
  }
  float float_attr(const onnx::NodeProto& n, const char* name, float fallback) const {
    const auto* a = attr(n, name);
    return a ? a->f() : fallback;
  }
  /// A square pair (kernel [3, 3]) or equal pads ([1, 1, 1, 1]); fallback when absent.
  int64_t square(const onnx::NodeProto& n, const char* name, int64_t fallback) const {
    const auto* a = attr(n, name);
    if (!a || a->ints_size() == 0) return fallback;
    for (int64_t v : a->ints())
      if (v != a->ints(0)) unsupported(n, fmt::format("non-square {}", name));
    return a->ints(0);
  }

  /// The chop node a value comes from; GraphError for a value nothing chop imported computes.
  std::string in(const onnx::NodeProto& n, int i) const {
    if (i >= n.input_size()) unsupported(n, fmt::format("input {} is missing", i));
    auto it = value_.find(n.input(i));
    if (it == value_.end()) unsupported(n, fmt::format("input '{}' is a weight or comes from nowhere chop knows", n.input(i)));
    return it->second;
  }
  const torch::Tensor* weight(const onnx::NodeProto& n, int i) const {
    if (i >= n.input_size() || n.input(i).empty()) return nullptr;
    auto it = init_.find(n.input(i));
    if (it == init_.end()) unsupported(n, fmt::format("input {} ('{}') is not an initializer (a computed weight)", i, n.input(i)));
    return &it->second;
  }

  std::string name_of(const onnx::NodeProto& n, const char* fallback) {
    std::string name = n.name().empty() ? fallback : n.name();
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
    std::string unique = name;
    for (int k = 1; used_.count(unique); ++k) unique = fmt::format("{}_{}", name, k);
    used_.insert(unique);
    return unique;
  }

  void add(Pending p, const std::string& out_value, int64_t rank) {
    value_[out_value] = p.name;
    rank_[p.name] = rank;
    imported_.nodes.push_back(std::move(p));
  }

  /// The Add that adds a bias initializer of `width` to `value`, when it is value's one user.
  int bias_add(const std::string& value, int64_t width, int after) const {
    if (uses_.count(value) == 0 || uses_.at(value) != 1) return -1;
    const auto& g = m_.graph();
    for (int j = after + 1; j < g.node_size(); ++j) {
      const auto& a = g.node(j);
      if (a.op_type() != "Add" || a.input_size() != 2 || a.output_size() < 1) continue;
      int other = a.input(0) == value ? 1 : a.input(1) == value ? 0 : -1;
      if (other < 0) continue;
      auto it = init_.find(a.input(other));
      return it != init_.end() && it->second.dim() == 1 && it->second.size(0) == width ? j : -1;
    }
    return -1;
  }

  void node(const onnx::NodeProto& n, int index) {
    const std::string& op = n.op_type();
    if (fused_.count(index)) return;
    CHOP_CHECK(n.domain().empty() || n.domain() == "ai.onnx", GraphError,
               "'{}': node '{}' is {} of domain '{}' (QONNX's Quant is written by chop export, not read back: "
               "import the float model)", path_, n.name(), op, n.domain());
    if (n.output_size() < 1) unsupported(n, "a node without an output");
    Pending p;
    int64_t rank = -1;
    std::string x = n.input_size() > 0 ? in(n, 0) : "";
    if (op == "MatMul" || op == "Gemm") {
      const torch::Tensor* w = weight(n, 1);
      if (!w || w->dim() != 2) unsupported(n, "a product with a non-matrix weight");
      bool trans_b = op == "Gemm" && int_attr(n, "transB", 0) == 1;
      if (op == "Gemm" && (int_attr(n, "transA", 0) != 0 || float_attr(n, "alpha", 1) != 1 || float_attr(n, "beta", 1) != 1))
        unsupported(n, "a Gemm with transA, alpha or beta (only Linear's x W^T + b)");
      torch::Tensor weight_t = trans_b ? *w : w->t();  // [out, in], as torch's Linear
      p = {name_of(n, "linear"), ir::OpKind::Linear, {x}, {}};
      p.attrs.in_features = weight_t.size(1);
      p.attrs.out_features = weight_t.size(0);
      imported_.tensors[p.name + ".weight"] = weight_t.contiguous();
      std::string out = n.output(0);
      const torch::Tensor* b = op == "Gemm" ? weight(n, 2) : nullptr;
      if (op == "MatMul") {
        int j = bias_add(out, p.attrs.out_features, index);
        if (j >= 0) {
          const auto& a = m_.graph().node(j);
          b = &init_.at(a.input(a.input(0) == out ? 1 : 0));
          fused_.insert(j);
          out = a.output(0);
        }
      }
      p.attrs.bias = b != nullptr;
      if (b) imported_.tensors[p.name + ".bias"] = b->reshape({-1});
      rank = rank_.count(x) ? rank_.at(x) : 2;
      return add(std::move(p), out, rank);
    }
    if (op == "Conv") {
      const torch::Tensor* w = weight(n, 1);
      if (!w || w->dim() != 4) unsupported(n, "a convolution that is not 2-d");
      if (int_attr(n, "group", 1) != 1) unsupported(n, fmt::format("a grouped convolution (group = {})", int_attr(n, "group", 1)));
      if (square(n, "dilations", 1) != 1) unsupported(n, "a dilated convolution");
      if (w->size(2) != w->size(3)) unsupported(n, "a non-square kernel");
      p = {name_of(n, "conv2d"), ir::OpKind::Conv2d, {x}, {}};
      p.attrs.in_channels = w->size(1);
      p.attrs.out_channels = w->size(0);
      p.attrs.kernel_size = w->size(2);
      p.attrs.stride = square(n, "strides", 1);
      p.attrs.padding = square(n, "pads", 0);
      const torch::Tensor* b = weight(n, 2);
      p.attrs.bias = b != nullptr;
      imported_.tensors[p.name + ".weight"] = *w;
      if (b) imported_.tensors[p.name + ".bias"] = *b;
      return add(std::move(p), n.output(0), 4);
    }
    if (op == "BatchNormalization") {
      const int64_t r = rank_.count(x) ? rank_.at(x) : -1;
      if (r != 2 && r != 4) unsupported(n, "a batch norm of an input that is neither [N, C] nor [N, C, H, W]");
      p = {name_of(n, "batch_norm"), r == 4 ? ir::OpKind::BatchNorm2d : ir::OpKind::BatchNorm1d, {x}, {}};
      const char* names[] = {"weight", "bias", "running_mean", "running_var"};
      for (int i = 0; i < 4; ++i) {
        const torch::Tensor* t = weight(n, i + 1);
        if (!t) unsupported(n, "a batch norm without its parameters");
        if (t->dim() != 1) unsupported(n, "a batch norm whose parameters are not vectors");
        imported_.tensors[p.name + "." + names[i]] = *t;
      }
      p.attrs.num_features = imported_.tensors.at(p.name + ".weight").size(0);
      p.attrs.eps = clean(float_attr(n, "epsilon", 1e-5f));
      p.attrs.momentum = clean(1.0f - float_attr(n, "momentum", 0.9f));  // ONNX's weighs the running value
      return add(std::move(p), n.output(0), r);
    }
    if (op == "Relu") {
      p = {name_of(n, "relu"), ir::OpKind::Relu, {x}, {}};
      return add(std::move(p), n.output(0), rank_.count(x) ? rank_.at(x) : -1);
    }
    if (op == "MaxPool" || op == "AveragePool") {
      if (int_attr(n, "ceil_mode", 0) != 0) unsupported(n, "ceil_mode = 1");
      if (square(n, "dilations", 1) != 1) unsupported(n, "a dilated pool");
      p = {name_of(n, op == "MaxPool" ? "max_pool2d" : "avg_pool2d"),
           op == "MaxPool" ? ir::OpKind::MaxPool2d : ir::OpKind::AvgPool2d, {x}, {}};
      p.attrs.kernel_size = square(n, "kernel_shape", 0);
      p.attrs.stride = square(n, "strides", 1);
      p.attrs.padding = square(n, "pads", 0);
      if (op == "AveragePool" && p.attrs.padding > 0 && int_attr(n, "count_include_pad", 0) == 0)
        unsupported(n, "an average pool that excludes its padding (chop's, as torch's default, counts it)");
      return add(std::move(p), n.output(0), 4);
    }
    if (op == "GlobalAveragePool") {
      p = {name_of(n, "adaptive_avg_pool2d"), ir::OpKind::AdaptiveAvgPool2d, {x}, {}};
      p.attrs.output_size = 1;
      return add(std::move(p), n.output(0), 4);
    }
    if (op == "Flatten") {
      if (int_attr(n, "axis", 1) != 1) unsupported(n, "a flatten with axis != 1");
      p = {name_of(n, "flatten"), ir::OpKind::Flatten, {x}, {}};
      return add(std::move(p), n.output(0), 2);
    }
    if (op == "Add") {
      p = {name_of(n, "add"), ir::OpKind::Add, {x, in(n, 1)}, {}};
      return add(std::move(p), n.output(0), rank_.count(x) ? rank_.at(x) : -1);
    }
    if (op == "Dropout" || op == "Identity") {  // the identity at inference
      value_[n.output(0)] = x;
      return;
    }
    unsupported(n, "an op chop's IR cannot represent");
  }

  const onnx::ModelProto& m_;
  std::string path_;
  ir::Shape input_shape_;
  std::map<std::string, torch::Tensor> init_;
  std::map<std::string, std::string> value_;  ///< ONNX value -> chop node
  std::map<std::string, int64_t> rank_;       ///< chop node -> rank with batch
  std::map<std::string, int> uses_;
  std::set<int> fused_;  ///< Add nodes folded into the MatMul before them
  std::set<std::string> used_;
  ImportedGraph imported_;
};

onnx::ModelProto read_model(const std::string& path) {
  CHOP_CHECK(std::filesystem::exists(path), DataError, "model file '{}' does not exist", path);
  std::ifstream f(path, std::ios::binary);
  onnx::ModelProto m;
  CHOP_CHECK(f && m.ParseFromIstream(&f) && m.has_graph() && m.graph().node_size() > 0, DataError,
             "'{}' is not an ONNX model (a truncated or other file)", path);
  return m;
}

}  // namespace

runtime::GraphModule import_onnx(const std::string& path, const ImportOptions& options, torch::Device device) {
  onnx::ModelProto model = read_model(path);
  OnnxReader reader(model, path);
  reader.run(options);
  std::string name = options.model_name.empty() ? std::filesystem::path(path).stem().string() : options.model_name;
  ir::Graph g = reader.imported().graph(name, reader.input_shape());
  return reader.imported().module(g, path, device);
}

runtime::GraphModule import_model(const std::string& path, const ImportOptions& options, torch::Device device) {
  if (std::filesystem::path(path).extension() == ".onnx") return import_onnx(path, options, device);
  return import_torchscript(path, options, device);
}

}  // namespace chop::interchange
