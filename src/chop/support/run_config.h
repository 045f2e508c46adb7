// The resolved settings of one run (run_config.def), read once from defaults, TOML and flags.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace chop {

struct RunConfig {
#define CHOP_RUN_KEY(type, key, def, help) type key = def;
#include "chop/support/run_config.def"
#undef CHOP_RUN_KEY

  /// The keys the user gave as flags: they beat every TOML table, a search runner's included.
  std::set<std::string> explicit_keys;
  bool is_explicit(const std::string& key) const { return explicit_keys.count(key) > 0; }

  /// <project_dir>/<project>/software
  std::string software_dir() const;
};

/// Top-level TOML keys run_config.def knows, in listing order.
std::vector<std::string> run_config_keys();

/// The keys only training reads (optimizer, schedule, epochs): `chop test` and `chop transform`
/// do not offer them as flags.
const std::vector<std::string>& training_keys();

/// Top-level TOML tables other parts of chop read ([model], [passes], [search], ...).
const std::vector<std::string>& config_table_names();

/// Sets every key that TOML has and the user did not give as a flag (`explicit_keys`).
/// Throws ConfigError for an unknown top-level key (listing the valid ones) or a wrong type.
void apply_toml(RunConfig& config, const nlohmann::ordered_json& toml,
                const std::set<std::string>& explicit_keys);

/// Fills what depends on other keys (project name) and checks values (batch_size > 0 ...).
void finalize(RunConfig& config);

/// The resolved configuration as JSON: every key, defaults filled in; with the config's TOML,
/// also the tables the run read as they were checked: [model] (a declared model: "model" is
/// then the table, as in the TOML) and [passes]. A search adds its resolved [search].
nlohmann::ordered_json to_json(const RunConfig& config,
                               const nlohmann::ordered_json& toml = nlohmann::ordered_json::object());

}  // namespace chop
