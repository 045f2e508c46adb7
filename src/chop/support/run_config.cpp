// The resolved settings of one run (run_config.def), read once from defaults, TOML and flags.
#include "chop/support/run_config.h"

#include <algorithm>
#include <ctime>

#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop {
namespace {

const char* type_name(const std::string*) { return "a string"; }
const char* type_name(const int64_t*) { return "an integer"; }
const char* type_name(const double*) { return "a number"; }
const char* type_name(const bool*) { return "true or false"; }

bool read(const nlohmann::ordered_json& v, std::string& out) {
  if (!v.is_string()) return false;
  out = v.get<std::string>() == "NA" ? "" : v.get<std::string>();
  return true;
}
bool read(const nlohmann::ordered_json& v, int64_t& out) {
  if (!v.is_number_integer()) return false;
  out = v.get<int64_t>();
  return true;
}
bool read(const nlohmann::ordered_json& v, bool& out) {
  if (!v.is_boolean()) return false;
  out = v.get<bool>();
  return true;
}
bool read(const nlohmann::ordered_json& v, double& out) {
  if (!v.is_number()) return false;
  out = v.get<double>();
  return true;
}

}  // namespace

std::string RunConfig::software_dir() const { return project_dir + "/" + project + "/software"; }

std::vector<std::string> run_config_keys() {
  return {
#define CHOP_RUN_KEY(type, key, def, help) #key,
#include "chop/support/run_config.def"
#undef CHOP_RUN_KEY
  };
}

const std::vector<std::string>& config_table_names() {
  static const std::vector<std::string> tables{"model", "passes", "search", "transform"};
  return tables;
}

void apply_toml(RunConfig& config, const nlohmann::ordered_json& toml,
                const std::set<std::string>& explicit_keys) {
  auto keys = run_config_keys();
  const auto& tables = config_table_names();
  for (const auto& [key, value] : toml.items()) {
    bool is_table = std::find(tables.begin(), tables.end(), key) != tables.end();
    bool is_key = std::find(keys.begin(), keys.end(), key) != keys.end();
    if (is_table && value.is_object()) continue;  // [model] (custom model), [passes], ...
    CHOP_CHECK(!is_table || is_key, ConfigError, "config: '{}' must be a table ([{}])", key, key);
    if (!is_key) {
      std::vector<std::string> known = keys;
      for (const auto& t : tables)
        if (std::find(known.begin(), known.end(), t) == known.end()) known.push_back(t);
      throw ConfigError(
          "config: " + unknown_name_message("top-level key", key, known));
    }
    if (value.is_string() && value.get<std::string>() == "NA" && !explicit_keys.count(key)) {
#define CHOP_RUN_KEY(type, k, def, help) \
  if (key == #k) config.k = def;
#include "chop/support/run_config.def"
#undef CHOP_RUN_KEY
      continue;
    }
    if (explicit_keys.count(key)) continue;
#define CHOP_RUN_KEY(type, k, def, help)                                                    \
  if (key == #k)                                                                            \
    CHOP_CHECK(read(value, config.k), ConfigError, "config: '{}' must be {}, but got {}", key, \
               type_name(&config.k), value.dump());
#include "chop/support/run_config.def"
#undef CHOP_RUN_KEY
  }
}

const std::vector<std::string>& training_keys() {
  static const std::vector<std::string> keys{"training_optimizer", "learning_rate", "weight_decay", "scheduler",
                                             "max_epochs", "max_steps", "early_stopping"};
  return keys;
}

void finalize(RunConfig& c) {
  // A value may come from the TOML or from its flag: the message names both.
  auto key = [](const char* k) {
    std::string flag = k;
    std::replace(flag.begin(), flag.end(), '_', '-');
    return fmt::format("{} (--{})", k, flag);
  };
  CHOP_CHECK(c.batch_size > 0, ConfigError, "{} must be positive, but got {}", key("batch_size"), c.batch_size);
  CHOP_CHECK(c.learning_rate > 0, ConfigError, "{} must be positive, but got {}", key("learning_rate"),
             c.learning_rate);
  CHOP_CHECK(c.weight_decay >= 0, ConfigError, "{} must be >= 0, but got {}", key("weight_decay"),
             c.weight_decay);
  CHOP_CHECK(c.max_epochs >= 0, ConfigError, "{} must be >= 0, but got {}", key("max_epochs"), c.max_epochs);
  CHOP_CHECK(c.max_steps == -1 || c.max_steps > 0, ConfigError,
             "{} must be positive (or -1: no limit), but got {}", key("max_steps"), c.max_steps);
  CHOP_CHECK(c.early_stopping >= 0, ConfigError, "{} must be >= 0 (0: off), but got {}",
             key("early_stopping"), c.early_stopping);
  CHOP_CHECK(c.num_samples >= 0, ConfigError, "{} must be >= 0, but got {}", key("num_samples"), c.num_samples);
  CHOP_CHECK(c.val_fraction >= 0 && c.val_fraction < 1, ConfigError, "{} must be in [0, 1), but got {}",
             key("val_fraction"), c.val_fraction);
  CHOP_CHECK(c.num_threads >= 1, ConfigError, "{} must be >= 1, but got {}", key("num_threads"),
             c.num_threads);
  CHOP_CHECK(c.seed >= 0, ConfigError, "{} must be >= 0, but got {}", key("seed"), c.seed);
  const std::vector<std::string> optimizers{"adam", "adamw", "sgd"};
  CHOP_CHECK(std::find(optimizers.begin(), optimizers.end(), c.training_optimizer) != optimizers.end(),
             ConfigError, "{} must be one of {}, but got '{}'", key("training_optimizer"), join(optimizers),
             c.training_optimizer);
  CHOP_CHECK(c.scheduler == "cosine" || c.scheduler == "none", ConfigError,
             "{} must be cosine or none, but got '{}'", key("scheduler"), c.scheduler);
  CHOP_CHECK(c.task == "cls", ConfigError, "task must be cls (classification), but got '{}'", c.task);
  if (c.project.empty()) {
    std::time_t now = std::time(nullptr);
    char date[16];
    std::strftime(date, sizeof date, "%Y-%m-%d", std::localtime(&now));
    c.project = c.model + "_" + c.task + "_" + c.dataset + "_" + date;
  }
}

nlohmann::ordered_json to_json(const RunConfig& c, const nlohmann::ordered_json& toml) {
  nlohmann::ordered_json j;
#define CHOP_RUN_KEY(type, key, def, help) j[#key] = c.key;
#include "chop/support/run_config.def"
#undef CHOP_RUN_KEY
  for (const char* table : {"model", "passes"})
    if (toml.contains(table) && toml[table].is_object()) j[table] = toml[table];
  return j;
}

}  // namespace chop
