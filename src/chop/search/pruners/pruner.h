// Pruner: the interface of every pruner and the pruner registry.
#pragma once

#include "chop/search/frozen_trial.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace chop::search {

class Study;

/// Decides from intermediate values whether a running trial should stop. Compares the trial's
/// reported values with other trials' values in Study::pruning_direction(), so it works in
/// multi-objective studies too (the trial reports one chosen metric). Thread-safe.
class Pruner {
 public:
  virtual ~Pruner() = default;
  virtual std::string name() const = 0;
  /// True when `trial` (a RUNNING snapshot) should be pruned now.
  virtual bool prune(Study& study, const FrozenTrial& trial) = 0;
};

/// Never prunes.
class NopPruner : public Pruner {
 public:
  static std::unique_ptr<Pruner> create(const nlohmann::json& options);
  std::string name() const override { return "none"; }
  bool prune(Study& /*study*/, const FrozenTrial& /*trial*/) override { return false; }
};

/// One registered pruner.
struct PrunerInfo {
  const char* name;
  const char* description;
  std::unique_ptr<Pruner> (*create)(const nlohmann::json& options);
};

/// Every pruner, listed once (pruners.def).
const std::vector<PrunerInfo>& pruner_registry();
std::vector<std::string> pruner_names();
/// Builds pruner `name` with its options (unknown keys rejected); ConfigError for unknown names.
std::unique_ptr<Pruner> make_pruner(const std::string& name,
                                    const nlohmann::json& options = nlohmann::json::object());

}  // namespace chop::search
