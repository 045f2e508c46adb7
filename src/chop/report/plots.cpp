// The report's Vega-Lite specs, built from a StudyResults with nlohmann::json.
#include "chop/report/plots.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "chop/report/analysis.h"
#include "chop/results/metric_info.h"

namespace chop::report {
namespace {

using Json = nlohmann::json;

const char* const kStateColors[][2] = {
    {"COMPLETE", "#4c78a8"}, {"PRUNED", "#e45756"}, {"FAIL", "#9d755d"}, {"RUNNING", "#bab0ac"},
    {"WAITING", "#bab0ac"}};

Json base_spec(const std::string& description) {
  return {{"$schema", kVegaLiteSchema}, {"description", description}};
}

/// Colours of the trial states in `present` (so the legend lists only those).
Json state_color_scale(const std::set<std::string>& present) {
  Json domain = Json::array(), range = Json::array();
  for (const auto& sc : kStateColors) {
    if (!present.count(sc[0])) continue;
    domain.push_back(sc[0]);
    range.push_back(sc[1]);
  }
  return {{"domain", domain}, {"range", range}};
}

std::string direction_word(bool maximize) { return maximize ? "maximize" : "minimize"; }

/// An objective's axis title, from the metric table: "bops x 1e-06 (bit operations / sample,
/// minimize)"; a name the table does not know keeps just its direction.
std::string objective_title(const StudyResults& study, const Objective& o) {
  std::string scale;
  for (const auto& m : study.metrics)
    if (m.name == o.name && m.scale != 1.0) scale = fmt::format(" x {:g}", m.scale);
  const MetricInfo* info = find_metric(o.name);
  return o.name + scale + " (" + (info ? std::string(info->unit) + ", " : "") + direction_word(o.maximize) + ")";
}

bool all_numeric(const StudyResults& study, const std::string& key) {
  for (const auto& t : study.trials)
    if (const Json* v = t.param(key); v && !v->is_number()) return false;
  return true;
}

/// Metric name -> value for one trial, software then hardware.
const double* metric_of(const TrialRecord& t, const std::string& name) {
  if (const double* v = find_value(t.software_metrics, name)) return v;
  return find_value(t.hardware_metrics, name);
}

std::vector<std::string> metric_keys(const StudyResults& study) {
  auto keys = study.software_metric_keys();
  for (const auto& k : study.hardware_metric_keys())
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  return keys;
}

Json tooltip(const std::string& key, const std::string& title, const char* type = "nominal") {
  return {{"field", vl_field(key)}, {"title", title}, {"type", type}};
}

}  // namespace

const char* const kVegaLiteSchema = "https://vega.github.io/schema/vega-lite/v6.json";

std::string vl_field(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '.' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

Json history_spec(const StudyResults& study) {
  const auto trials = complete_trials(study);
  Json rows = Json::array();
  Json names = Json::array();
  for (size_t k = 0; k < study.objectives.size(); ++k) {
    const Objective& obj = study.objectives[k];
    std::string name = objective_title(study, obj);
    names.push_back(name);
    auto best = best_so_far(trials, k, obj.maximize);
    for (size_t i = 0; i < trials.size(); ++i) {
      rows.push_back({{"number", trials[i]->number}, {"objective", name}, {"series", "value"},
                      {"value", trials[i]->values[k]}});
      rows.push_back({{"number", trials[i]->number}, {"objective", name}, {"series", "best so far"},
                      {"value", best[i]}});
    }
  }
  Json color = {{"field", "series"}, {"type", "nominal"}, {"title", nullptr},
                {"scale", {{"domain", {"value", "best so far"}}, {"range", {"#4c78a8", "#f58518"}}}}};
  Json x = {{"field", "number"}, {"type", "quantitative"}, {"title", "trial"}, {"axis", {{"tickMinStep", 1}}}};
  Json y = {{"field", "value"}, {"type", "quantitative"}, {"title", nullptr}, {"scale", {{"zero", false}}}};
  Json tip = Json::array({tooltip("number", "trial", "quantitative"), tooltip("series", "series"),
                          tooltip("value", "value", "quantitative")});
  Json points = {{"transform", {{{"filter", "datum.series === 'value'"}}}},
                 {"mark", {{"type", "point"}, {"filled", true}, {"size", 50}}},
                 {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"tooltip", tip}}}};
  Json line = {{"transform", {{{"filter", "datum.series === 'best so far'"}}}},
               {"mark", {{"type", "line"}, {"interpolate", "step-after"}}},
               {"encoding", {{"x", x}, {"y", y}, {"color", color}}}};
  Json spec = base_spec("optimization history: objective value and best so far per trial");
  spec["data"] = {{"values", rows}};
  spec["facet"] = {{"row", {{"field", "objective"}, {"type", "nominal"}, {"sort", names},
                            {"header", {{"title", nullptr}, {"labelFontWeight", "bold"}}}}}};
  spec["spec"] = {{"width", 640}, {"height", 220}, {"layer", {points, line}}};
  spec["resolve"] = {{"scale", {{"y", "independent"}}}};
  return spec;
}

Json metric_vs_param_spec(const StudyResults& study, const std::string& param) {
  const bool numeric = all_numeric(study, param);
  bool integral = numeric;
  for (const auto& t : study.trials)
    if (const Json* v = t.param(param); v && !v->is_number_integer()) integral = false;
  Json charts = Json::array();
  for (const auto& metric : metric_keys(study)) {
    Json rows = Json::array();
    for (const auto* t : complete_trials(study)) {
      const Json* p = t->param(param);
      const double* m = metric_of(*t, metric);
      if (!p || !m) continue;
      rows.push_back({{"number", t->number}, {"param", *p}, {"metric", *m}});
    }
    Json x = {{"field", "param"}, {"type", numeric ? "quantitative" : "ordinal"}, {"title", param},
              {"axis", {{"labelAngle", 0}}}};
    if (numeric) x["scale"] = {{"zero", false}, {"nice", false}, {"padding", 12}};
    if (integral) x["axis"]["tickMinStep"] = 1;
    Json y = {{"field", "metric"}, {"type", "quantitative"}, {"title", metric}, {"scale", {{"zero", false}}}};
    Json tip = Json::array({tooltip("number", "trial", "quantitative"), tooltip("param", param),
                            tooltip("metric", metric, "quantitative")});
    Json points = {{"mark", {{"type", "point"}, {"filled", true}, {"opacity", 0.7}}},
                   {"encoding", {{"x", x}, {"y", y}, {"tooltip", tip}}}};
    Json y_mean = y;
    y_mean["aggregate"] = "mean";
    Json mean = {{"mark", {{"type", "line"}, {"color", "#f58518"}, {"point", true}}},
                 {"encoding", {{"x", x}, {"y", y_mean}}}};
    charts.push_back({{"title", metric}, {"width", 190}, {"height", 140},
                      {"data", {{"values", rows}}}, {"layer", {points, mean}}});
  }
  Json spec = base_spec("every metric against " + param + " (points: trials; line: mean per value)");
  spec["columns"] = 4;
  spec["concat"] = charts;
  return spec;
}

Json pareto_spec(const StudyResults& study) {
  if (study.objectives.size() != 2) return nullptr;
  const auto front = pareto_front(study);
  const auto keys = study.param_keys();
  const auto sw_keys = study.software_metric_keys();
  const auto hw_keys = study.hardware_metric_keys();
  Json rows = Json::array();
  for (const auto* t : complete_trials(study)) {
    if (!t->feasible()) continue;
    bool on_front = std::find(front.begin(), front.end(), t->number) != front.end();
    Json row = {{"number", t->number}, {"obj0", t->values[0]}, {"obj1", t->values[1]}, {"front", on_front},
                {"kind", on_front ? "Pareto front" : "dominated"}};
    for (const auto& [k, v] : t->params) row["param: " + k] = v;
    for (const auto& [k, v] : t->software_metrics) row["sw: " + k] = v;
    for (const auto& [k, v] : t->hardware_metrics) row["hw: " + k] = v;
    rows.push_back(row);
  }
  const Objective& o0 = study.objectives[0];
  const Objective& o1 = study.objectives[1];
  Json tip = Json::array({tooltip("number", "trial", "quantitative"),
                          tooltip("obj0", o0.name, "quantitative"), tooltip("obj1", o1.name, "quantitative")});
  for (const auto& k : keys) tip.push_back(tooltip("param: " + k, k));
  for (const auto& k : sw_keys) tip.push_back(tooltip("sw: " + k, k, "quantitative"));
  for (const auto& k : hw_keys) tip.push_back(tooltip("hw: " + k, k, "quantitative"));
  Json x = {{"field", "obj0"}, {"type", "quantitative"}, {"scale", {{"zero", false}}},
            {"title", objective_title(study, o0)}};
  Json y = {{"field", "obj1"}, {"type", "quantitative"}, {"scale", {{"zero", false}}},
            {"title", objective_title(study, o1)}};
  Json color = {{"field", "kind"}, {"type", "nominal"}, {"title", nullptr},
                {"scale", {{"domain", {"Pareto front", "dominated"}}, {"range", {"#e45756", "#9fb3c8"}}}}};
  Json line = {{"transform", {{{"filter", "datum.front"}}}},
               {"mark", {{"type", "line"}, {"color", "#e45756"}, {"strokeDash", {4, 3}}}},
               {"encoding", {{"x", x}, {"y", y}, {"order", {{"field", "obj0"}, {"type", "quantitative"}}}}}};
  Json points = {{"mark", {{"type", "point"}, {"filled", true}}},
                 {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"tooltip", tip},
                               {"size", {{"condition", {{"test", "datum.front"}, {"value", 120}}}, {"value", 45}}}}}};
  Json spec = base_spec("Pareto front of the feasible complete trials");
  spec["width"] = 640;
  spec["height"] = 380;
  spec["data"] = {{"values", rows}};
  spec["layer"] = {line, points};
  return spec;
}

Json parallel_coordinates_spec(const StudyResults& study) {
  const auto trials = complete_trials(study);
  if (trials.empty()) return nullptr;
  struct Dim {
    std::string label;
    std::vector<Json> values;  // per trial (null when absent)
  };
  std::vector<Dim> dims;
  for (const auto& key : study.param_keys()) {
    Dim d{key, {}};
    for (const auto* t : trials) d.values.push_back(t->param(key) ? *t->param(key) : Json(nullptr));
    dims.push_back(d);
  }
  for (size_t k = 0; k < study.objectives.size(); ++k) {
    Dim d{objective_title(study, study.objectives[k]), {}};
    for (const auto* t : trials) d.values.push_back(t->values[k]);
    dims.push_back(d);
  }
  Json rows = Json::array(), labels = Json::array(), order = Json::array();
  for (size_t di = 0; di < dims.size(); ++di) {
    const Dim& d = dims[di];
    order.push_back(d.label);
    bool numeric = std::all_of(d.values.begin(), d.values.end(), [](const Json& v) { return v.is_null() || v.is_number(); });
    double lo = 0, hi = 0;
    bool seen = false;
    std::set<std::string> cats;
    for (const auto& v : d.values) {
      if (v.is_null()) continue;
      if (numeric) {
        double x = v.get<double>();
        lo = seen ? std::min(lo, x) : x;
        hi = seen ? std::max(hi, x) : x;
        seen = true;
      } else {
        cats.insert(param_label(v));
      }
    }
    std::vector<std::string> cat_list(cats.begin(), cats.end());
    auto norm_of = [&](const Json& v) {
      if (numeric) return hi > lo ? (v.get<double>() - lo) / (hi - lo) : 0.5;
      if (cat_list.size() < 2) return 0.5;
      auto it = std::find(cat_list.begin(), cat_list.end(), param_label(v));
      return static_cast<double>(it - cat_list.begin()) / static_cast<double>(cat_list.size() - 1);
    };
    for (size_t i = 0; i < trials.size(); ++i) {
      if (d.values[i].is_null()) continue;
      rows.push_back({{"number", trials[i]->number}, {"dim", d.label}, {"order", di},
                      {"raw", param_label(d.values[i])}, {"norm", norm_of(d.values[i])},
                      {"color", trials[i]->values[0]}});
    }
    if (numeric && seen) {
      labels.push_back({{"dim", d.label}, {"norm", hi > lo ? 0.0 : 0.5}, {"label", fmt::format("{:.4g}", lo)}});
      if (hi > lo) labels.push_back({{"dim", d.label}, {"norm", 1.0}, {"label", fmt::format("{:.4g}", hi)}});
    }
    if (!numeric)
      for (const auto& c : cat_list) labels.push_back({{"dim", d.label}, {"norm", norm_of(Json(c))}, {"label", c}});
  }
  Json x = {{"field", "dim"}, {"type", "nominal"}, {"sort", order}, {"title", nullptr},
            {"axis", {{"labelAngle", 0}, {"domain", false}, {"ticks", false}, {"orient", "top"},
                      {"labelLimit", 180}}}};
  // A margin above and below so the min / max labels clear the axis titles.
  Json y = {{"field", "norm"}, {"type", "quantitative"}, {"axis", nullptr}, {"scale", {{"domain", {-0.06, 1.06}}}}};
  Json axis_rows = Json::array();
  for (const auto& d : dims) axis_rows.push_back({{"dim", d.label}, {"lo", 0.0}, {"hi", 1.0}});
  const Objective& o0 = study.objectives[0];
  Json lines = {{"mark", {{"type", "line"}, {"opacity", 0.7}, {"strokeWidth", 1.5}}},
                {"encoding", {{"x", x}, {"y", y}, {"detail", {{"field", "number"}, {"type", "nominal"}}},
                              {"order", {{"field", "order"}, {"type", "quantitative"}}},
                              {"color", {{"field", "color"}, {"type", "quantitative"}, {"title", o0.name},
                                         {"scale", {{"scheme", o0.maximize ? "viridis" : "plasma"},
                                                    {"reverse", !o0.maximize}}}}},
                              {"tooltip", Json::array({tooltip("number", "trial", "quantitative"),
                                                       tooltip("dim", "dimension"), tooltip("raw", "value")})}}}};
  Json y_lo = y;
  y_lo["field"] = "lo";
  Json rules = {{"data", {{"values", axis_rows}}},
                {"mark", {{"type", "rule"}, {"color", "#999"}}},
                {"encoding", {{"x", x}, {"y", y_lo}, {"y2", {{"field", "hi"}}}}}};
  Json axes = {{"data", {{"values", labels}}},
               {"mark", {{"type", "tick"}, {"color", "#555"}, {"size", 10}, {"orient", "horizontal"}}},
               {"encoding", {{"x", x}, {"y", y}}}};
  Json text = {{"data", {{"values", labels}}},
               {"mark", {{"type", "text"}, {"align", "left"}, {"dx", 6}, {"fontSize", 10}, {"color", "#333"}}},
               {"encoding", {{"x", x}, {"y", y}, {"text", {{"field", "label"}}}}}};
  Json spec = base_spec("parallel coordinates of the complete trials: params then objectives");
  spec["width"] = std::max<int64_t>(400, 170 * static_cast<int64_t>(dims.size()));
  spec["height"] = 300;
  spec["data"] = {{"values", rows}};
  spec["layer"] = {rules, lines, axes, text};
  return spec;
}

Json importance_spec(const StudyResults& study) {
  if (study.param_keys().empty()) return nullptr;
  Json rows = Json::array();
  for (const auto& imp : param_importance(study))
    rows.push_back({{"param", imp.param}, {"objective", imp.objective}, {"importance", imp.value},
                    {"method", imp.method}, {"n_trials", imp.n_trials}});
  Json spec = base_spec("parameter importance: share of each objective's variance the param explains");
  spec["width"] = 520;
  spec["data"] = {{"values", rows}};
  spec["mark"] = {{"type", "bar"}, {"tooltip", true}};
  spec["encoding"] = {
      {"y", {{"field", "param"}, {"type", "nominal"}, {"title", nullptr}, {"axis", {{"labelLimit", 260}}}}},
      {"yOffset", {{"field", "objective"}, {"type", "nominal"}}},
      {"x", {{"field", "importance"}, {"type", "quantitative"}, {"scale", {{"domain", {0, 1}}}},
             {"title", "importance (eta^2 or Spearman rho^2)"}}},
      {"color", {{"field", "objective"}, {"type", "nominal"}}},
      {"tooltip", Json::array({tooltip("param", "param"), tooltip("objective", "objective"),
                               tooltip("importance", "importance", "quantitative"), tooltip("method", "method"),
                               tooltip("n_trials", "trials", "quantitative")})}};
  return spec;
}

Json intermediate_values_spec(const StudyResults& study) {
  Json rows = Json::array();
  std::set<std::string> states;
  for (const auto& t : study.trials)
    for (const auto& [step, v] : t.intermediate_values) {
      rows.push_back({{"number", t.number}, {"step", step}, {"value", v}, {"state", to_string(t.state)}});
      states.insert(to_string(t.state));
    }
  if (rows.empty()) return nullptr;
  Json spec = base_spec("intermediate values (the pruning metric per epoch) of every trial");
  spec["width"] = 640;
  spec["height"] = 300;
  spec["data"] = {{"values", rows}};
  spec["mark"] = {{"type", "line"}, {"point", true}, {"opacity", 0.8}};
  spec["encoding"] = {
      {"x", {{"field", "step"}, {"type", "quantitative"}, {"title", "epoch"}, {"axis", {{"tickMinStep", 1}}}}},
      {"y", {{"field", "value"}, {"type", "quantitative"}, {"scale", {{"zero", false}}},
             {"title", study.pruning_metric.empty() ? "intermediate value" : study.pruning_metric}}},
      {"detail", {{"field", "number"}, {"type", "nominal"}}},
      {"color", {{"field", "state"}, {"type", "nominal"}, {"scale", state_color_scale(states)}, {"title", "state"}}},
      {"tooltip", Json::array({tooltip("number", "trial", "quantitative"), tooltip("state", "state"),
                               tooltip("step", "epoch", "quantitative"), tooltip("value", "value", "quantitative")})}};
  return spec;
}

Json supernet_fidelity_spec(const StudyResults& study) {
  if (study.supernet.is_null() || !study.supernet.contains("standalone") || study.supernet["standalone"].empty())
    return nullptr;
  const std::string metric = study.supernet.value("metric", std::string("accuracy"));
  const std::string score = study.supernet.value("score", metric);  // older runs: the metric itself
  Json rows = Json::array();
  double low = 1e300, high = -1e300;
  for (const auto& r : study.supernet["standalone"]) {
    const double a = r.value("score", r.at("supernet").get<double>()), b = r.at("standalone").get<double>();
    rows.push_back({{"number", r.at("trial")}, {"role", r.at("role")}, {"score", a}, {"standalone", b}});
    low = std::min({low, a, b});
    high = std::max({high, a, b});
  }
  Json spec = base_spec("supernet scores against stand-alone training");
  spec["width"] = 420;
  spec["height"] = 420;
  Json points = {
      {"data", {{"values", rows}}},
      {"mark", {{"type", "point"}, {"filled", true}, {"size", 70}}},
      {"encoding",
       {{"x", {{"field", "score"}, {"type", "quantitative"}, {"scale", {{"zero", false}}},
               {"title", score + " from the supernet's weights"}}},
        {"y", {{"field", "standalone"}, {"type", "quantitative"}, {"scale", {{"zero", false}}},
               {"title", metric + " trained stand-alone"}}},
        {"color", {{"field", "role"}, {"type", "nominal"}, {"title", "configuration"}}},
        {"tooltip", Json::array({tooltip("number", "trial", "quantitative"), tooltip("role", "role"),
                                 tooltip("score", "supernet " + score, "quantitative"),
                                 tooltip("standalone", "stand-alone " + metric, "quantitative")})}}}};
  if (score != metric) {
    spec["layer"] = Json::array({points});
    return spec;
  }
  // One metric on both axes: the y = x line marks a score equal to stand-alone training's.
  Json diagonal = {{"data", {{"values", Json::array({{{"score", low}, {"standalone", low}},
                                                     {{"score", high}, {"standalone", high}}})}}},
                   {"mark", {{"type", "line"}, {"color", "#bbb"}, {"strokeDash", {4, 4}}}},
                   {"encoding", {{"x", {{"field", "score"}, {"type", "quantitative"}}},
                                 {"y", {{"field", "standalone"}, {"type", "quantitative"}}}}}};
  spec["layer"] = Json::array({diagonal, points});
  return spec;
}

std::vector<Chart> report_charts(const StudyResults& study) {
  std::vector<Chart> charts;
  auto add = [&](std::string id, std::string title, std::string note, Json spec) {
    if (!spec.is_null()) charts.push_back({std::move(id), std::move(title), std::move(note), std::move(spec)});
  };
  add("chart-history", "Optimization history", "objective value of each complete trial and the best so far",
      history_spec(study));
  add("chart-pareto", "Pareto front",
      "feasible complete trials; the front is highlighted; hover a point for its params and metrics",
      pareto_spec(study));
  size_t i = 0;
  for (const auto& key : study.param_keys())
    add(fmt::format("chart-param-{}", i++), "Metrics vs " + key,
        "every software and hardware metric of the complete trials against this param",
        metric_vs_param_spec(study, key));
  add("chart-parallel", "Parallel coordinates", "complete trials: params then objectives, each axis scaled to its range",
      parallel_coordinates_spec(study));
  add("chart-importance", "Parameter importance",
      "eta^2 (variance of the per-value mean / total variance) for categorical or few-valued params, "
      "Spearman rho^2 for numeric params with more than 10 values",
      importance_spec(study));
  add("chart-intermediate", "Intermediate values",
      "per-epoch values of the pruning metric: completed and pruned trials in different colours",
      intermediate_values_spec(study));
  if (!study.supernet.is_null() && study.supernet.contains("fidelity")) {
    const auto& f = study.supernet["fidelity"];
    std::string note = fmt::format(
        "each configuration trained stand-alone (the best {} retrained, the others a random sample): Kendall's tau "
        "{} over {}, top-{} overlap {}/{}",
        f.value("top_k", 0), f["kendall_tau"].is_number() ? fmt::format("{:.3f}", f["kendall_tau"].get<double>()) : "n/a",
        f.value("configs", 0), f.value("top_k", 0), f.value("top_k_overlap", 0), f.value("top_k", 0));
    if (f.contains("warning")) note += ". Warning: " + f["warning"].get<std::string>();
    add("chart-supernet", "Supernet fidelity", note, supernet_fidelity_spec(study));
  }
  return charts;
}

}  // namespace chop::report
