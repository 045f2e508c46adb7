// Search spaces over graph transforms: each trial's choices become `[passes]` tables.
#include "chop/flow/search_space.h"

#include <algorithm>
#include <set>

#include "chop/passes/quantize.h"
#include "chop/support/error.h"
#include "chop/support/option_reader.h"
#include "chop/support/strings.h"

namespace chop::flow {
namespace {

using Json = nlohmann::ordered_json;
using Params = std::vector<std::pair<std::string, std::vector<nlohmann::json>>>;

search::ParamValue to_param(const nlohmann::json& v, const std::string& key) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return v.get<std::string>();
  throw ConfigError(fmt::format("search space: choice {} of '{}' must be a number, string or boolean",
                                v.dump(), key));
}

nlohmann::json from_param(const search::ParamValue& v) {
  return std::visit([](const auto& x) { return nlohmann::json(x); }, v);
}

}  // namespace

nlohmann::ordered_json SearchSpace::sample(search::Trial& trial) const {
  return choose([&](const std::string& name, const std::vector<search::ParamValue>& choices) {
    return trial.suggest_categorical(name, choices);
  });
}

nlohmann::ordered_json SearchSpace::tables(const std::map<std::string, search::ParamValue>& params) const {
  return choose([&](const std::string& name, const std::vector<search::ParamValue>& choices) {
    auto it = params.find(name);
    CHOP_CHECK(it != params.end(), ConfigError, "the configuration has no value for parameter '{}'", name);
    CHOP_CHECK(std::find(choices.begin(), choices.end(), it->second) != choices.end(), ConfigError,
               "parameter '{}' = {} is not one of its choices", name, from_param(it->second).dump());
    return it->second;
  });
}

search::SearchSpace SearchSpace::distributions() const {
  search::SearchSpace out;
  for (const auto& [name, choices] : parameters()) {
    std::vector<search::ParamValue> values;
    for (const auto& c : choices) values.push_back(to_param(c, name));
    out.emplace(name, search::Distribution::categorical(values));
  }
  return out;
}

namespace {

/// MASE's seed tables: seed.<entry>.config.<key> = [choices]; lists of one are fixed.
class SeedChoices {
 public:
  SeedChoices(const Json& seed, const std::string& where) {
    for (const auto& [entry, table] : seed.items()) {
      CHOP_CHECK(table.is_object() && table.contains("config") && table["config"].is_object(),
                 ConfigError, "{}.{} needs a [{}.{}.config] table", where, entry, where, entry);
      for (const auto& [key, value] : table.items())
        CHOP_CHECK(key == "config", ConfigError, "{}.{}: unknown key '{}'; valid: config", where,
                   entry, key);
      Entry e{entry, {}};
      for (const auto& [key, value] : table["config"].items()) {
        nlohmann::json choices = nlohmann::json::parse(value.dump());
        if (!choices.is_array()) choices = nlohmann::json::array({choices});
        CHOP_CHECK(!choices.empty(), ConfigError, "{}.{}.config.{} has no choices", where, entry, key);
        for (const auto& c : choices) to_param(c, key);
        e.keys.emplace_back(key, choices);
      }
      entries_.push_back(std::move(e));
    }
  }

  /// The config tables of pick's choices: {entry: {config: {key: value}}}.
  Json sample(const SearchSpace::Pick& pick) const {
    Json out = Json::object();
    for (const auto& e : entries_) {
      Json config = Json::object();
      for (const auto& [key, choices] : e.keys) {
        if (choices.size() == 1) {
          config[key] = Json::parse(choices[0].dump());
          continue;
        }
        std::vector<search::ParamValue> values;
        for (const auto& c : choices) values.push_back(to_param(c, key));
        config[key] = Json::parse(from_param(pick(param_name(e.name, key), values)).dump());
      }
      out[e.name] = {{"config", config}};
    }
    return out;
  }

  Params parameters() const {
    Params p;
    for (const auto& e : entries_)
      for (const auto& [key, choices] : e.keys)
        if (choices.size() > 1)
          p.emplace_back(param_name(e.name, key), std::vector<nlohmann::json>(choices.begin(), choices.end()));
    return p;
  }

  /// Every combination of an entry's choices as a config table (at most `cap`; past that,
  /// each choice once with the other keys at their first choice).
  std::vector<std::pair<std::string, Json>> combinations(size_t cap = 4096) const {
    std::vector<std::pair<std::string, Json>> out;
    for (const auto& e : entries_) {
      size_t product = 1;
      for (const auto& [key, choices] : e.keys) product = std::min(cap + 1, product * choices.size());
      Json first = Json::object();
      for (const auto& [key, choices] : e.keys) first[key] = Json::parse(choices[0].dump());
      if (product > cap) {
        for (const auto& [key, choices] : e.keys)
          for (const auto& c : choices) {
            Json config = first;
            config[key] = Json::parse(c.dump());
            out.emplace_back(e.name, config);
          }
        continue;
      }
      std::vector<Json> partial{Json::object()};
      for (const auto& [key, choices] : e.keys) {
        std::vector<Json> next;
        for (const auto& p : partial)
          for (const auto& c : choices) {
            Json config = p;
            config[key] = Json::parse(c.dump());
            next.push_back(config);
          }
        partial = std::move(next);
      }
      for (auto& config : partial) out.emplace_back(e.name, std::move(config));
    }
    return out;
  }

  std::vector<std::string> entry_names() const {
    std::vector<std::string> names;
    for (const auto& e : entries_) names.push_back(e.name);
    return names;
  }

 private:
  static std::string param_name(const std::string& entry, const std::string& key) {
    return entry + "/config/" + key;
  }
  struct Entry {
    std::string name;
    std::vector<std::pair<std::string, nlohmann::json>> keys;
  };
  std::vector<Entry> entries_;
};

/// Checks seed entry names: node names (by = "name") or op names (by = "type"), plus "default".
void check_entries(const SeedChoices& seed, const ir::Graph& g, const std::string& by,
                   const std::string& where) {
  for (const auto& name : seed.entry_names()) {
    if (name == "default") continue;
    if (by == "type") {
      auto ops = ir::all_op_names();
      CHOP_CHECK(std::find(ops.begin(), ops.end(), name) != ops.end(), ConfigError, "{}: {}", where,
                 unknown_name_message("op type", name, ops));
    } else {
      CHOP_CHECK(g.find(name), ConfigError, "{}: {}", where,
                 unknown_name_message("node", name, g.node_names()));
    }
  }
}

/// Reads every combination of the seed's quantization choices as the quantize pass will, so a
/// bad width, key or scaling fails before any trial.
void check_quantize_choices(const SeedChoices& seed, const std::string& by) {
  for (const auto& [entry, config] : seed.combinations()) {
    Json table = {{"by", by}, {entry, {{"config", config}}}};
    OptionReader r(table, "[search.search_space.seed]");
    passes::QuantizeOptions::read(r);
    r.finish();
  }
}

/// graph/quantize/mixed_precision_ptq: MASE's quantization space (by name or by type).
class QuantizeSpace : public SearchSpace {
 public:
  QuantizeSpace(const SearchConfig& c, const ir::Graph& g)
      : seed_(c.space_seed, "[search.search_space.seed]") {
    OptionReader r(c.space_setup, "[search.search_space.setup]");
    by_ = r.get<std::string>("by", "name");
    r.finish();
    CHOP_CHECK(by_ == "name" || by_ == "type", ConfigError,
               "[search.search_space.setup] by must be \"name\" or \"type\", but got '{}'", by_);
    check_entries(seed_, g, by_, "[search.search_space.seed]");
    check_quantize_choices(seed_, by_);
  }
  Json choose(const Pick& pick) const override {
    Json table = {{"by", by_}};
    Json sampled = seed_.sample(pick);
    for (const auto& [k, v] : sampled.items()) table[k] = v;
    if (!table.contains("default")) table["default"] = {{"config", {{"name", "NA"}}}};
    return {{"quantize", table}};
  }
  Params parameters() const override { return seed_.parameters(); }

 private:
  SeedChoices seed_;
  std::string by_;
};

/// graph/quantize/channel_size_modifier: the seed's lab 4 format (parent accepted, not needed).
class ChannelModifierSpace : public SearchSpace {
 public:
  ChannelModifierSpace(const SearchConfig& c, const ir::Graph& g)
      : seed_(c.space_seed, "[search.search_space.seed]") {
    OptionReader r(c.space_setup, "[search.search_space.setup]");
    r.get<std::string>("by", "name");
    r.finish();
    check_entries(seed_, g, "name", "[search.search_space.seed]");
  }
  Json choose(const Pick& pick) const override {
    Json table = {{"by", "name"}};
    Json sampled = seed_.sample(pick);
    for (const auto& [k, v] : sampled.items()) table[k] = v;
    if (!table.contains("default")) table["default"] = {{"config", {{"name", "NA"}}}};
    return {{"redefine_linear", table}};
  }
  Params parameters() const override { return seed_.parameters(); }

 private:
  SeedChoices seed_;
};

/// graph/architecture/channel: a multiplier per width group (or one for all when uniform);
/// with quantize = true in setup, also the quantization choices of the seed (joint search).
class ChannelSpace : public SearchSpace {
 public:
  ChannelSpace(const SearchConfig& c, const ir::Graph& g, bool joint) {
    OptionReader r(c.space_setup, "[search.search_space.setup]");
    nlohmann::json mult = r.value("channel_multipliers");
    uniform_ = r.get<bool>("uniform", false);
    nodes_ = r.get<std::vector<std::string>>("nodes", {});
    by_ = r.get<std::string>("by", "type");
    r.finish();
    if (mult.is_null()) mult = nlohmann::json::array({1, 2, 3, 4});
    CHOP_CHECK(mult.is_array() && !mult.empty(), ConfigError,
               "[search.search_space.setup] channel_multipliers must be a non-empty list");
    for (const auto& m : mult) {
      CHOP_CHECK(m.is_number() && m.get<double>() > 0 && m.get<double>() <= 1024, ConfigError,
                 "[search.search_space.setup] channel_multipliers must be positive numbers up to "
                 "1024, but got {}", m.dump());
      multipliers_.push_back(m);
    }
    auto groups = width_nodes(g);
    if (nodes_.empty()) nodes_ = groups;
    for (const auto& n : nodes_)
      CHOP_CHECK(std::find(groups.begin(), groups.end(), n) != groups.end(), ConfigError,
                 "[search.search_space.setup] nodes: '{}' is not a Linear/Conv2d whose width can "
                 "change; those are: {}", n, join(groups));
    CHOP_CHECK(!nodes_.empty(), ConfigError, "graph '{}' has no layer whose width can change",
               g.model_name());
    if (joint) {
      CHOP_CHECK(by_ == "name" || by_ == "type", ConfigError,
                 "[search.search_space.setup] by must be \"name\" or \"type\", but got '{}'", by_);
      quant_ = std::make_unique<SeedChoices>(c.space_seed, "[search.search_space.seed]");
      check_entries(*quant_, g, by_, "[search.search_space.seed]");
      check_quantize_choices(*quant_, by_);
    } else {
      CHOP_CHECK(c.space_seed.empty(), ConfigError,
                 "graph/architecture/channel takes no seed tables (use graph/joint/channel_quantize "
                 "to search quantization too)");
    }
  }

  Json choose(const Pick& pick) const override {
    std::vector<search::ParamValue> choices;
    for (const auto& m : multipliers_) choices.push_back(to_param(m, "channel_multiplier"));
    Json table = {{"by", "name"}, {"default", {{"config", {{"name", "NA"}}}}}};
    Json uniform;
    if (uniform_) uniform = Json::parse(from_param(pick("channel_multiplier", choices)).dump());
    for (const auto& n : nodes_) {
      Json m = uniform_ ? uniform
                        : Json::parse(from_param(pick(n + "/channel_multiplier", choices)).dump());
      table[n] = {{"config", {{"name", "output_only"}, {"channel_multiplier", m}}}};
    }
    Json out = {{"redefine_linear", table}};
    if (quant_) {
      Json q = {{"by", by_}};
      Json sampled = quant_->sample(pick);
      for (const auto& [k, v] : sampled.items()) q[k] = v;
      if (!q.contains("default")) q["default"] = {{"config", {{"name", "NA"}}}};
      out["quantize"] = q;
    }
    return out;
  }

  Params parameters() const override {
    Params p;
    if (uniform_) p.emplace_back("channel_multiplier", multipliers_);
    else
      for (const auto& n : nodes_) p.emplace_back(n + "/channel_multiplier", multipliers_);
    if (quant_)
      for (auto& q : quant_->parameters()) p.push_back(q);
    return p;
  }

 private:
  std::vector<nlohmann::json> multipliers_;
  bool uniform_ = false;
  std::vector<std::string> nodes_;
  std::string by_;
  std::unique_ptr<SeedChoices> quant_;
};

}  // namespace

const std::vector<SearchSpaceInfo>& search_space_registry() {
  static const std::vector<SearchSpaceInfo> spaces{
      {"graph/quantize/mixed_precision_ptq",
       "MASE's quantization space: per node (by = \"name\") or per op type (by = \"type\")"},
      {"graph/quantize/channel_size_modifier",
       "lab 4's channel multipliers per named Linear (parent accepted, widths propagate)"},
      {"graph/architecture/channel",
       "a channel multiplier for every width group of any graph (or one, uniform = true)"},
      {"graph/joint/channel_quantize",
       "channel multipliers and quantization choices in one search"},
  };
  return spaces;
}

std::unique_ptr<SearchSpace> make_search_space(const SearchConfig& c, const ir::Graph& g) {
  const std::string& n = c.space_name;
  if (n == "graph/quantize/mixed_precision_ptq") return std::make_unique<QuantizeSpace>(c, g);
  if (n == "graph/quantize/channel_size_modifier") return std::make_unique<ChannelModifierSpace>(c, g);
  if (n == "graph/architecture/channel") return std::make_unique<ChannelSpace>(c, g, false);
  if (n == "graph/joint/channel_quantize") return std::make_unique<ChannelSpace>(c, g, true);
  std::vector<std::string> names;
  for (const auto& s : search_space_registry()) names.push_back(s.name);
  throw ConfigError("[search.search_space]: " + unknown_name_message("search space", n, names));
}

std::vector<std::string> width_nodes(const ir::Graph& g) {
  // A Linear/Conv2d is a width node when another Linear/Conv2d lies downstream of it.
  auto is_layer = [](const ir::Node& n) {
    return n.op == ir::OpKind::Linear || n.op == ir::OpKind::Conv2d;
  };
  std::vector<bool> layer_below(g.size(), false);
  for (size_t i = g.size(); i-- > 0;) {
    const auto& n = g.nodes()[i];
    for (const auto& u : n.users) {
      size_t j = g.index_of(u);
      if (layer_below[j] || is_layer(g.nodes()[j])) layer_below[i] = true;
    }
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < g.size(); ++i)
    if (is_layer(g.nodes()[i]) && layer_below[i]) out.push_back(g.nodes()[i].name);
  return out;
}

}  // namespace chop::flow
