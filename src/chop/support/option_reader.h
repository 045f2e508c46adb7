// OptionReader: reads typed options from a JSON table, rejecting unknown keys.
#pragma once

#include "chop/support/error.h"
#include "chop/support/strings.h"

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

namespace chop {

/// Typed reads with defaults from a JSON object; finish() throws ConfigError naming any key that
/// was never read, with the valid keys. `owner` names the thing in messages ("sampler 'tpe'",
/// "[search.strategy.setup]").
class OptionReader {
 public:
  OptionReader(const nlohmann::json& options, std::string owner)
      : options_(options.is_null() ? nlohmann::json::object() : options), owner_(std::move(owner)) {
    CHOP_CHECK(options_.is_object(), ConfigError, "options of {} must be a table, but got {}",
               owner_, options_.dump());
  }

  template <typename T>
  T get(const std::string& key, T fallback) {
    known_.push_back(key);
    auto it = options_.find(key);
    if (it == options_.end()) return fallback;
    try {
      return it->template get<T>();
    } catch (const nlohmann::json::exception&) {
      throw ConfigError(fmt::format("option '{}' of {} has the wrong type: {}", key, owner_,
                                    it->dump()));
    }
  }

  /// The raw value at key (null when absent), marked as known.
  nlohmann::json value(const std::string& key) {
    known_.push_back(key);
    auto it = options_.find(key);
    return it == options_.end() ? nlohmann::json() : *it;
  }

  void finish() const {
    for (auto it = options_.begin(); it != options_.end(); ++it) {
      bool ok = false;
      for (const auto& k : known_) ok = ok || k == it.key();
      CHOP_CHECK(ok, ConfigError, "{}", unknown_name_message("option of " + owner_, it.key(), known_));
    }
  }

 private:
  nlohmann::json options_;
  std::string owner_;
  std::vector<std::string> known_;
};

}  // namespace chop
