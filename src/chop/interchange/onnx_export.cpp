// chop's graph and weights as an ONNX / QONNX model (onnx-ml protobuf of libonnx).
#include "chop/interchange/onnx_export.h"

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <map>
#include <optional>

#include "chop/support/error.h"
#include "chop/support/files.h"
#include "chop/support/strings.h"

namespace chop::interchange {
namespace {

constexpr const char* kQonnxDomain = "qonnx.custom_op.general";

/// Which tensor of a node a quantizer acts on.
struct QuantSpec {
  std::vector<double> scale;  ///< one, or one per output channel
  int64_t bits = 8;
  bool is_signed = true;
};

class Writer {
 public:
  Writer(runtime::GraphModule& m, const ExportOptions& o) : m_(m), o_(o), g_(m->graph()) {
    model_.set_ir_version(7);
    model_.set_producer_name("chop");
    model_.set_model_version(1);
    auto* opset = model_.add_opset_import();
    opset->set_domain("");
    opset->set_version(13);
    if (o_.format == ExportFormat::qonnx) {
      auto* q = model_.add_opset_import();
      q->set_domain(kQonnxDomain);
      q->set_version(1);
    }
    graph_ = model_.mutable_graph();
    graph_->set_name(g_.model_name());
    scales_ = m_->quantization_scales();
    for (auto& p : m_->named_parameters()) tensors_[p.key()] = p.value().detach().to(torch::kCPU, torch::kFloat).contiguous();
    for (auto& b : m_->named_buffers()) tensors_[b.key()] = b.value().detach().to(torch::kCPU).contiguous();
  }

  onnx::ModelProto run() {
    CHOP_CHECK(!(o_.fold_bn && o_.format != ExportFormat::onnx), ConfigError,
               "--fold-bn folds batch norms into float weights: export --format onnx, not a quantized format");
    for (const auto& n : g_.nodes()) node(n);
    return model_;
  }

 private:
  static onnx::TypeProto_Tensor* tensor_type(onnx::ValueInfoProto* v, const ir::Shape& shape, bool batch) {
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    auto* s = t->mutable_shape();
    if (batch) s->add_dim()->set_dim_param("batch");
    for (int64_t d : shape) s->add_dim()->set_dim_value(d);
    return t;
  }

  /// Declares an intermediate tensor with its per-sample shape.
  void value_info(const std::string& name, const ir::Shape& shape, bool batch = true) {
    auto* v = graph_->add_value_info();
    v->set_name(name);
    tensor_type(v, shape, batch);
  }

  void initializer(const std::string& name, const torch::Tensor& t_in) {
    torch::Tensor t = t_in.to(torch::kFloat).contiguous();
    auto* init = graph_->add_initializer();
    init->set_name(name);
    init->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : t.sizes()) init->add_dims(d);
    init->set_raw_data(t.data_ptr(), static_cast<size_t>(t.numel()) * sizeof(float));
  }

  onnx::NodeProto* add_node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                            std::vector<std::string> outputs, const std::string& domain = "") {
    auto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    if (!domain.empty()) n->set_domain(domain);
    for (auto& i : inputs) n->add_input(i);
    for (auto& out : outputs) n->add_output(out);
    return n;
  }

  static void ints(onnx::NodeProto* n, const char* name, std::vector<int64_t> values) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
  }
  static void integer(onnx::NodeProto* n, const char* name, int64_t value) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  static void real(onnx::NodeProto* n, const char* name, float value) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
  }
  static void text(onnx::NodeProto* n, const char* name, const std::string& value) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(value);
  }

  /// The quantizer of `tensor` ("data_in", "weight", "bias") of node n, if the export writes one.
  std::optional<QuantSpec> quant_of(const ir::Node& n, const char* tensor) const {
    if (o_.format == ExportFormat::onnx) return std::nullopt;
    const ir::Precision& p = std::string(tensor) == "data_in" ? n.meta.data_in
                             : std::string(tensor) == "weight" ? n.meta.weight
                                                               : n.meta.bias;
    if (p.is_float32()) return std::nullopt;
    CHOP_CHECK(p.type == "integer", GraphError,
               "node '{}': its {} is {}, which QONNX's Quant (integers with a scale) cannot hold; export "
               "--format onnx for the float model", n.name, tensor, p.to_string());
    CHOP_CHECK(scales_.contains(n.name) && scales_[n.name].contains(tensor), GraphError,
               "node '{}': no scale for its quantized {} (calibrate or train the model first)", n.name, tensor);
    const auto& s = scales_[n.name][tensor];
    QuantSpec q;
    q.scale = s["scale"].is_array() ? s["scale"].get<std::vector<double>>() : std::vector<double>{s["scale"].get<double>()};
    q.bits = p.widths.at(0);
    q.is_signed = s["signed"].get<bool>();
    return q;
  }

  /// Quantizes value `in` (shape `shape`, per-channel scales along `channel_axis` of a tensor of
  /// rank `rank`); returns the quantized value's name.
  std::string quantize(const std::string& node, const char* tensor, const std::string& in, const QuantSpec& q,
                       const ir::Shape& shape, bool batch, int64_t channel_axis = 0) {
    const std::string base = node + "_" + tensor;
    const int64_t rank = static_cast<int64_t>(shape.size()) + (batch ? 1 : 0);
    torch::Tensor scale = torch::tensor(q.scale, torch::kDouble).to(torch::kFloat);
    if (q.scale.size() > 1) {  // per channel: broadcast along channel_axis
      std::vector<int64_t> dims(static_cast<size_t>(rank), 1);
      dims[static_cast<size_t>(channel_axis)] = static_cast<int64_t>(q.scale.size());
      scale = scale.reshape(dims);
    } else {
      scale = scale.reshape({});
    }
    initializer(base + "_scale", scale);
    const std::string out = base + "_q";
    if (o_.format == ExportFormat::qonnx) {
      initializer(base + "_zeropt", torch::zeros({}, torch::kFloat));
      initializer(base + "_bitwidth", torch::full({}, static_cast<float>(q.bits)));
      auto* n = add_node("Quant", base + "_quant", {in, base + "_scale", base + "_zeropt", base + "_bitwidth"}, {out},
                         kQonnxDomain);
      integer(n, "signed", q.is_signed ? 1 : 0);
      integer(n, "narrow", 0);
      text(n, "rounding_mode", "ROUND");
    } else {  // the same arithmetic in standard ops: clip(round(x / s), lo, hi) * s
      const double lo = q.is_signed ? -std::ldexp(1.0, static_cast<int>(q.bits - 1)) : 0.0;
      const double hi = q.is_signed ? std::ldexp(1.0, static_cast<int>(q.bits - 1)) - 1 : std::ldexp(1.0, static_cast<int>(q.bits)) - 1;
      initializer(base + "_min", torch::full({}, static_cast<float>(lo)));
      initializer(base + "_max", torch::full({}, static_cast<float>(hi)));
      add_node("Div", base + "_div", {in, base + "_scale"}, {base + "_scaled"});
      add_node("Round", base + "_round", {base + "_scaled"}, {base + "_rounded"});
      add_node("Clip", base + "_clip", {base + "_rounded", base + "_min", base + "_max"}, {base + "_int"});
      add_node("Mul", base + "_quant", {base + "_int", base + "_scale"}, {out});
      for (const char* v : {"_scaled", "_rounded", "_int"}) value_info(base + v, shape, batch);
    }
    value_info(out, shape, batch);
    return out;
  }

  /// The value a node reads as input i, quantized when its data_in is.
  std::string input(const ir::Node& n, size_t i) {
    std::string in = alias(n.inputs.at(i));
    if (auto q = quant_of(n, "data_in")) return quantize(n.name, i == 0 ? "data_in" : "data_in_1", in, *q, n.meta.in_shapes.at(i), true, 1);
    return in;
  }

  std::string alias(const std::string& v) const {
    auto it = aliases_.find(v);
    return it == aliases_.end() ? v : it->second;
  }

  torch::Tensor tensor(const std::string& name) const {
    auto it = tensors_.find(name);
    CHOP_ASSERT(it != tensors_.end(), "module has no tensor {}", name);
    return it->second;
  }

  /// A BatchNorm that follows n and that the export folds into n's weights, or nullptr.
  const ir::Node* folded_bn(const ir::Node& n) const {
    if (!o_.fold_bn || (n.op != ir::OpKind::Linear && n.op != ir::OpKind::Conv2d) || n.users.size() != 1) return nullptr;
    const ir::Node& u = g_.node(n.users[0]);
    return u.op == ir::OpKind::BatchNorm1d || u.op == ir::OpKind::BatchNorm2d ? &u : nullptr;
  }

  /// Weight and bias of a Linear / Conv2d, with a following BatchNorm folded in when asked.
  std::pair<torch::Tensor, torch::Tensor> weights(const ir::Node& n) const {
    torch::Tensor w = tensor(n.name + ".weight");
    torch::Tensor b = n.attrs.bias ? tensor(n.name + ".bias") : torch::Tensor();
    if (const ir::Node* bn = folded_bn(n)) {
      torch::Tensor k = tensor(bn->name + ".weight") / torch::sqrt(tensor(bn->name + ".running_var") + bn->attrs.eps);
      std::vector<int64_t> dims(static_cast<size_t>(w.dim()), 1);
      dims[0] = -1;
      w = w * k.reshape(dims);
      torch::Tensor b0 = b.defined() ? b : torch::zeros({w.size(0)});
      b = (b0 - tensor(bn->name + ".running_mean")) * k + tensor(bn->name + ".bias");
    }
    return {w, b};
  }

  void node(const ir::Node& n) {
    using ir::OpKind;
    const ir::Shape& out_shape = n.meta.out_shape;
    switch (n.op) {
      case OpKind::Input: {
        auto* in = graph_->add_input();
        in->set_name(n.name);
        tensor_type(in, g_.input_shape(), true);
        return;
      }
      case OpKind::Output: {
        auto* out = graph_->add_output();
        out->set_name(alias(n.inputs[0]));
        tensor_type(out, out_shape, true);
        return;
      }
      case OpKind::Linear: {
        std::string x = input(n, 0);
        auto [w, b] = weights(n);
        std::string wt = n.name + ".weight_t";
        initializer(wt, w.t().contiguous());  // [in, out]: x @ W^T
        if (auto q = quant_of(n, "weight")) wt = quantize(n.name, "weight", wt, *q, {n.attrs.in_features, n.attrs.out_features}, false, 1);
        const bool has_bias = b.defined();
        const std::string mm = has_bias ? n.name + "_matmul" : n.name;
        add_node("MatMul", n.name, {x, wt}, {mm});
        if (has_bias) {
          std::string bias = n.name + ".bias";
          initializer(bias, b);
          if (auto q = quant_of(n, "bias")) bias = quantize(n.name, "bias", bias, *q, {n.attrs.out_features}, false, 0);
          value_info(mm, out_shape);
          add_node("Add", n.name + "_bias", {mm, bias}, {n.name});
        }
        break;
      }
      case OpKind::Conv2d: {
        std::string x = input(n, 0);
        auto [w, b] = weights(n);
        std::string weight = n.name + ".weight";
        initializer(weight, w);
        if (auto q = quant_of(n, "weight")) weight = quantize(n.name, "weight", weight, *q, ir::Shape(w.sizes().begin(), w.sizes().end()), false, 0);
        std::vector<std::string> inputs{x, weight};
        if (b.defined()) {
          std::string bias = n.name + ".bias";
          initializer(bias, b);
          if (auto q = quant_of(n, "bias")) bias = quantize(n.name, "bias", bias, *q, {w.size(0)}, false, 0);
          inputs.push_back(bias);
        }
        auto* c = add_node("Conv", n.name, inputs, {n.name});
        ints(c, "kernel_shape", {n.attrs.kernel_size, n.attrs.kernel_size});
        ints(c, "strides", {n.attrs.stride, n.attrs.stride});
        ints(c, "pads", {n.attrs.padding, n.attrs.padding, n.attrs.padding, n.attrs.padding});
        ints(c, "dilations", {1, 1});
        integer(c, "group", 1);
        break;
      }
      case OpKind::BatchNorm1d:
      case OpKind::BatchNorm2d: {
        const ir::Node& producer = g_.node(n.inputs[0]);
        if (folded_bn(producer) == &n) {
          aliases_[n.name] = alias(producer.name);
          return;
        }
        for (const char* t : {"weight", "bias", "running_mean", "running_var"}) initializer(n.name + "." + t, tensor(n.name + "." + t));
        auto* bn = add_node("BatchNormalization", n.name,
                            {alias(n.inputs[0]), n.name + ".weight", n.name + ".bias", n.name + ".running_mean", n.name + ".running_var"},
                            {n.name});
        real(bn, "epsilon", static_cast<float>(n.attrs.eps));
        real(bn, "momentum", static_cast<float>(1.0 - n.attrs.momentum));  // ONNX's: the running value's weight
        break;
      }
      case OpKind::Relu:
        add_node("Relu", n.name, {input(n, 0)}, {n.name});
        break;
      case OpKind::MaxPool2d:
      case OpKind::AvgPool2d: {
        auto* p = add_node(n.op == OpKind::MaxPool2d ? "MaxPool" : "AveragePool", n.name, {alias(n.inputs[0])}, {n.name});
        ints(p, "kernel_shape", {n.attrs.kernel_size, n.attrs.kernel_size});
        ints(p, "strides", {n.attrs.stride, n.attrs.stride});
        ints(p, "pads", {n.attrs.padding, n.attrs.padding, n.attrs.padding, n.attrs.padding});
        if (n.op == OpKind::AvgPool2d) integer(p, "count_include_pad", 1);  // torch's default
        break;
      }
      case OpKind::AdaptiveAvgPool2d: {
        const ir::Shape& in = n.meta.in_shapes.at(0);
        if (n.attrs.output_size == 1) {
          add_node("GlobalAveragePool", n.name, {alias(n.inputs[0])}, {n.name});
          break;
        }
        CHOP_CHECK(in[1] % n.attrs.output_size == 0 && in[2] % n.attrs.output_size == 0, GraphError,
                   "node '{}': an adaptive average pool from {} to {} has no ONNX equivalent (sizes must divide)",
                   n.name, ir::shape_str(in), n.attrs.output_size);
        auto* p = add_node("AveragePool", n.name, {alias(n.inputs[0])}, {n.name});
        ints(p, "kernel_shape", {in[1] / n.attrs.output_size, in[2] / n.attrs.output_size});
        ints(p, "strides", {in[1] / n.attrs.output_size, in[2] / n.attrs.output_size});
        break;
      }
      case OpKind::Flatten: {
        const int64_t rank = static_cast<int64_t>(n.meta.in_shapes.at(0).size()) + 1;
        const int64_t end = n.attrs.end_dim < 0 ? n.attrs.end_dim + rank : n.attrs.end_dim;
        CHOP_CHECK(n.attrs.start_dim == 1 && end == rank - 1, GraphError,
                   "node '{}': only flatten(1, -1) has an ONNX Flatten, not flatten({}, {})", n.name,
                   n.attrs.start_dim, n.attrs.end_dim);
        auto* f = add_node("Flatten", n.name, {alias(n.inputs[0])}, {n.name});
        integer(f, "axis", 1);
        break;
      }
      case OpKind::Dropout:  // the identity at inference
        aliases_[n.name] = alias(n.inputs[0]);
        return;
      case OpKind::Add:
        add_node("Add", n.name, {input(n, 0), input(n, 1)}, {n.name});
        break;
    }
    if (n.users.size() != 1 || g_.node(n.users[0]).op != ir::OpKind::Output) value_info(n.name, out_shape);
  }

  runtime::GraphModule& m_;
  const ExportOptions& o_;
  const ir::Graph& g_;
  onnx::ModelProto model_;
  onnx::GraphProto* graph_ = nullptr;
  nlohmann::ordered_json scales_;
  std::map<std::string, torch::Tensor> tensors_;
  std::map<std::string, std::string> aliases_;  ///< a node the export drops -> the value it passes on
};

}  // namespace

ExportFormat parse_export_format(const std::string& name) {
  if (name == "onnx") return ExportFormat::onnx;
  if (name == "qonnx") return ExportFormat::qonnx;
  throw ConfigError(unknown_name_message("export format", name, {"onnx", "qonnx"}));
}

ExportSummary export_onnx(runtime::GraphModule& module, const ExportOptions& options, const std::string& path) {
  module->eval();
  torch::NoGradGuard no_grad;
  onnx::ModelProto model = Writer(module, options).run();
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    CHOP_ASSERT(false, "the ONNX export of '{}' fails onnx::checker: {}", module->graph().model_name(), e.what());
  }
  std::string bytes;
  CHOP_CHECK(model.SerializeToString(&bytes), DataError, "cannot serialize the ONNX model for '{}'", path);
  write_file_atomically(path, bytes);
  ExportSummary summary;
  summary.nodes = model.graph().node_size();
  for (const auto& n : model.graph().node()) summary.quant_nodes += n.op_type() == "Quant";
  return summary;
}

}  // namespace chop::interchange
