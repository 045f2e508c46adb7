// The pass interface: results, context, option reading, and the registry built from passes.def.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chop/ir/graph.h"

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

/// One documented option key (for `chop describe-pass`).
struct OptionDoc {
  std::string key, default_value, help;
};

/// Typed reads of one pass's TOML table with defaults; records docs, and finish() rejects keys
/// nobody read, listing the valid ones. Every options type reads itself in one read() function.
class OptionReader {
 public:
  /// owner names the table in messages ("[passes.latency]").
  OptionReader(const nlohmann::ordered_json& table, std::string owner);

  int64_t get_int(const std::string& key, int64_t fallback, const std::string& help);
  double get_double(const std::string& key, double fallback, const std::string& help);
  bool get_bool(const std::string& key, bool fallback, const std::string& help);
  /// A string among `choices` (all strings when empty).
  std::string get_string(const std::string& key, const std::string& fallback,
                         const std::string& help, const std::vector<std::string>& choices = {});
  /// Documents a key the options type reads itself (nested tables); marks it read.
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
  const nlohmann::ordered_json* find(const std::string& key, const std::string& fallback,
                                     const std::string& help);
  nlohmann::ordered_json table_;
  std::string owner_;
  std::vector<OptionDoc> docs_;
  std::vector<std::string> read_;
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
