// `chop graph MODEL`: the layer table of a model with shapes and parameter counts.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "chop/data/registry.h"
#include "chop/interchange/onnx_import.h"
#include "chop/ir/serialize.h"
#include "chop/models/custom_model.h"
#include "chop/models/zoo.h"
#include "chop/runtime/checkpoint.h"
#include "chop/support/error.h"
#include "chop/support/table.h"
#include "chop/support/toml.h"
#include "commands.h"

namespace chop::cli {

ir::Shape parse_shape(const std::string& text) {
  ir::Shape shape;
  std::string item;
  auto flush = [&] {
    CHOP_CHECK(!item.empty(), ConfigError, "--input-shape '{}' is not a list of sizes like 16 or 1,28,28", text);
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    CHOP_CHECK(used == item.size() && v > 0, ConfigError,
               "--input-shape '{}': '{}' is not a positive size", text, item);
    shape.push_back(v);
    item.clear();
  };
  for (char c : text) {
    if (c == ',' || c == 'x') flush();
    else if (c != ' ' && c != '[' && c != ']') item += c;
  }
  flush();
  return shape;
}

namespace {

struct GraphArgs {
  std::string model;
  std::string input_shape;
  std::string dataset;
  std::string config;
  std::string load;
  std::string model_file;
  int64_t num_classes = 0;
  bool json = false;
};

ir::Graph make_graph(const GraphArgs& a) {
  if (!a.config.empty()) {
    auto config = load_toml(a.config);
    if (config.contains("model") && config["model"].is_object())
      return models::build_custom_model(config["model"]);
  }
  CHOP_CHECK(a.dataset.empty() || a.input_shape.empty(), ConfigError,
             "give --dataset or --input-shape, not both");
  if (!a.model_file.empty()) {
    interchange::ImportOptions o;
    if (!a.dataset.empty()) o.input_shape = data::dataset_info(a.dataset).input_shape;
    if (!a.input_shape.empty()) o.input_shape = parse_shape(a.input_shape);
    return interchange::import_model(a.model_file, o)->graph();
  }
  models::ModelOptions options;
  if (!a.dataset.empty()) {
    auto info = data::dataset_info(a.dataset);
    options.input_shape = info.input_shape;
    options.num_classes = info.num_classes;
  }
  if (!a.input_shape.empty()) options.input_shape = parse_shape(a.input_shape);
  if (a.num_classes) options.num_classes = a.num_classes;
  return models::build_model(a.model, options);
}

void print_graph(const ir::Graph& g) {
  Table t({"node", "op", "module", "input", "output", "params"});
  for (const auto& n : g.nodes()) {
    std::string in = n.meta.in_shapes.empty() ? "" : ir::shape_str(n.meta.in_shapes[0]);
    t.add_row({n.name, ir::op_name(n.op), ir::torch_repr(n), in, ir::shape_str(n.meta.out_shape),
               std::to_string(ir::node_param_count(n))});
  }
  std::cout << fmt::format("model {} (input {})\n", g.model_name(), ir::shape_str(g.input_shape()));
  std::cout << t.render();
  std::cout << fmt::format("total parameters: {}\n", g.count_params());
}

std::string scale_text(const nlohmann::ordered_json& v) {
  if (!v.is_array()) return fmt::format("{:.6g}", v.get<double>());
  std::vector<double> xs = v.get<std::vector<double>>();
  auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
  return fmt::format("{} channels, {:.6g}..{:.6g}", xs.size(), *lo, *hi);
}

std::string frac_text(const nlohmann::ordered_json& v) {
  if (v.is_null()) return "-";
  if (!v.is_array()) return std::to_string(v.get<int64_t>());
  std::vector<int64_t> xs = v.get<std::vector<int64_t>>();
  auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
  return *lo == *hi ? std::to_string(*lo) : fmt::format("{}..{}", *lo, *hi);
}

/// The quantized tensors of a checkpoint: precision and the scale each ended with.
void print_scales(const ir::Graph& g, const nlohmann::ordered_json& scales) {
  if (scales.empty()) return;
  Table t({"node", "tensor", "precision", "scale", "frac_width", "signed"});
  for (const auto& [node, tensors] : scales.items()) {
    const ir::Node& n = g.node(node);
    for (const auto& [tensor, s] : tensors.items()) {
      const ir::Precision& p = tensor == "data_in" ? n.meta.data_in : tensor == "weight" ? n.meta.weight : n.meta.bias;
      t.add_row({node, tensor, p.to_string(), scale_text(s["scale"]),
                 frac_text(s.contains("frac_width") ? s["frac_width"] : nlohmann::ordered_json()),
                 s["signed"].get<bool>() ? "yes" : "no"});
    }
  }
  std::cout << "quantization (scale = 2^-frac_width):\n" << t.render();
}

}  // namespace

void add_graph_command(CLI::App& app) {
  auto a = std::make_shared<GraphArgs>();
  auto* cmd = app.add_subcommand("graph", "Show a model's layers with shapes and parameter counts");
  cmd->add_option("model", a->model, "Zoo model name (see `chop list models`)");
  cmd->add_option("--dataset", a->dataset, "Shape the model for this data set (see `chop list datasets`)");
  cmd->add_option("--input-shape", a->input_shape, "Input shape without batch, e.g. 16 or 1,28,28");
  cmd->add_option("--num-classes", a->num_classes, "Number of output classes");
  cmd->add_option("--config", a->config, "TOML file with a [model] table (custom model)");
  cmd->add_option("--model-file", a->model_file, "Your own model: TorchScript (.pt) or ONNX (.onnx)");
  cmd->add_option("--load", a->load, "A chop checkpoint: its graph, and the scale of every quantized tensor");
  cmd->add_flag("--json", a->json, "Print the graph as JSON instead of a table");
  cmd->callback([a] {
    CHOP_CHECK(!a->model.empty() || !a->config.empty() || !a->load.empty() || !a->model_file.empty(), ConfigError,
               "chop graph needs a MODEL name (see `chop list models`), --config with a [model] "
               "table, --model-file FILE.pt or --load CKPT");
    if (!a->load.empty()) {
      auto m = runtime::load_checkpoint(a->load);
      CHOP_CHECK(a->model.empty() || a->model == m->graph().model_name(), ConfigError,
                 "checkpoint '{}' holds model '{}', not '{}'", a->load, m->graph().model_name(), a->model);
      auto scales = m->quantization_scales();
      if (a->json) {
        auto j = nlohmann::ordered_json::parse(ir::graph_to_json(m->graph()).dump());
        if (!scales.empty()) j["quantization_scales"] = scales;
        std::cout << j.dump(2) << "\n";
        return;
      }
      print_graph(m->graph());
      print_scales(m->graph(), scales);
      return;
    }
    ir::Graph g = make_graph(*a);
    g.lint();
    if (a->json)
      std::cout << ir::graph_to_json(g).dump(2) << "\n";
    else
      print_graph(g);
  });
}

}  // namespace chop::cli
