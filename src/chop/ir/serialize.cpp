// Graph <-> JSON, lossless: graph_from_json(graph_to_json(g)) == g.
#include "chop/ir/serialize.h"

#include <algorithm>
#include <variant>

#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::ir {
namespace {

using Field = std::variant<int64_t Attrs::*, bool Attrs::*, double Attrs::*>;

Field field(const std::string& key) {
  if (key == "in_features") return &Attrs::in_features;
  if (key == "out_features") return &Attrs::out_features;
  if (key == "in_channels") return &Attrs::in_channels;
  if (key == "out_channels") return &Attrs::out_channels;
  if (key == "kernel_size") return &Attrs::kernel_size;
  if (key == "stride") return &Attrs::stride;
  if (key == "padding") return &Attrs::padding;
  if (key == "num_features") return &Attrs::num_features;
  if (key == "output_size") return &Attrs::output_size;
  if (key == "start_dim") return &Attrs::start_dim;
  if (key == "end_dim") return &Attrs::end_dim;
  if (key == "bias") return &Attrs::bias;
  if (key == "inplace") return &Attrs::inplace;
  if (key == "eps") return &Attrs::eps;
  if (key == "momentum") return &Attrs::momentum;
  if (key == "p") return &Attrs::p;
  CHOP_ASSERT(false, "attribute key {} has no field", key);
}

// MASE's {type, precision}; a stats or learned integer adds its scaling (a frac one does not,
// so graphs of MASE's formats serialize as before).
nlohmann::json precision_json(const Precision& p) {
  nlohmann::json j = {{"type", p.type}, {"precision", p.widths}};
  if (p.is_scaled()) {
    const Scaling& s = p.scaling;
    j["scaling"] = {{"kind", scaling_name(s.kind)},     {"range", s.range},
                    {"power_of_two", s.power_of_two},   {"per_channel", s.per_channel},
                    {"auto_sign", s.auto_sign},         {"calibration_batches", s.calibration_batches}};
  }
  return j;
}

/// An integer as stored; a float (3e29 does not fit an int64_t) or anything else is malformed.
int64_t integer(const nlohmann::json& v, const char* key) {
  CHOP_CHECK(v.is_number_integer(), GraphError, "'{}' must be an integer, but got {}", key, v.dump());
  return v.get<int64_t>();
}

std::vector<int64_t> integers(const nlohmann::json& v, const char* key) {
  CHOP_CHECK(v.is_array(), GraphError, "'{}' must be a list of integers, but got {}", key, v.dump());
  std::vector<int64_t> out;
  for (const auto& x : v) out.push_back(integer(x, key));
  return out;
}

Precision precision_from(const nlohmann::json& j) {
  Precision p;
  p.type = j.at("type").get<std::string>();
  p.widths = integers(j.at("precision"), "precision");
  if (j.contains("scaling")) {
    const auto& s = j.at("scaling");
    std::string kind = s.at("kind").get<std::string>();
    CHOP_CHECK(kind == "stats" || kind == "learned", GraphError,
               "precision scaling must be stats or learned, but got '{}'", kind);
    p.scaling.kind = kind == "stats" ? Scaling::Kind::Stats : Scaling::Kind::Learned;
    p.scaling.range = s.at("range").get<double>();
    p.scaling.power_of_two = s.at("power_of_two").get<bool>();
    p.scaling.per_channel = s.at("per_channel").get<bool>();
    p.scaling.auto_sign = s.at("auto_sign").get<bool>();
    p.scaling.calibration_batches = integer(s.at("calibration_batches"), "calibration_batches");
  }
  return p;
}

}  // namespace

void set_attr(Attrs& attrs, OpKind op, const std::string& key, const nlohmann::json& value,
              const std::string& node_name) {
  const auto& keys = attr_keys(op);
  CHOP_CHECK(std::find(keys.begin(), keys.end(), key) != keys.end(), GraphError,
             "node '{}' ({}): unknown attribute '{}'; valid: {}", node_name, op_name(op), key,
             keys.empty() ? "none" : join(keys));
  std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(attrs.*member)>;
        bool ok = std::is_same_v<T, bool> ? value.is_boolean()
                  : std::is_same_v<T, int64_t> ? value.is_number_integer()
                                               : value.is_number();
        CHOP_CHECK(ok, GraphError, "node '{}': attribute '{}' must be {}, but got {}", node_name,
                   key,
                   std::is_same_v<T, bool> ? "a boolean"
                   : std::is_same_v<T, int64_t> ? "an integer"
                                                : "a number",
                   value.dump());
        attrs.*member = value.get<T>();
      },
      field(key));
}

nlohmann::json graph_to_json(const Graph& g) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& n : g.nodes()) {
    nlohmann::json attrs = nlohmann::json::object();
    for (const auto& key : attr_keys(n.op))
      std::visit([&](auto member) { attrs[key] = n.attrs.*member; }, field(key));
    nodes.push_back({{"name", n.name},
                     {"op", op_name(n.op)},
                     {"inputs", n.inputs},
                     {"attrs", attrs},
                     {"meta",
                      {{"data_in", precision_json(n.meta.data_in)},
                       {"weight", precision_json(n.meta.weight)},
                       {"bias", precision_json(n.meta.bias)},
                       {"data_out", precision_json(n.meta.data_out)}}},
                     {"info", n.info}});
  }
  return {{"format", "chop-graph"},
          {"version", 1},
          {"model", g.model_name()},
          {"input_shape", g.input_shape()},
          {"nodes", nodes}};
}

Graph graph_from_json(const nlohmann::json& j) {
  std::string where = "graph";
  try {
    CHOP_CHECK(j.is_object() && j.value("format", "") == "chop-graph", GraphError,
               "not a chop graph (missing \"format\": \"chop-graph\")");
    Graph g(j.at("model").get<std::string>(), integers(j.at("input_shape"), "input_shape"));
    for (const auto& jn : j.at("nodes")) {
      where = "node '" + jn.at("name").get<std::string>() + "'";
      OpKind op = parse_op(jn.at("op").get<std::string>());
      Attrs attrs;
      const nlohmann::json attrs_json = jn.value("attrs", nlohmann::json::object());
      for (const auto& [key, value] : attrs_json.items())
        set_attr(attrs, op, key, value, jn.at("name").get<std::string>());
      Node& n = g.add(jn.at("name").get<std::string>(), op,
                      jn.at("inputs").get<std::vector<std::string>>(), attrs);
      if (jn.contains("meta")) {
        const auto& m = jn.at("meta");
        n.meta.data_in = precision_from(m.at("data_in"));
        n.meta.weight = precision_from(m.at("weight"));
        n.meta.bias = precision_from(m.at("bias"));
        n.meta.data_out = precision_from(m.at("data_out"));
      }
      n.info = jn.value("info", nlohmann::json::object());
    }
    g.infer_shapes();
    return g;
  } catch (const nlohmann::json::exception& e) {
    throw GraphError(fmt::format("malformed graph JSON at {}: {}", where, e.what()));
  }
}

}  // namespace chop::ir
