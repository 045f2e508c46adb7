// The hardware metrics of hardware_metrics.def, each one function over the transformed graph.
#include "chop/passes/hardware_metrics.h"

#include "chop/passes/analysis.h"
#include "chop/passes/measure.h"
#include "chop/support/error.h"
#include "chop/support/strings.h"

namespace chop::passes {
namespace {

using Module = const std::shared_ptr<runtime::GraphModuleImpl>&;

void measure_params(const ir::Graph& g, const NoOptions&, Module, MetricValues& out) {
  out["params"] = static_cast<double>(g.count_params());
}
void measure_flops(const ir::Graph& g, const NoOptions&, Module, MetricValues& out) {
  out["flops"] = static_cast<double>(count_flops(g).flops);
}
void measure_macs(const ir::Graph& g, const NoOptions&, Module, MetricValues& out) {
  out["macs"] = static_cast<double>(count_flops(g).macs);
}
void measure_bops(const ir::Graph& g, const NoOptions&, Module, MetricValues& out) {
  out["bops"] = static_cast<double>(count_bops(g));
}
void measure_model_size(const ir::Graph& g, const NoOptions&, Module, MetricValues& out) {
  out["model_size"] = model_size_bytes(g);
}
void measure_average_bitwidth(const ir::Graph& g, const MemoryDensityOptions& o, Module, MetricValues& out) {
  out["average_bitwidth"] = average_bitwidth(g);
  out["memory_density"] = memory_density(g, o.compare_to);
}
void measure_latency_ms(const ir::Graph& g, const LatencyOptions& o, Module module, MetricValues& out) {
  PassContext ctx;
  ctx.module = module;
  out["latency"] = measure_latency(g, ctx, o).median_ms;
}

}  // namespace

const std::vector<HardwareMetric>& hardware_metric_registry() {
#define CHOP_HW_METRIC(name, Options, function, also, unit, better, description)              \
  HardwareMetric{#name, #Options, [](OptionReader& r) { return std::any(Options::read(r)); }, \
                 [] {                                                                           \
                   OptionReader r(nlohmann::ordered_json::object(), "docs");                    \
                   Options::read(r);                                                            \
                   return r.docs();                                                             \
                 },                                                                             \
                 [](const ir::Graph& g, const std::any& o, Module m, MetricValues& out) {       \
                   function(g, std::any_cast<const Options&>(o), m, out);                       \
                 }},
  static const std::vector<HardwareMetric> registry{
#include "chop/passes/hardware_metrics.def"
  };
#undef CHOP_HW_METRIC
  return registry;
}

const HardwareMetric& hardware_metric(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& m : hardware_metric_registry()) {
    if (name == m.name) return m;
    names.push_back(m.name);
  }
  throw ConfigError(unknown_name_message("hardware runner", name, names));
}

}  // namespace chop::passes
