// Run settings as CLI flags (from run_config.def) and their resolution with a TOML config.
#include "run_flags.h"

#include <algorithm>
#include <filesystem>

#include "chop/support/error.h"
#include "chop/support/files.h"
#include "chop/support/toml.h"

namespace chop::cli {
namespace {

std::string flag_name(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

template <typename T>
void add_key(CLI::App* cmd, const std::string& flag, T& value, const std::string& help) {
  cmd->add_option(flag, value, help)->capture_default_str();
}
void add_key(CLI::App* cmd, const std::string& flag, bool& value, const std::string& help) {
  cmd->add_flag(flag, value, help);
}

}  // namespace

std::shared_ptr<RunFlags> add_run_flags(CLI::App* cmd, const std::vector<std::string>& positional,
                                        RunFlagSet set) {
  const auto& training = training_keys();
  auto listed = [&](const char* key) {
    return std::find(positional.begin(), positional.end(), key) == positional.end() &&
           (set == RunFlagSet::all || std::find(training.begin(), training.end(), key) == training.end());
  };
  auto f = std::make_shared<RunFlags>();
  f->cmd = cmd;
  cmd->add_option("--config", f->config_path, "TOML config (MASE format); flags override its keys");
  for (const auto& key : positional) {
#define CHOP_RUN_KEY(type, k, def, help) \
  if (key == #k) cmd->add_option(#k, f->flags.k, help);
#include "chop/support/run_config.def"
#undef CHOP_RUN_KEY
  }
#define CHOP_RUN_KEY(type, k, def, help) \
  if (listed(#k)) add_key(cmd, flag_name(#k), f->flags.k, help);
#include "chop/support/run_config.def"
#undef CHOP_RUN_KEY
  return f;
}

RunConfig RunFlags::resolve() {
  std::set<std::string> explicit_keys;
  for (const auto& key : run_config_keys()) {
    CLI::Option* opt = nullptr;
    try {
      opt = cmd->get_option(flag_name(key));
    } catch (const CLI::OptionNotFound&) {
      try {
        opt = cmd->get_option(key);
      } catch (const CLI::OptionNotFound&) {
      }
    }
    if (opt && opt->count() > 0) explicit_keys.insert(key);
  }
  RunConfig c = flags;
  c.explicit_keys = explicit_keys;
  if (!config_path.empty()) {
    toml = load_toml(config_path);
    apply_toml(c, toml, explicit_keys);
  }
  // A model from a file or a [model] table: the one positional argument is the data set, and
  // the run's model is named after the file's stem or the table's name.
  const bool table = toml.contains("model") && toml["model"].is_object();
  if (table || !c.model_file.empty()) {
    CHOP_CHECK(!(table && !c.model_file.empty()), ConfigError,
               "{} declares a [model] table and --model-file {} is given too: use one of them", config_path,
               c.model_file);
    const std::string source = table ? config_path + " declares its model in a [model] table"
                                     : "--model-file " + c.model_file + " gives the model";
    if (!explicit_keys.count("model")) c.model.clear();  // a TOML `model = ...` yields to them
    if (c.dataset.empty() && !explicit_keys.count("dataset")) std::swap(c.model, c.dataset);
    CHOP_CHECK(c.model.empty(), ConfigError, "{}, but model '{}' was named too: name only the data set (chop {} DATASET ...)",
               source, c.model, cmd->get_name());
    if (table)
      c.model = toml["model"].contains("name") && toml["model"]["name"].is_string() ? toml["model"]["name"].get<std::string>()
                                                                                   : "custom";
    else
      c.model = std::filesystem::path(c.model_file).stem().string();
  }
  finalize(c);
  return c;
}

void write_json_file(const std::string& path, const nlohmann::ordered_json& j) {
  write_file_atomically(path, j.dump(2) + "\n");
}

}  // namespace chop::cli
