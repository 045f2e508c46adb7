// Search spaces over graph transforms: each trial's choices become `[passes]` tables.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chop/flow/search_config.h"
#include "chop/ir/graph.h"
#include "chop/search/trial.h"

namespace chop::flow {

/// A space suggests this trial's choices and returns the transforms to apply, as `[passes]`
/// tables in MASE's format ({"redefine_linear": {...}, "quantize": {...}}), in order.
class SearchSpace {
 public:
  /// Chooses one of a parameter's choices (a trial's suggestion, or a given configuration).
  using Pick = std::function<search::ParamValue(const std::string& name, const std::vector<search::ParamValue>& choices)>;

  virtual ~SearchSpace() = default;
  /// The tables of the choices `pick` makes.
  virtual nlohmann::ordered_json choose(const Pick& pick) const = 0;
  /// This trial's choices (suggested through it) as tables.
  nlohmann::ordered_json sample(search::Trial& trial) const;
  /// The tables of a given configuration (every parameter's value, as a trial stores them);
  /// ConfigError naming a missing parameter or a value that is not one of its choices.
  nlohmann::ordered_json tables(const std::map<std::string, search::ParamValue>& params) const;
  /// The parameters (flattened keys) and their choices, for reports and grid sizes.
  virtual std::vector<std::pair<std::string, std::vector<nlohmann::json>>> parameters() const = 0;
  /// The same parameters as the distributions sample() suggests (for a grid over the space).
  search::SearchSpace distributions() const;
};

/// Every space, listed once.
struct SearchSpaceInfo {
  const char* name;
  const char* description;
};
const std::vector<SearchSpaceInfo>& search_space_registry();

/// Builds the space `config.space_name` for graph g; ConfigError naming the table and key for
/// unknown spaces, unknown nodes or op types, empty choice lists and bad values.
std::unique_ptr<SearchSpace> make_search_space(const SearchConfig& config, const ir::Graph& g);

/// Linear / Conv2d nodes whose output width can change: all but those feeding the graph's
/// output without another Linear / Conv2d in between (the class count is fixed).
std::vector<std::string> width_nodes(const ir::Graph& g);

}  // namespace chop::flow
