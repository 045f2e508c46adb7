// Every plot kind: its spec's data checked against the fixture study.
#include <gtest/gtest.h>

#include <set>

#include "chop/report/plots.h"
#include "unit/report/fixture.h"

using namespace chop::report;
using namespace chop::report::testing;
using Json = nlohmann::json;

namespace {

const Json& rows_of(const Json& spec) { return spec.at("data").at("values"); }

std::vector<Json> where(const Json& rows, const std::string& key, const Json& value) {
  std::vector<Json> out;
  for (const auto& r : rows)
    if (r.at(key) == value) out.push_back(r);
  return out;
}

}  // namespace

TEST(Plots, FieldEscaping) {
  EXPECT_EQ(vl_field("a/b"), "a/b");
  EXPECT_EQ(vl_field("seq.blocks[2]"), "seq\\.blocks\\[2\\]");
}

TEST(Plots, HistoryValuesAndBestSoFar) {
  auto spec = history_spec(fixture_study());
  EXPECT_EQ(spec["$schema"], kVegaLiteSchema);
  const Json& rows = rows_of(spec);
  EXPECT_EQ(rows.size(), 2u * 5u * 2u);  // objectives x complete trials x series
  auto acc = where(rows, "objective", "accuracy (fraction, maximize)");
  std::vector<double> values, best;
  std::vector<int64_t> numbers;
  for (const auto& r : acc) {
    if (r["series"] == "value") {
      values.push_back(r["value"]);
      numbers.push_back(r["number"]);
    } else {
      best.push_back(r["value"]);
    }
  }
  EXPECT_EQ(numbers, (std::vector<int64_t>{0, 1, 3, 5, 6}));
  EXPECT_EQ(values, (std::vector<double>{0.60, 0.70, 0.65, 0.80, 0.75}));
  EXPECT_EQ(best, (std::vector<double>{0.60, 0.70, 0.70, 0.80, 0.80}));
  std::vector<double> bops_best;
  for (const auto& r : where(rows, "objective", "bops x 1e-06 (bit operations / sample, minimize)"))
    if (r["series"] == "best so far") bops_best.push_back(r["value"]);
  EXPECT_EQ(bops_best, (std::vector<double>{2, 2, 2, 2, 2}));
  EXPECT_EQ(spec["facet"]["row"]["field"], "objective");
}

TEST(Plots, MetricVsParamOneChartPerMetric) {
  auto spec = metric_vs_param_spec(fixture_study(), kCm);
  const Json& charts = spec.at("concat");
  ASSERT_EQ(charts.size(), 4u);  // loss, accuracy, bops, params
  std::vector<std::string> titles;
  for (const auto& c : charts) titles.push_back(c["title"]);
  EXPECT_EQ(titles[1], "accuracy");
  EXPECT_EQ(titles[3], "params");
  const Json& acc = rows_of(charts[1]);
  ASSERT_EQ(acc.size(), 5u);
  EXPECT_EQ(acc[2]["number"], 3);
  EXPECT_EQ(acc[2]["param"], 2);
  EXPECT_DOUBLE_EQ(acc[2]["metric"].get<double>(), 0.65);
  EXPECT_DOUBLE_EQ(rows_of(charts[2])[4]["metric"].get<double>(), 8e6);  // bops of trial 6
  EXPECT_EQ(charts[1]["layer"][0]["encoding"]["x"]["type"], "quantitative");
  EXPECT_EQ(charts[1]["layer"][1]["encoding"]["y"]["aggregate"], "mean");

  auto cat = metric_vs_param_spec(fixture_study(), kName);
  EXPECT_EQ(cat["concat"][0]["layer"][0]["encoding"]["x"]["type"], "ordinal");
  EXPECT_EQ(rows_of(cat["concat"][0])[3]["param"], "integer");
}

TEST(Plots, ParetoFrontRowsAndTooltip) {
  auto spec = pareto_spec(fixture_study());
  const Json& rows = rows_of(spec);
  ASSERT_EQ(rows.size(), 4u);  // feasible complete: 0, 1, 3, 6
  std::vector<int64_t> front, all;
  for (const auto& r : rows) {
    all.push_back(r["number"]);
    if (r["front"] == true) front.push_back(r["number"]);
  }
  EXPECT_EQ(all, (std::vector<int64_t>{0, 1, 3, 6}));
  EXPECT_EQ(front, (std::vector<int64_t>{0, 1, 6}));
  EXPECT_DOUBLE_EQ(rows[3]["obj0"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(rows[3]["obj1"].get<double>(), 8);
  EXPECT_EQ(rows[3][std::string("param: ") + kName], "minifloat");
  EXPECT_DOUBLE_EQ(rows[3]["sw: accuracy"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(rows[3]["hw: params"].get<double>(), 400);
  std::set<std::string> tip_fields;
  for (const auto& t : spec["layer"][1]["encoding"]["tooltip"]) tip_fields.insert(t["field"]);
  for (const char* f : {"number", "obj0", "obj1", "sw: loss", "sw: accuracy", "hw: bops", "hw: params"})
    EXPECT_TRUE(tip_fields.count(f)) << f;
  EXPECT_TRUE(tip_fields.count(std::string("param: ") + kCm));

  auto single = fixture_study();
  single.objectives.resize(1);
  EXPECT_TRUE(pareto_spec(single).is_null());
}

TEST(Plots, ParallelCoordinatesNormalised) {
  auto spec = parallel_coordinates_spec(fixture_study());
  const Json& rows = rows_of(spec);
  EXPECT_EQ(rows.size(), 5u * 4u);  // complete trials x (2 params + 2 objectives)
  for (const auto& r : rows) {
    EXPECT_GE(r["norm"].get<double>(), 0.0);
    EXPECT_LE(r["norm"].get<double>(), 1.0);
  }
  auto cm = where(rows, "dim", kCm);
  ASSERT_EQ(cm.size(), 5u);
  EXPECT_EQ(cm[1]["number"], 1);
  EXPECT_NEAR(cm[1]["norm"].get<double>(), 1.0 / 3.0, 1e-12);  // cm 2 in [1, 4]
  auto name = where(rows, "dim", kName);
  EXPECT_DOUBLE_EQ(name[0]["norm"].get<double>(), 0.0);  // integer
  EXPECT_DOUBLE_EQ(name[2]["norm"].get<double>(), 1.0);  // minifloat
  auto bops = where(rows, "dim", "bops x 1e-06 (bit operations / sample, minimize)");
  EXPECT_EQ(bops[4]["raw"], "8.0");
  EXPECT_DOUBLE_EQ(bops[4]["norm"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(bops[4]["color"].get<double>(), 0.75);  // coloured by accuracy
  EXPECT_EQ(spec["layer"][1]["encoding"]["x"]["sort"],
            Json({kCm, kName, "accuracy (fraction, maximize)", "bops x 1e-06 (bit operations / sample, minimize)"}));
}

TEST(Plots, ImportanceBars) {
  auto spec = importance_spec(fixture_study());
  const Json& rows = rows_of(spec);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0]["param"], kCm);
  EXPECT_EQ(rows[0]["objective"], "accuracy");
  EXPECT_NEAR(rows[0]["importance"].get<double>(), 0.95, 1e-9);
  EXPECT_NEAR(rows[3]["importance"].get<double>(), 0.375, 1e-9);
  EXPECT_EQ(spec["mark"]["type"], "bar");
}

TEST(Plots, IntermediateValuesByState) {
  auto spec = intermediate_values_spec(fixture_study());
  const Json& rows = rows_of(spec);
  ASSERT_EQ(rows.size(), 5u);  // trial 0: 2 steps, 1: 2, 2 (pruned): 1
  auto pruned = where(rows, "state", "PRUNED");
  ASSERT_EQ(pruned.size(), 1u);
  EXPECT_EQ(pruned[0]["number"], 2);
  EXPECT_DOUBLE_EQ(pruned[0]["value"].get<double>(), 0.3);
  EXPECT_EQ(where(rows, "state", "COMPLETE").size(), 4u);
  EXPECT_EQ(spec["encoding"]["color"]["field"], "state");
  EXPECT_EQ(spec["encoding"]["color"]["scale"]["domain"], Json({"COMPLETE", "PRUNED"}));
  EXPECT_EQ(spec["encoding"]["y"]["title"], "accuracy");

  auto none = fixture_study();
  for (auto& t : none.trials) t.intermediate_values.clear();
  EXPECT_TRUE(intermediate_values_spec(none).is_null());
}

TEST(Plots, ReportChartsInPageOrder) {
  std::vector<std::string> ids;
  for (const auto& c : report_charts(fixture_study())) ids.push_back(c.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"chart-history", "chart-pareto", "chart-param-0", "chart-param-1",
                                           "chart-parallel", "chart-importance", "chart-intermediate"}));
}
