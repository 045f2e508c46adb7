// OptionReader: typed reads of one options table with defaults, rejecting unknown keys.
#pragma once

#include "chop/support/error.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace chop {

/// One documented option key (for `chop describe-pass`).
struct OptionDoc {
  std::string key, default_value, help;
};

/// Typed reads with defaults from one options table (a pass's, a sampler's, a [search] table's);
/// records a doc per key read, and finish() rejects keys nobody read, listing the valid ones.
/// Keys keep file order (a plain nlohmann::json converts, in its sorted order).
class OptionReader {
 public:
  /// owner names the table in messages ("[passes.latency]", "sampler 'tpe'").
  OptionReader(const nlohmann::ordered_json& table, std::string owner);

  /// The value at key, or fallback when absent. Throws ConfigError when the value's JSON type
  /// differs from the fallback's (an integer for integral T, any number for floating T), or
  /// when a string is not among `choices` (all strings when empty).
  template <typename T>
  T get(const std::string& key, T fallback, const std::string& help = "",
        const std::vector<std::string>& choices = {}) {
    const nlohmann::ordered_json* v = find(key, fallback, help, choices);
    if (!v) return fallback;
    try {
      return v->template get<T>();
    } catch (const nlohmann::ordered_json::exception&) {
      throw ConfigError(fmt::format("{}: {} has the wrong type: {}", owner_, key, v->dump()));
    }
  }
  /// The raw value at key (null when absent), marked read.
  nlohmann::ordered_json value(const std::string& key);
  /// Documents a key the caller reads itself (nested tables); marks it read.
  void document(const std::string& key, const std::string& help,
                const std::string& default_value = "");
  /// The keys not read so far, in file order, now marked read (tables keyed by node name).
  std::vector<std::string> take_rest();
  /// Throws ConfigError for any key not read, listing the valid ones.
  void finish() const;

  const std::vector<OptionDoc>& docs() const { return docs_; }
  const std::string& owner() const { return owner_; }
  /// The owner of a nested table: "[passes.quantize]" -> "[passes.quantize.linear]".
  std::string child(const std::string& key) const;
  const nlohmann::ordered_json& table() const { return table_; }

 private:
  /// Documents and marks key; its value (nullptr when absent), checked against fallback's type.
  const nlohmann::ordered_json* find(const std::string& key, const nlohmann::ordered_json& fallback,
                                     const std::string& help, const std::vector<std::string>& choices);
  nlohmann::ordered_json table_;
  std::string owner_;
  std::vector<OptionDoc> docs_;
  std::vector<std::string> read_;
};

}  // namespace chop
