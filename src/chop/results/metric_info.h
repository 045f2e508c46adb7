// What each metric a search can record means: the software metrics of the trainer's evaluation
// and the hardware metrics of passes/hardware_metrics.def (read here without their functions,
// so the LibTorch-free report can label its axes).
#pragma once

#include <string>
#include <vector>

namespace chop::results {

struct MetricInfo {
  const char* name;
  bool hardware;             ///< false: a software metric (every runner produces them all)
  const char* options_type;  ///< of its [search.strategy.hw_runner.<name>] table ("" software)
  const char* also;          ///< other metrics the same hardware runner produces ("" none)
  const char* unit;
  bool higher_is_better;  ///< the pruner's direction for a software metric; the report's hint
  const char* description;
};

/// Software metrics, then hardware metrics in hardware_metrics.def order.
const std::vector<MetricInfo>& metric_registry();
/// The metric called name, or nullptr.
const MetricInfo* find_metric(const std::string& name);
/// Names of the software (hardware = false) or hardware metrics.
std::vector<std::string> metric_names(bool hardware);
/// The metrics a hardware runner produces: itself and its `also`.
std::vector<std::string> runner_metrics(const std::string& runner);
/// An axis title: "bops (bit operations / sample)"; an unknown name stays as it is.
std::string metric_label(const std::string& name);

}  // namespace chop::results
