// The pass manager: runs a list of passes in order, caches analyses, names the pass that failed.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "chop/passes/pass.h"

namespace chop::passes {

struct PassManagerOptions {
  bool lint_after_each = false;  ///< Graph::lint() after every pass (tests turn it on)
};

/// One pass run by the manager.
struct PassRecord {
  std::string name;   ///< the registry name (aliases resolved)
  PassResult result;
  bool cached = false;  ///< an analysis result reused because nothing it depends on changed
};

/// Runs passes over a graph. Options are read and checked when a pass is added, so a typo in
/// the last table fails before the first pass runs. Analysis results are cached per (pass,
/// options) for the graph they ran on; a transform's PassResult::changed drops the cached
/// analyses that depend on those facets (a width change forces count_flops to recount).
/// Measure passes (latency, profile_statistics) always run. Errors are rethrown as the same
/// kind with "pass <i> (<name>): " in front.
class PassManager {
 public:
  explicit PassManager(PassManagerOptions options = {}) : options_(options) {}

  /// Appends pass `name` (or an alias) with its options table. Throws ConfigError
  /// "pass <i> (<name>): ..." for an unknown pass, unknown key or bad value.
  PassManager& add(const std::string& name,
                   const nlohmann::ordered_json& options = nlohmann::ordered_json::object());

  /// A manager for the `[passes]` table of a config: one pass per `[passes.<name>]`, in file
  /// order (load_toml keeps it). Throws ConfigError when `passes` is not a table of tables.
  static PassManager from_toml(const nlohmann::ordered_json& passes,
                               PassManagerOptions options = {});

  size_t size() const { return entries_.size(); }
  /// Registry names of the passes, in order.
  std::vector<std::string> names() const;

  /// Runs every pass in order over g; on_pass (if any) sees each record as soon as it exists.
  std::vector<PassRecord> run(ir::Graph& g, PassContext& ctx,
                              const std::function<void(size_t, const PassRecord&)>& on_pass = {});

  /// Runs one pass now, outside the list (a search trial asking for count_flops): from the
  /// cache when it is an analysis whose facets did not change since it last ran on g.
  PassRecord run_pass(ir::Graph& g, PassContext& ctx, const std::string& name,
                      const nlohmann::ordered_json& options = nlohmann::ordered_json::object());

  /// Drops cached analyses that depend on any of `facets`.
  void invalidate(unsigned facets);

 private:
  struct Entry {
    const PassInfo* info = nullptr;
    std::string cache_key;  ///< name + options JSON
    std::function<PassResult(ir::Graph&, PassContext&)> run;
  };
  struct Cached {
    const ir::Graph* graph;
    unsigned depends;
    PassResult result;
  };
  static Entry make_entry(const std::string& name, const nlohmann::ordered_json& options,
                          const std::string& where);
  PassRecord run_entry(const Entry& e, ir::Graph& g, PassContext& ctx, const std::string& where);

  PassManagerOptions options_;
  std::vector<Entry> entries_;
  std::map<std::string, Cached> cache_;
};

}  // namespace chop::passes
