// TOML files read once into JSON values (key order kept: [passes.*] run in file order).
#include "chop/support/toml.h"

#include <fstream>
#include <sstream>

#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

#include "chop/support/error.h"

namespace chop {
namespace {

nlohmann::ordered_json to_json(const toml::node& node);

nlohmann::ordered_json table_to_json(const toml::table& t) {
  // toml++ keeps keys sorted; order them by where they appear in the file.
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (const auto& [k, v] : t) entries.emplace_back(&k, &v);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& sa = a.first->source().begin;
    const auto& sb = b.first->source().begin;
    return sa.line != sb.line ? sa.line < sb.line : sa.column < sb.column;
  });
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [k, v] : entries) j[std::string(k->str())] = to_json(*v);
  return j;
}

nlohmann::ordered_json to_json(const toml::node& node) {
  if (auto t = node.as_table()) return table_to_json(*t);
  if (auto a = node.as_array()) {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& v : *a) j.push_back(to_json(v));
    return j;
  }
  if (auto v = node.as_string()) return v->get();
  if (auto v = node.as_integer()) return v->get();
  if (auto v = node.as_floating_point()) return v->get();
  if (auto v = node.as_boolean()) return v->get();
  std::ostringstream os;  // dates and times: kept as their TOML text
  node.visit([&](const auto& v) {
    if constexpr (toml::is_date<decltype(v)> || toml::is_time<decltype(v)> ||
                  toml::is_date_time<decltype(v)>)
      os << v;
  });
  return os.str();
}

}  // namespace

nlohmann::ordered_json parse_toml(const std::string& text, const std::string& source) {
  try {
    toml::table t = toml::parse(text, source);
    return table_to_json(t);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw ConfigError(fmt::format("{}:{}:{}: malformed TOML: {}", source, b.line, b.column,
                                  e.description()));
  }
}

nlohmann::ordered_json load_toml(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CHOP_CHECK(in, ConfigError, "cannot read config file '{}': no such file or not readable", path);
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_toml(buf.str(), path);
}

}  // namespace chop
