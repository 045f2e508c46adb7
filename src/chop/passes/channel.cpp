// Channel-width transform (lab 4's redefine_linear): per-layer multipliers that propagate.
#include "chop/passes/channel.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::passes {
namespace {

using ir::OpKind;

const std::vector<std::string> kLayerNames{"output_only", "both", "input_only", "NA"};

// One `<layer> = { config = {...} }` entry; its config docs go to `docs` under "default.config.".
ChannelLayerConfig read_layer(OptionReader& docs, const std::string& key) {
  const nlohmann::ordered_json& entry = docs.table().contains(key) ? docs.table()[key] : nlohmann::ordered_json::object();
  CHOP_CHECK(entry.is_object(), ConfigError, "{} must be a table", docs.child(key));
  for (const auto& item : entry.items())
    CHOP_CHECK(item.key() == "config", ConfigError, "{}",
               unknown_name_message("key of " + docs.child(key), item.key(), {"config"}));
  OptionReader r(entry.value("config", nlohmann::ordered_json::object()), docs.child(key + ".config"));
  ChannelLayerConfig c;
  c.name = r.get<std::string>("name", c.name, "which widths change (NA: none)", kLayerNames);
  c.channel_multiplier = r.get<double>("channel_multiplier", c.channel_multiplier,
                                      "factor applied to the output width (> 0)");
  c.parent = r.get<std::string>("parent", "", "MASE's producer layer; accepted, widths propagate anyway");
  r.finish();
  CHOP_CHECK(c.channel_multiplier > 0, ConfigError,
             "{}: channel_multiplier must be > 0, but got {}", r.owner(), c.channel_multiplier);
  if (key == "default")
    for (const auto& d : r.docs()) docs.document("<layer>.config." + d.key, d.help, d.default_value);
  return c;
}

bool is_width_layer(OpKind op) { return op == OpKind::Linear || op == OpKind::Conv2d; }

/// The widest layer a channel multiplier may make (2^24 channels; the check also keeps the
/// conversion to int64_t defined: fuzzing found a multiplier of 4e89).
constexpr double kMaxWidth = double(int64_t{1} << 24);

int64_t scale_width(int64_t width, double m, const std::string& node) {
  double w = static_cast<double>(width) * m;
  CHOP_CHECK(std::fabs(w - std::round(w)) < 1e-9 && std::round(w) >= 1, GraphError,
             "node '{}': width {} x channel_multiplier {} = {} is not a positive whole number",
             node, width, m, w);
  CHOP_CHECK(w <= kMaxWidth, GraphError, "node '{}': width {} x channel_multiplier {} = {} exceeds {} channels",
             node, width, m, w, static_cast<int64_t>(kMaxWidth));
  return static_cast<int64_t>(std::round(w));
}

}  // namespace

ChannelOptions ChannelOptions::read(OptionReader& r) {
  ChannelOptions o;
  o.by = r.get<std::string>("by", o.by, "what the layer keys name: node names or op types", {"name", "type"});
  o.inherit = r.get<bool>("inherit", o.inherit,
                         "copy the overlapping part of trained weights into resized tensors");
  r.document("default", "a table whose config applies to every Linear/Conv2d not named");
  o.default_config = read_layer(r, "default");
  for (const auto& key : r.take_rest()) {
    CHOP_CHECK(r.table()[key].is_object(), ConfigError, "{}",
               unknown_name_message("option of " + r.owner(), key, {"by", "inherit", "default"}) +
                   " (or a table named after a layer)");
    CHOP_CHECK(o.by == "name" || key == "linear" || key == "conv2d", ConfigError,
               "{} has by = \"type\", so its layer tables must be named linear or conv2d, but got '{}'",
               r.owner(), key);
    o.layers.emplace_back(key, read_layer(r, key));
  }
  return o;
}

ChannelOptions& ChannelOptions::with_output_multiplier(const std::string& layer, double multiplier) {
  CHOP_CHECK(multiplier > 0, ConfigError, "channel_multiplier must be > 0, but got {}", multiplier);
  ChannelLayerConfig c;
  c.name = "output_only";
  c.channel_multiplier = multiplier;
  for (auto& [name, config] : layers)
    if (name == layer) {
      config = c;
      return *this;
    }
  layers.emplace_back(layer, c);
  return *this;
}

std::vector<std::string> redefine_channels(ir::Graph& g, const ChannelOptions& o) {
  std::map<std::string, const ChannelLayerConfig*> by_key;
  for (const auto& [key, config] : o.layers) {
    by_key[key] = &config;
    if (o.by != "name") continue;
    const ir::Node& n = g.node(key);  // GraphError naming the known nodes
    CHOP_CHECK(is_width_layer(n.op), GraphError,
               "redefine_linear: node '{}' is a {}, but only linear and conv2d layers have a "
               "channel width to change", key, ir::op_name(n.op));
    if (!config.parent.empty()) g.node(config.parent);
  }
  const ir::Shape old_output = g.nodes().back().meta.out_shape;
  std::vector<std::string> changed;
  for (auto& n : g.nodes()) {
    ir::Attrs before = n.attrs;
    std::vector<ir::Shape> in;
    for (const auto& name : n.inputs) in.push_back(g.node(name).meta.out_shape);
    ir::Attrs& a = n.attrs;
    const ChannelLayerConfig* config = &o.default_config;
    auto it = by_key.find(o.by == "name" ? n.name : ir::op_name(n.op));
    if (it != by_key.end()) config = it->second;
    switch (n.op) {
      case OpKind::Linear:
        a.in_features = in[0].back();
        if (config->scales_output())
          a.out_features = scale_width(a.out_features, config->channel_multiplier, n.name);
        break;
      case OpKind::Conv2d:
        a.in_channels = in[0].at(0);
        if (config->scales_output())
          a.out_channels = scale_width(a.out_channels, config->channel_multiplier, n.name);
        break;
      case OpKind::BatchNorm1d:
      case OpKind::BatchNorm2d:
        a.num_features = in[0].at(0);
        break;
      case OpKind::Input:
      case OpKind::Output:
      case OpKind::Relu:
      case OpKind::MaxPool2d:
      case OpKind::AvgPool2d:
      case OpKind::AdaptiveAvgPool2d:
      case OpKind::Flatten:
      case OpKind::Dropout:
      case OpKind::Add:
        break;
    }
    n.meta.in_shapes = in;
    n.meta.out_shape = ir::infer_node_shape(n, in, g.input_shape());
    if (a != before) changed.push_back(n.name);
  }
  const ir::Shape& new_output = g.nodes().back().meta.out_shape;
  CHOP_CHECK(new_output == old_output, GraphError,
             "redefine_linear would change the model's output from {} to {}; give the last "
             "layer name = \"input_only\"", ir::shape_str(old_output), ir::shape_str(new_output));
  return changed;
}

PassResult RedefineLinearPass::run(ir::Graph& g, const ChannelOptions& o, PassContext& ctx) const {
  std::vector<std::string> before;
  for (const auto& n : g.nodes()) before.push_back(ir::torch_repr(n));
  std::vector<std::string> changed = redefine_channels(g, o);
  PassResult r;
  r.changed = changed.empty() ? 0u : unsigned{kWidths | kWeights};
  if (o.inherit) ctx.inherit_resized_weights = true;
  r.info["changed"] = changed;
  r.info["inherit"] = o.inherit;
  for (const auto& name : changed)
    r.report += fmt::format("{}: {} -> {}\n", name, before[g.index_of(name)], ir::torch_repr(g.node(name)));
  if (changed.empty()) r.report = "no layer width changed\n";
  r.report += fmt::format("parameters: {}\n", g.count_params());
  return r;
}

}  // namespace chop::passes
