// Models declared in TOML: [model] name = "custom" with a list of layers.
#include "chop/models/custom_model.h"

#include <algorithm>

#include "chop/ir/serialize.h"
#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::models {

ir::Graph build_custom_model(const nlohmann::ordered_json& t) {
  static const std::vector<std::string> kTableKeys{"name", "input_shape", "prefix", "layers"};
  for (const auto& [key, value] : t.items())
    CHOP_CHECK(std::find(kTableKeys.begin(), kTableKeys.end(), key) != kTableKeys.end(),
               ConfigError, "[model]: unknown key '{}'; valid: {}", key, join(kTableKeys));
  CHOP_CHECK(t.contains("input_shape") && t["input_shape"].is_array(), ConfigError,
             "[model]: a custom model needs input_shape = [...] (e.g. [16] or [1, 28, 28])");
  CHOP_CHECK(t.contains("layers") && t["layers"].is_array() && !t["layers"].empty(), ConfigError,
             "[model]: a custom model needs a non-empty list of [[model.layers]]");
  ir::Shape input;
  for (const auto& d : t["input_shape"]) {
    CHOP_CHECK(d.is_number_integer() && d.get<int64_t>() > 0, ConfigError,
               "[model]: input_shape entries must be positive integers, but got {}", d.dump());
    input.push_back(d.get<int64_t>());
  }
  std::string prefix = t.value("prefix", "seq_blocks");
  ir::Graph g("custom", input);
  g.add("x", ir::OpKind::Input, {});
  g.infer_shapes();
  std::string prev = "x";
  int index = 0;
  for (const auto& layer : t["layers"]) {
    std::string where = fmt::format("[[model.layers]] #{}", index);
    CHOP_CHECK(layer.is_object() && layer.contains("op") && layer["op"].is_string(), ConfigError,
               "{}: each layer needs op = \"...\" (one of {})", where, join(ir::all_op_names()));
    ir::OpKind op = ir::parse_op(layer["op"].get<std::string>());
    CHOP_CHECK(op != ir::OpKind::Input && op != ir::OpKind::Output, ConfigError,
               "{}: input and output nodes are added by chop, not declared", where);
    std::string name = layer.value("name", prefix + "_" + std::to_string(index));
    std::vector<std::string> inputs{prev};
    ir::Attrs attrs;
    for (const auto& [key, value] : layer.items()) {
      if (key == "op" || key == "name") continue;
      if (key == "inputs") {
        inputs = value.get<std::vector<std::string>>();
        continue;
      }
      ir::set_attr(attrs, op, key, nlohmann::json::parse(value.dump()), name);
    }
    bool is_pool = op == ir::OpKind::MaxPool2d || op == ir::OpKind::AvgPool2d;
    if (is_pool && !layer.contains("stride")) attrs.stride = attrs.kernel_size;  // torch's default
    // Widths the previous layer fixes may be left out: in_features, in_channels, num_features.
    const ir::Node* from = g.find(inputs.empty() ? prev : inputs[0]);
    const ir::Shape& in = from ? from->meta.out_shape : ir::Shape{};
    auto infer = [&](const char* key, int64_t& width, size_t dim) {
      if (layer.contains(key) || in.size() <= dim) return;
      width = in[dim];
    };
    if (op == ir::OpKind::Linear) infer("in_features", attrs.in_features, in.size() - 1);
    if (op == ir::OpKind::Conv2d) infer("in_channels", attrs.in_channels, 0);
    if (op == ir::OpKind::BatchNorm1d || op == ir::OpKind::BatchNorm2d) infer("num_features", attrs.num_features, 0);
    g.add(name, op, inputs, attrs);
    g.infer_shapes();  // the next layer's widths come from this one's output
    prev = name;
    ++index;
  }
  g.add("output", ir::OpKind::Output, {prev});
  g.infer_shapes();
  return g;
}

}  // namespace chop::models
