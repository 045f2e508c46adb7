// TOML files read once into JSON values (key order kept: [passes.*] run in file order).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace chop {

/// Parses TOML text; throws ConfigError "<source>:<line>:<col>: <reason>" when malformed.
nlohmann::ordered_json parse_toml(const std::string& text, const std::string& source);

/// Reads and parses a TOML file; throws ConfigError when missing, unreadable or malformed.
nlohmann::ordered_json load_toml(const std::string& path);

}  // namespace chop
