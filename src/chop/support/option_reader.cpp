// OptionReader: typed reads of one options table with defaults, rejecting unknown keys.
#include "chop/support/option_reader.h"

#include <algorithm>

#include "chop/support/strings.h"

namespace chop {

OptionReader::OptionReader(const nlohmann::ordered_json& table, std::string owner)
    : table_(table.is_null() ? nlohmann::ordered_json::object() : table), owner_(std::move(owner)) {
  CHOP_CHECK(table_.is_object(), ConfigError, "{} must be a table, but got {}", owner_, table_.dump());
}

const nlohmann::ordered_json* OptionReader::find(const std::string& key, const nlohmann::ordered_json& fallback,
                                                 const std::string& help,
                                                 const std::vector<std::string>& choices) {
  // Floats as fmt prints them (32, not 32.0); strings quoted.
  document(key, choices.empty() ? help : help + " (" + join(choices, ", ") + ")",
           fallback.is_number_float() ? fmt::format("{}", fallback.get<double>()) : fallback.dump());
  auto it = table_.find(key);
  if (it == table_.end()) return nullptr;
  const nlohmann::ordered_json& v = *it;
  auto check = [&](bool ok, const char* what) {
    CHOP_CHECK(ok, ConfigError, "{}: {} must be {}, but got {}", owner_, key, what, v.dump());
  };
  if (fallback.is_boolean()) check(v.is_boolean(), "true or false");
  if (fallback.is_number_integer()) check(v.is_number_integer(), "an integer");
  if (fallback.is_number_float()) check(v.is_number(), "a number");
  if (fallback.is_string()) check(v.is_string(), "a string");
  if (fallback.is_array()) check(v.is_array(), "a list");
  CHOP_CHECK(choices.empty() || std::find(choices.begin(), choices.end(), v) != choices.end(),
             ConfigError, "{}: {} must be one of {}, but got {}", owner_, key, join(choices), v.dump());
  return &v;
}

nlohmann::ordered_json OptionReader::value(const std::string& key) {
  const nlohmann::ordered_json* v = find(key, nullptr, "", {});
  return v ? *v : nlohmann::ordered_json();
}

void OptionReader::document(const std::string& key, const std::string& help,
                            const std::string& default_value) {
  docs_.push_back({key, default_value, help});
  read_.push_back(key);
}

std::vector<std::string> OptionReader::take_rest() {
  std::vector<std::string> rest;
  for (const auto& item : table_.items())
    if (std::find(read_.begin(), read_.end(), item.key()) == read_.end()) rest.push_back(item.key());
  read_.insert(read_.end(), rest.begin(), rest.end());
  return rest;
}

void OptionReader::finish() const {
  for (const auto& item : table_.items())
    CHOP_CHECK(std::find(read_.begin(), read_.end(), item.key()) != read_.end(), ConfigError, "{}",
               unknown_name_message("option of " + owner_, item.key(), read_));
}

std::string OptionReader::child(const std::string& key) const {
  return owner_.substr(0, owner_.size() - 1) + "." + key + "]";
}

}  // namespace chop
