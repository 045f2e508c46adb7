// What each metric means: software metrics listed here, hardware ones from hardware_metrics.def.
#include "chop/results/metric_info.h"

#include <string>

namespace chop::results {

const std::vector<MetricInfo>& metric_registry() {
#define CHOP_HW_METRIC(name, Options, function, also, unit, better, description) \
  MetricInfo{#name, true, #Options, also, unit, std::string(#better) == "higher", description},
  static const std::vector<MetricInfo> registry{
      // What train::ClassificationMetrics::to_json holds, in its order.
      {"loss", false, "", "", "cross-entropy", false, "mean cross-entropy loss on the runner's split"},
      {"accuracy", false, "", "", "fraction", true, "fraction of samples classified correctly"},
      {"precision_macro", false, "", "", "fraction", true, "precision, unweighted mean over classes"},
      {"recall_macro", false, "", "", "fraction", true, "recall, unweighted mean over classes"},
      {"f1_macro", false, "", "", "fraction", true, "F1, unweighted mean over classes"},
      {"precision_weighted", false, "", "", "fraction", true, "precision, mean over classes weighted by support"},
      {"recall_weighted", false, "", "", "fraction", true, "recall, mean over classes weighted by support"},
      {"f1_weighted", false, "", "", "fraction", true, "F1, mean over classes weighted by support"},
#include "chop/passes/hardware_metrics.def"
  };
#undef CHOP_HW_METRIC
  return registry;
}

const MetricInfo* find_metric(const std::string& name) {
  for (const auto& m : metric_registry())
    if (name == m.name) return &m;
  return nullptr;
}

std::vector<std::string> metric_names(bool hardware) {
  std::vector<std::string> out;
  for (const auto& m : metric_registry())
    if (m.hardware == hardware) out.push_back(m.name);
  return out;
}

std::vector<std::string> runner_metrics(const std::string& runner) {
  std::vector<std::string> out{runner};
  if (const MetricInfo* m = find_metric(runner); m && *m->also) out.push_back(m->also);
  return out;
}

std::string metric_label(const std::string& name) {
  const MetricInfo* m = find_metric(name);
  return m ? name + " (" + m->unit + ")" : name;
}

}  // namespace chop::results
