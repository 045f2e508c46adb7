// Analysis passes over the graph alone (no torch): metadata, reports, params, FLOPs, sizes, bits.
#include "chop/passes/analysis.h"

#include <fmt/format.h>

#include "chop/quant/format.h"
#include "chop/support/error.h"
#include "chop/support/strings.h"
#include "chop/support/table.h"

namespace chop::passes {
namespace {

using ir::OpKind;

int64_t numel(const ir::Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

nlohmann::ordered_json precision_json(const ir::Precision& p) {
  return {{"type", p.type}, {"precision", p.widths}};
}

std::string g3(double v) { return fmt::format("{:.4g}", v); }

bool has_weight(OpKind op) { return op == OpKind::Linear || op == OpKind::Conv2d; }

// Weight and bias element counts of a linear / conv2d node.
std::pair<int64_t, int64_t> weight_bias_numel(const ir::Node& n) {
  const ir::Attrs& a = n.attrs;
  if (n.op == OpKind::Linear) return {a.in_features * a.out_features, a.bias ? a.out_features : 0};
  return {a.in_channels * a.out_channels * a.kernel_size * a.kernel_size,
          a.bias ? a.out_channels : 0};
}

}  // namespace

NodeCost node_cost(const ir::Node& n) {
  NodeCost c{n.name};
  const ir::Attrs& a = n.attrs;
  int64_t out = numel(n.meta.out_shape);
  switch (n.op) {
    case OpKind::Linear: {
      int64_t rows = out / a.out_features;
      c.macs = a.in_features * a.out_features * rows;
      c.flops = 2 * c.macs + (a.bias ? a.out_features * rows : 0);
      return c;
    }
    case OpKind::Conv2d:
      c.macs = out * a.in_channels * a.kernel_size * a.kernel_size;
      c.flops = 2 * c.macs + (a.bias ? out : 0);
      return c;
    case OpKind::BatchNorm1d:
    case OpKind::BatchNorm2d:
      c.flops = 2 * out;
      return c;
    case OpKind::Relu:
    case OpKind::Add:
      c.flops = out;
      return c;
    case OpKind::MaxPool2d:
      c.flops = out * (a.kernel_size * a.kernel_size - 1);
      return c;
    case OpKind::AvgPool2d:
      c.flops = out * a.kernel_size * a.kernel_size;
      return c;
    case OpKind::AdaptiveAvgPool2d:
      c.flops = numel(n.meta.in_shapes.at(0));
      return c;
    case OpKind::Input:
    case OpKind::Output:
    case OpKind::Flatten:
    case OpKind::Dropout:
      return c;
  }
  CHOP_ASSERT(false, "unhandled op {}", static_cast<int>(n.op));
}

FlopCount count_flops(const ir::Graph& g) {
  FlopCount f;
  for (const auto& n : g.nodes()) {
    f.nodes.push_back(node_cost(n));
    f.macs += f.nodes.back().macs;
    f.flops += f.nodes.back().flops;
  }
  return f;
}

double model_size_bytes(const ir::Graph& g) {
  double bits = 0;
  for (const auto& n : g.nodes()) {
    if (has_weight(n.op)) {
      auto [w, b] = weight_bias_numel(n);
      bits += static_cast<double>(w) * quant::bits_of(n.meta.weight) +
              static_cast<double>(b) * quant::bits_of(n.meta.bias);
      continue;
    }
    bits += 32.0 * static_cast<double>(ir::node_param_count(n));
  }
  return bits / 8;
}

int64_t count_bops(const ir::Graph& g) {
  int64_t total = 0;
  for (const auto& n : g.nodes())
    if (has_weight(n.op))
      total += node_cost(n).macs * quant::bits_of(n.meta.weight) * quant::bits_of(n.meta.data_in);
  return total;
}

double average_bitwidth(const ir::Graph& g) {
  double weighted = 0, count = 0;
  for (const auto& n : g.nodes()) {
    if (n.op != OpKind::Linear || n.meta.weight.is_float32()) continue;
    double size = static_cast<double>(n.attrs.in_features * n.attrs.out_features);
    weighted += size * static_cast<double>(quant::bits_of(n.meta.weight));
    count += size;
  }
  return count == 0 ? 32.0 : weighted / count;
}

double average_bitwidth_all(const ir::Graph& g) {
  double weighted = 0, count = 0;
  auto add = [&](int64_t elements, const ir::Precision& p) {
    weighted += static_cast<double>(elements) * static_cast<double>(quant::bits_of(p));
    count += static_cast<double>(elements);
  };
  for (const auto& n : g.nodes()) {
    if (!has_weight(n.op)) continue;
    auto [w, b] = weight_bias_numel(n);
    add(w, n.meta.weight);
    add(b, n.meta.bias);
    add(numel(n.meta.in_shapes.at(0)), n.meta.data_in);
  }
  return count == 0 ? 32.0 : weighted / count;
}

double memory_density(const ir::Graph& g, double compare_to) {
  return compare_to / average_bitwidth(g);
}

std::string module_list(const ir::Graph& g) {
  std::vector<std::string> modules;
  for (const auto& n : g.nodes())
    if (*ir::op_torch_class(n.op)) modules.push_back(ir::torch_repr(n));
  return "[" + join(modules) + "]";
}

MemoryDensityOptions MemoryDensityOptions::read(OptionReader& r) {
  MemoryDensityOptions o;
  o.compare_to = r.get<double>("compare_to", o.compare_to, "bits of the reference format");
  CHOP_CHECK(o.compare_to > 0, ConfigError, "{}: compare_to must be positive, but got {}",
             r.owner(), o.compare_to);
  return o;
}

PassResult AddCommonMetadataPass::run(ir::Graph& g, const NoOptions&, PassContext&) const {
  g.infer_shapes();
  for (auto& n : g.nodes()) {
    nlohmann::json args = nlohmann::json::object();
    for (size_t i = 0; i < n.meta.in_shapes.size(); ++i)
      args["data_in_" + std::to_string(i)] = {{"shape", n.meta.in_shapes[i]},
                                              {"type", n.meta.data_in.type},
                                              {"precision", n.meta.data_in.widths}};
    if (has_weight(n.op)) {
      args["weight"] = precision_json(n.meta.weight);
      if (n.attrs.bias) args["bias"] = precision_json(n.meta.bias);
    }
    n.info["common"] = {{"mase_op", ir::op_name(n.op)},
                        {"args", args},
                        {"results",
                         {{"data_out_0",
                           {{"shape", n.meta.out_shape},
                            {"type", n.meta.data_out.type},
                            {"precision", n.meta.data_out.widths}}}}}};
  }
  return {fmt::format("common metadata added to {} nodes\n", g.size())};
}

PassResult AddSoftwareMetadataPass::run(ir::Graph& g, const NoOptions&, PassContext&) const {
  for (auto& n : g.nodes())
    if (!n.info.contains("software")) n.info["software"] = nlohmann::json::object();
  return {fmt::format("software metadata added to {} nodes\n", g.size())};
}

PassResult ReportGraphPass::run(ir::Graph& g, const NoOptions&, PassContext&) const {
  PassResult r;
  r.report = fmt::format("model {} (input {}): {} nodes, {} parameters\n{}\n", g.model_name(),
                         ir::shape_str(g.input_shape()), g.size(), g.count_params(), module_list(g));
  r.info["modules"] = module_list(g);
  return r;
}

PassResult ReportNodeTypePass::run(ir::Graph& g, const NoOptions&, PassContext&) const {
  Table t({"node", "mase_op", "module"});
  PassResult r;
  for (const auto& n : g.nodes()) {
    t.add_row({n.name, ir::op_name(n.op), *ir::op_torch_class(n.op) ? ir::op_torch_class(n.op) : "-"});
    r.info[n.name] = ir::op_name(n.op);
  }
  r.report = t.render();
  return r;
}

PassResult ReportNodeShapePass::run(ir::Graph& g, const NoOptions&, PassContext&) const {
  Table t({"node", "op", "inputs", "output"});
  PassResult r;
  for (const auto& n : g.nodes()) {
    std::vector<std::string> ins;
    for (const auto& s : n.meta.in_shapes) ins.push_back(ir::shape_str(s));
    t.add_row({n.name, ir::op_name(n.op), join(ins, " "), ir::shape_str(n.meta.out_shape)});
    r.info[n.name] = {{"in", n.meta.in_shapes}, {"out", n.meta.out_shape}};
  }
  r.report = t.render();
  return r;
}

PassResult ReportNodeMetaParamPass::run(ir::Graph& g, const NoOptions&, PassContext&) const {
  Table t({"node", "op", "data_in", "weight", "bias", "data_out", "statistics"});
  PassResult r;
  for (const auto& n : g.nodes()) {
    std::string stats = "-";
    if (n.info.contains("software") && n.info["software"].contains("statistics")) {
      std::vector<std::string> parts;
      for (const auto& [what, s] : n.info["software"]["statistics"].items())
        parts.push_back(fmt::format("{} [{}, {}]", what, g3(s.at("min").get<double>()),
                                    g3(s.at("max").get<double>())));
      stats = join(parts, "; ");
    }
    bool w = has_weight(n.op);
    t.add_row({n.name, ir::op_name(n.op), n.meta.data_in.to_string(),
               w ? n.meta.weight.to_string() : "-", w ? n.meta.bias.to_string() : "-",
               n.meta.data_out.to_string(), stats});
    r.info[n.name] = {{"data_in", n.meta.data_in.to_string()},
                      {"weight", n.meta.weight.to_string()},
                      {"bias", n.meta.bias.to_string()},
                      {"data_out", n.meta.data_out.to_string()}};
  }
  r.report = t.render();
  return r;
}

PassResult CountParamsPass::run(ir::Graph& g, const NoOptions&, PassContext&) const {
  Table t({"node", "module", "params"});
  PassResult r;
  for (const auto& n : g.nodes()) {
    int64_t p = ir::node_param_count(n);
    if (p == 0) continue;
    t.add_row({n.name, ir::torch_repr(n), std::to_string(p)});
    r.info["nodes"][n.name] = p;
  }
  r.info["total"] = g.count_params();
  r.report = t.render() + fmt::format("total parameters: {}\n", g.count_params());
  return r;
}

PassResult CountFlopsPass::run(ir::Graph& g, const NoOptions&, PassContext&) const {
  FlopCount f = count_flops(g);
  Table t({"node", "op", "MACs", "FLOPs"});
  PassResult r;
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    const auto& c = f.nodes[i];
    if (c.flops == 0) continue;
    t.add_row({c.name, ir::op_name(g.nodes()[i].op), std::to_string(c.macs), std::to_string(c.flops)});
    r.info["nodes"][c.name] = {{"macs", c.macs}, {"flops", c.flops}};
  }
  r.info["macs"] = f.macs;
  r.info["flops"] = f.flops;
  r.report = t.render() + fmt::format("total per sample: {} MACs, {} FLOPs\n", f.macs, f.flops);
  return r;
}

PassResult ModelSizePass::run(ir::Graph& g, const NoOptions&, PassContext&) const {
  PassResult r;
  double bytes = model_size_bytes(g);
  double float_bytes = 4.0 * static_cast<double>(g.count_params());
  r.info = {{"bytes", bytes}, {"float32_bytes", float_bytes}};
  r.report = fmt::format("model size: {} bytes at stored precision ({} bytes as float32, {:.2f}x)\n",
                         g3(bytes), g3(float_bytes), bytes > 0 ? float_bytes / bytes : 0.0);
  return r;
}

PassResult BopsPass::run(ir::Graph& g, const NoOptions&, PassContext&) const {
  PassResult r;
  int64_t bops = count_bops(g);
  r.info = {{"bops", bops}};
  r.report = fmt::format("bit operations per sample: {} (MACs x weight bits x input bits)\n", bops);
  return r;
}

PassResult AverageBitwidthPass::run(ir::Graph& g, const NoOptions&, PassContext&) const {
  PassResult r;
  double mase = average_bitwidth(g), all = average_bitwidth_all(g);
  r.info = {{"average_bitwidth", mase}, {"average_bitwidth_all", all}};
  r.report = fmt::format(
      "average_bitwidth: {} (MASE: weights of quantized Linears)\n"
      "average_bitwidth_all: {} (all Linear/Conv2d weights, biases and input activations)\n",
      g3(mase), g3(all));
  return r;
}

PassResult MemoryDensityPass::run(ir::Graph& g, const MemoryDensityOptions& o, PassContext&) const {
  PassResult r;
  double d = memory_density(g, o.compare_to);
  r.info = {{"memory_density", d}, {"compare_to", o.compare_to}};
  r.report = fmt::format("memory_density: {} ({} / average_bitwidth {})\n", g3(d), g3(o.compare_to),
                         g3(average_bitwidth(g)));
  return r;
}

}  // namespace chop::passes
