// The passes a search trial needs: transforms from `[passes]` tables and hardware metrics.
#include "chop/flow/transforms.h"

#include "chop/passes/pass_manager.h"
#include "chop/support/error.h"

namespace chop::flow {

ir::Graph apply_transforms(const ir::Graph& g, const nlohmann::ordered_json& tables) {
  ir::Graph out = g;
  if (tables.empty()) return out;
  auto manager = passes::PassManager::from_toml(tables);
  passes::PassContext ctx;
  manager.run(out, ctx);
  return out;
}

passes::MetricValues measure_hardware(const std::vector<HardwareRunner>& runners, const ir::Graph& g,
                                      runtime::GraphModule* module) {
  passes::MetricValues out;
  for (const auto& r : runners)
    passes::hardware_metric(r.name).measure(g, r.settings, module ? module->ptr() : nullptr, out);
  return out;
}

}  // namespace chop::flow
