// Vega-Lite specs of the report's plots, one function per plot kind, data inlined.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "chop/results/study_results.h"

namespace chop::report {

using namespace chop::results;  // the report shows the search's own result types

/// The Vega-Lite schema the specs are written for (the major version pinned in package.json).
extern const char* const kVegaLiteSchema;

/// A field reference for a data key: Vega-Lite reads '.' and '[' ']' as nested access, so they
/// are escaped with a backslash.
std::string vl_field(const std::string& key);

/// Optimization history: rows {number, objective, series: "value" | "best so far", value} for
/// every complete trial and objective, faceted by objective; best so far honours each
/// objective's direction.
nlohmann::json history_spec(const StudyResults& study);

/// Every metric (software then hardware) against one param: a concat of one chart per metric,
/// each with rows {number, param, metric} for the complete trials that have both; points plus
/// the mean per param value as a line (the seeds' figures, e.g. accuracy vs channel_multiplier).
nlohmann::json metric_vs_param_spec(const StudyResults& study, const std::string& param);

/// Pareto front of a 2-objective study: rows for every feasible complete trial {number, obj0,
/// obj1, front: bool, "param: <key>"..., "sw: <metric>"..., "hw: <metric>"...}, the front
/// highlighted and joined by a line, a tooltip with each trial's params and metrics. Null when
/// the study does not have exactly 2 objectives.
nlohmann::json pareto_spec(const StudyResults& study);

/// Parallel coordinates over params then objectives: rows {number, dim, order, raw, norm, color}
/// per complete trial and dimension, norm in [0, 1] (numbers min-max scaled, categories by
/// sorted index), coloured by the first objective. Null without complete trials.
nlohmann::json parallel_coordinates_spec(const StudyResults& study);

/// Parameter importance (see param_importance): rows {param, objective, importance, method,
/// n_trials} as bars. Null without params.
nlohmann::json importance_spec(const StudyResults& study);

/// Intermediate values (learning curves): rows {number, step, value, state} for every trial
/// that reported any, lines coloured by state (completed vs pruned). Null when none did.
nlohmann::json intermediate_values_spec(const StudyResults& study);

/// A supernet search's fidelity: rows {number, role ("best" retrained | "sample"), supernet,
/// standalone} per configuration trained stand-alone, the supernet's score against the
/// stand-alone value of supernet.json's metric, with the y = x line. Null without a supernet.
nlohmann::json supernet_fidelity_spec(const StudyResults& study);

/// One chart of the report.
struct Chart {
  std::string id;     ///< HTML element id, e.g. "chart-history"
  std::string title;  ///< section heading
  std::string note;   ///< one line under the heading
  nlohmann::json spec;
};

/// The report's charts in page order, skipping kinds that do not apply (null specs).
std::vector<Chart> report_charts(const StudyResults& study);

}  // namespace chop::report
