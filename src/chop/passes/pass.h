// The pass interface: results, context, and the registry built from passes.def.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chop/ir/graph.h"
#include "chop/support/option_reader.h"

namespace chop::data {
class DataModule;
}
namespace chop::runtime {
class GraphModuleImpl;
}

namespace chop::passes {

/// Facets of a graph an analysis depends on and a transform may change.
enum Facet : unsigned {
  kWidths = 1,     ///< attributes and shapes (a channel transform)
  kPrecision = 2,  ///< node precisions (quantize)
  kWeights = 4,    ///< the module's tensors
  kAll = 7,
};

/// What a pass hands back: a report for people and facts for programs.
struct PassResult {
  std::string report;                                     ///< printed by `chop transform`
  nlohmann::ordered_json info = nlohmann::ordered_json::object();
  unsigned changed = 0;  ///< transforms: the facets they changed (0: graph untouched)
};

/// What passes share besides the graph. Measure passes run `module` when it fits the graph
/// (and rebuild it from the graph otherwise, see module_for() in measure.h).
struct PassContext {
  const data::DataModule* data = nullptr;                 ///< profile_statistics' batches
  std::shared_ptr<runtime::GraphModuleImpl> module;       ///< weights of the graph, if any
  uint64_t seed = 0;                                      ///< initialization of new tensors
  bool inherit_resized_weights = false;  ///< set by redefine_linear inherit = true
};

/// Passes without options.
struct NoOptions {
  static NoOptions read(OptionReader&) { return {}; }
};

/// Declares pass struct Class: name() comes from passes.def, run() is the pass.
#define CHOP_DECLARE_PASS(Class, Options)                                            \
  struct Class {                                                                     \
    static const char* name();                                                       \
    PassResult run(ir::Graph& g, const Options& options, PassContext& ctx) const;   \
  }

enum class PassKind { Analysis, Measure, Transform };

/// A registry entry (from passes.def).
struct PassInfo {
  const char* name;
  const char* options_type;
  PassKind kind;
  unsigned depends;
  const char* description;
  std::vector<OptionDoc> (*option_docs)();
};

/// Every pass in passes.def order.
const std::vector<PassInfo>& pass_registry();
/// Names of all passes (no aliases).
std::vector<std::string> pass_names();
/// The pass called name (or an alias: init_metadata); throws ConfigError listing known names.
const PassInfo& pass_info(const std::string& name);
/// "analysis", "measure", "transform".
const char* pass_kind_name(PassKind kind);

}  // namespace chop::passes
