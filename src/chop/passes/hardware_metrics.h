// The hardware metrics of hardware_metrics.def: their options, read and checked once, and the
// functions that measure a transformed graph.
#pragma once

#include <any>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chop/ir/graph.h"
#include "chop/support/option_reader.h"

namespace chop::runtime {
class GraphModuleImpl;
}

namespace chop::passes {

/// Metric name -> value, as one runner produced them.
using MetricValues = std::map<std::string, double>;

/// A registry entry (from hardware_metrics.def).
struct HardwareMetric {
  const char* name;
  const char* options_type;
  /// Reads the runner's table (OptionReader::finish() is the caller's): ConfigError for bad values.
  std::any (*read)(OptionReader& reader);
  /// Measures g (module: its weights, for measured metrics; may be null) with options from read().
  /// The keys its [search.strategy.hw_runner.<name>] table takes, with defaults.
  std::vector<OptionDoc> (*option_docs)();
  void (*measure)(const ir::Graph& g, const std::any& options,
                  const std::shared_ptr<runtime::GraphModuleImpl>& module,
                  MetricValues& out);
};

/// Every hardware metric in hardware_metrics.def order.
const std::vector<HardwareMetric>& hardware_metric_registry();
/// The metric called name; ConfigError listing the known ones.
const HardwareMetric& hardware_metric(const std::string& name);

}  // namespace chop::passes
