// The passes a search trial needs: transforms from `[passes]` tables and hardware metrics.
#include "chop/flow/transforms.h"

#include "chop/passes/analysis.h"
#include "chop/passes/measure.h"
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

HardwareOptions read_hardware_options(const HardwareRunner& r) {
  OptionReader reader(r.options, "[search.strategy.hw_runner." + r.name + "]");
  HardwareOptions o;
  if (r.name == "average_bitwidth" || r.name == "memory_density") o.density = passes::MemoryDensityOptions::read(reader);
  if (r.name == "latency") o.latency = passes::LatencyOptions::read(reader);
  reader.finish();  // the other runners take no options
  return o;
}

std::map<std::string, double> hardware_metrics(const ir::Graph& g,
                                               const std::vector<HardwareRunner>& runners,
                                               runtime::GraphModule* module) {
  std::map<std::string, double> out;
  for (const auto& r : runners) {
    if (r.name == "params") {
      out["params"] = static_cast<double>(g.count_params());
    } else if (r.name == "flops" || r.name == "macs") {
      auto count = passes::count_flops(g);
      out[r.name] = static_cast<double>(r.name == "flops" ? count.flops : count.macs);
    } else if (r.name == "bops") {
      out["bops"] = static_cast<double>(passes::count_bops(g));
    } else if (r.name == "model_size") {
      out["model_size"] = passes::model_size_bytes(g);
    } else if (r.name == "average_bitwidth" || r.name == "memory_density") {
      out["average_bitwidth"] = passes::average_bitwidth(g);
      out["memory_density"] = passes::memory_density(g, read_hardware_options(r).density.compare_to);
    } else if (r.name == "latency") {
      passes::PassContext ctx;
      if (module) ctx.module = module->ptr();
      out["latency"] = passes::measure_latency(g, ctx, read_hardware_options(r).latency).median_ms;
    } else {
      CHOP_ASSERT(false, "hardware runner {} passed validation but has no implementation", r.name);
    }
  }
  return out;
}

}  // namespace chop::flow
