// The quantize transform (MASE's format, by type or by name) and summarize_quantization.
#include "chop/passes/quantize.h"

#include <fmt/format.h>

#include <map>
#include <optional>

#include "chop/quant/format.h"
#include "chop/support/error.h"
#include "chop/support/strings.h"
#include "chop/support/table.h"

namespace chop::passes {
namespace {

using ir::OpKind;

const std::vector<std::string> kQuantizableTypes{"linear", "conv2d", "relu", "add"};

// An integer key that may be "NA" or absent (both: nullopt).
std::optional<int64_t> int_or_na(OptionReader& r, const std::string& key, const std::string& help) {
  r.document(key, help, "NA");
  const auto& t = r.table();
  if (!t.contains(key) || t[key] == "NA") return std::nullopt;
  CHOP_CHECK(t[key].is_number_integer(), ConfigError, "{}: {} must be an integer or \"NA\", but got {}",
             r.owner(), key, t[key].dump());
  return t[key].get<int64_t>();
}

const char* const kTensors[] = {"data_in", "weight", "bias"};
const char* const kScalingKeys[] = {"range", "power_of_two", "per_channel", "signed", "calibration_batches"};

// The scaling keys of one config table (shared by its three tensors).
ir::Scaling read_scaling(OptionReader& r, const std::string& name) {
  const auto& t = r.table();
  bool frac_given = false, frac_key = false;
  for (const char* tensor : kTensors) {
    std::string key = std::string(tensor) + "_frac_width";
    frac_key = frac_key || t.contains(key);
    frac_given = frac_given || (t.contains(key) && t[key] != "NA");
  }
  ir::Scaling s;
  std::string kind = r.get<std::string>(
      "scaling", frac_key ? "frac" : "stats",
      "integer: frac (MASE: the given *_frac_width), stats (power-of-two scale from the range), "
      "learned (LSQ step); default frac when a frac width key is given, else stats",
      {"frac", "stats", "learned"});
  r.document("range", "stats/learned inputs: \"minmax\" or the quantile of |x| taken as the range", "minmax");
  const nlohmann::ordered_json range = t.contains("range") ? t["range"] : nlohmann::ordered_json();
  s.power_of_two = r.get<bool>("power_of_two", s.power_of_two, "stats/learned: scales are powers of two (shifts)");
  s.per_channel = r.get<bool>("per_channel", s.per_channel, "stats/learned: one weight scale per output channel");
  r.document("signed", "stats/learned: \"auto\" (unsigned after a ReLU) or true (always signed)", "auto");
  const nlohmann::ordered_json sign = t.contains("signed") ? t["signed"] : nlohmann::ordered_json();
  s.calibration_batches = r.get<int64_t>("calibration_batches", s.calibration_batches,
                                         "stats/learned: training batches observed before the first step");
  if (name == "NA") return s;  // not quantized: a searched "NA" may sit beside scaling choices
  if (name != "integer" || kind == "frac") {
    for (const char* key : kScalingKeys)
      CHOP_CHECK(!t.contains(key), ConfigError, "{}: {} applies to scaling = \"stats\" or \"learned\" only{}",
                 r.owner(), key, name == "integer" ? " (this table's scaling is \"frac\", MASE's)" : "");
    CHOP_CHECK(name == "integer" || !t.contains("scaling"), ConfigError,
               "{}: scaling applies to the integer format only", r.owner());
    return s;
  }
  s.kind = kind == "stats" ? ir::Scaling::Kind::Stats : ir::Scaling::Kind::Learned;
  CHOP_CHECK(!frac_given, ConfigError,
             "{}: scaling = \"{}\" takes its scale from the data, so a *_frac_width cannot be "
             "given (remove it, or use scaling = \"frac\")", r.owner(), kind);
  if (!range.is_null() && range != "minmax") {
    CHOP_CHECK(range.is_number() && range.get<double>() > 0 && range.get<double>() <= 1, ConfigError,
               "{}: range must be \"minmax\" or a quantile in (0, 1] such as 0.999, but got {}",
               r.owner(), range.dump());
    s.range = range.get<double>();
  }
  if (!sign.is_null()) {
    CHOP_CHECK(sign == "auto" || sign.is_boolean(), ConfigError,
               "{}: signed must be \"auto\" or true, but got {}", r.owner(), sign.dump());
    CHOP_CHECK(sign != false, ConfigError,
               "{}: signed = false is not supported: weights and biases are signed; \"auto\" makes "
               "inputs after a ReLU unsigned", r.owner());
    s.auto_sign = sign == "auto";
  }
  CHOP_CHECK(s.calibration_batches >= 1, ConfigError, "{}: calibration_batches must be >= 1, but got {}",
             r.owner(), s.calibration_batches);
  return s;
}

ir::Precision read_tensor(OptionReader& r, const std::string& name, const std::string& t,
                          const ir::Scaling& scaling) {
  auto width = int_or_na(r, t + "_width", "bits of " + t + " (NA: stays float32)");
  auto frac = int_or_na(r, t + "_frac_width", "integer, frac scaling: fraction bits of " + t + " (NA: width // 2)");
  auto exp = int_or_na(r, t + "_exponent_width", "minifloat: exponent bits of " + t);
  auto bias = int_or_na(r, t + "_exponent_bias", "minifloat: exponent bias of " + t + " (NA: 2^(e-1) - 1)");
  if (width) CHOP_CHECK(*width >= 1, ConfigError, "{}: {}_width must be >= 1 (or \"NA\": not quantized), but got {}",
                        r.owner(), t, *width);
  if (!width || name == "NA") return {};
  ir::Precision p;
  if (name == "integer") {
    p = scaling.kind == ir::Scaling::Kind::Frac ? quant::integer_precision(*width, frac ? *frac : *width / 2)
                                                : quant::scaled_integer_precision(*width, scaling);
  } else {
    CHOP_CHECK(exp && *exp >= 1, ConfigError, "{}: minifloat needs {}_exponent_width >= 1", r.owner(), t);
    p = quant::minifloat_precision(*width, *exp, bias ? *bias : quant::default_exponent_bias(*exp));
  }
  quant::check_precision(p, r.owner() + " " + t);
  return p;
}

// One `<target> = { config = {...} }` entry; the default's docs go to `parent`.
QuantConfig read_target(OptionReader& parent, const std::string& key) {
  const auto& t = parent.table();
  const nlohmann::ordered_json& entry = t.contains(key) ? t[key] : nlohmann::ordered_json::object();
  CHOP_CHECK(entry.is_object(), ConfigError, "{} must be a table", parent.child(key));
  for (const auto& item : entry.items())
    CHOP_CHECK(item.key() == "config", ConfigError, "{}",
               unknown_name_message("key of " + parent.child(key), item.key(), {"config"}));
  OptionReader r(entry.value("config", nlohmann::ordered_json::object()), parent.child(key + ".config"));
  QuantConfig c;
  c.name = r.get<std::string>("name", c.name, "number format (NA: not quantized)",
                        {"integer", "minifloat", "NA"});
  c.bypass = r.get<bool>("bypass", c.bypass, "leave the node unquantized");
  ir::Scaling scaling = read_scaling(r, c.name);
  c.data_in = read_tensor(r, c.name, "data_in", scaling);
  c.weight = read_tensor(r, c.name, "weight", scaling);
  c.bias = read_tensor(r, c.name, "bias", scaling);
  r.finish();
  if (key == "default")
    for (const auto& d : r.docs()) parent.document("<target>.config." + d.key, d.help, d.default_value);
  return c;
}

// Sets one tensor's precision, recording the change.
bool set_precision(ir::Node& n, const char* tensor, ir::Precision& slot, const ir::Precision& p) {
  if (slot == p) return false;
  n.info["quantize"][tensor] = {{"from", slot.to_string()}, {"to", p.to_string()}};
  slot = p;
  return true;
}

}  // namespace

QuantizeOptions QuantizeOptions::read(OptionReader& r) {
  QuantizeOptions o;
  o.by = r.get<std::string>("by", o.by, "what target tables name: op types or node names", {"type", "name"});
  o.report = r.get<bool>("report", o.report, "append summarize_quantization's table to the report");
  r.document("default", "a table whose config applies to every quantizable node not targeted");
  o.default_config = read_target(r, "default");
  for (const auto& key : r.take_rest()) {
    CHOP_CHECK(r.table()[key].is_object(), ConfigError, "{}",
               unknown_name_message("option of " + r.owner(), key, {"by", "report", "default"}) +
                   " (or a table named after an op type or node)");
    if (o.by == "type")
      CHOP_CHECK(std::find(kQuantizableTypes.begin(), kQuantizableTypes.end(), key) !=
                     kQuantizableTypes.end(),
                 ConfigError, "{} has by = \"type\": '{}' is not an op chop quantizes ({})",
                 r.owner(), key, join(kQuantizableTypes));
    o.targets.emplace_back(key, read_target(r, key));
  }
  return o;
}

std::vector<std::string> quantize_graph(ir::Graph& g, const QuantizeOptions& o) {
  std::map<std::string, const QuantConfig*> by_key;
  for (const auto& [key, config] : o.targets) {
    by_key[key] = &config;
    if (o.by != "name") continue;
    const ir::Node& n = g.node(key);
    CHOP_CHECK(ir::op_quantizable(n.op), GraphError,
               "quantize: node '{}' is a {}; chop quantizes {}", key, ir::op_name(n.op),
               join(kQuantizableTypes));
  }
  std::vector<std::string> changed;
  for (auto& n : g.nodes()) {
    if (!ir::op_quantizable(n.op)) continue;
    auto it = by_key.find(o.by == "name" ? n.name : ir::op_name(n.op));
    const QuantConfig& c = it == by_key.end() ? o.default_config : *it->second;
    if (!c.applies()) continue;
    bool any = set_precision(n, "data_in", n.meta.data_in, c.data_in);
    if (n.op == OpKind::Linear || n.op == OpKind::Conv2d) {
      any = set_precision(n, "weight", n.meta.weight, c.weight) || any;
      if (n.attrs.bias) any = set_precision(n, "bias", n.meta.bias, c.bias) || any;
    }
    if (any) changed.push_back(n.name);
  }
  return changed;
}

PassResult QuantizePass::run(ir::Graph& g, const QuantizeOptions& o, PassContext& ctx) const {
  std::vector<std::string> changed = quantize_graph(g, o);
  PassResult r;
  r.changed = changed.empty() ? 0u : unsigned{kPrecision};
  r.info["changed"] = changed;
  r.report = fmt::format("quantized {} node(s){}{}\n", changed.size(), changed.empty() ? "" : ": ",
                         join(changed));
  if (o.report) r.report += SummarizeQuantizationPass{}.run(g, {}, ctx).report;
  return r;
}

PassResult SummarizeQuantizationPass::run(ir::Graph& g, const NoOptions&, PassContext&) const {
  Table nodes({"node", "op", "tensor", "from", "to"});
  std::map<std::string, std::pair<int, int>> per_op;  // op -> (total, changed)
  PassResult r;
  for (const auto& n : g.nodes()) {
    if (!ir::op_quantizable(n.op)) continue;
    auto& counts = per_op[ir::op_name(n.op)];
    ++counts.first;
    if (!n.info.contains("quantize")) continue;
    ++counts.second;
    for (const auto& [tensor, change] : n.info["quantize"].items()) {
      nodes.add_row({n.name, ir::op_name(n.op), tensor, change["from"], change["to"]});
      r.info["nodes"][n.name][tensor] = change["to"];
    }
  }
  Table ops({"op", "total", "changed", "unchanged"});
  for (const auto& [op, c] : per_op) {
    ops.add_row({op, std::to_string(c.first), std::to_string(c.second), std::to_string(c.first - c.second)});
    r.info["ops"][op] = {{"total", c.first}, {"changed", c.second}};
  }
  r.report = ops.render() + nodes.render();
  return r;
}

}  // namespace chop::passes
