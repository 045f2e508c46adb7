// Run settings as CLI flags (from run_config.def) and their resolution with a TOML config.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "chop/support/run_config.h"

namespace chop::cli {

/// Flags of one subcommand, bound to a RunConfig; `positional` are the keys taken as
/// positional arguments (e.g. model dataset).
struct RunFlags {
  RunConfig flags;
  std::string config_path;
  nlohmann::ordered_json toml = nlohmann::ordered_json::object();
  CLI::App* cmd = nullptr;

  /// Defaults < TOML top-level keys < explicit flags, then finalize(). Reads --config once.
  /// With a [model] table in the config, the one positional argument is the data set, and the
  /// run's model is the table's name ("custom"); naming a model as well is a ConfigError.
  RunConfig resolve();
};

/// Which run settings a command takes as flags.
enum class RunFlagSet {
  all,           ///< train, search: every run_config.def key
  no_training,   ///< test, transform: without training_keys() (a TOML may still hold them)
};

/// Adds --config and the run_config.def keys of `set` as --flag-name to cmd.
std::shared_ptr<RunFlags> add_run_flags(CLI::App* cmd, const std::vector<std::string>& positional,
                                        RunFlagSet set = RunFlagSet::all);

/// Writes j to path via a temporary file and rename; creates parent directories.
void write_json_file(const std::string& path, const nlohmann::ordered_json& j);

}  // namespace chop::cli
