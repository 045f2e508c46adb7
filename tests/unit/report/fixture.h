// A small hand-made 2-objective study (and its results directory) for the report tests.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "chop/results/study_results.h"

namespace chop::report::testing {

using namespace chop::results;

inline const char* const kCm = "seq_blocks_2/channel_multiplier";
inline const char* const kName = "linear/config/name";

/// log.json of the fixture. accuracy (max) and bops (min, scaled):
///   0 COMPLETE cm=1 integer   (0.60, 2)  front
///   1 COMPLETE cm=2 integer   (0.70, 4)  front
///   2 PRUNED   cm=1 minifloat            intermediate {0: 0.3}
///   3 COMPLETE cm=2 minifloat (0.65, 5)  dominated by 1
///   4 FAIL     cm=3 integer
///   5 COMPLETE cm=3 integer   (0.80, 6)  infeasible (constraint 0.5 > 0)
///   6 COMPLETE cm=4 minifloat (0.75, 8)  front
inline nlohmann::ordered_json fixture_log() {
  using J = nlohmann::ordered_json;
  auto complete = [](int n, int cm, const char* name, double acc, double bops) {
    return J{{"number", n}, {"state", "COMPLETE"}, {"values", {acc, bops}},
             {"params", {{kCm, cm}, {kName, name}}},
             {"software_metrics", {{"loss", 1.0 - acc}, {"accuracy", acc}}},
             {"hardware_metrics", {{"bops", bops * 1e6}, {"params", 100 * cm}}},
             {"scaled_metrics", {{"accuracy", acc}, {"bops", bops}}},
             {"duration_s", 1.5}};
  };
  J log = J::array();
  log.push_back(complete(0, 1, "integer", 0.60, 2));
  log.back()["intermediate_values"] = {{"0", 0.5}, {"1", 0.6}};
  log.push_back(complete(1, 2, "integer", 0.70, 4));
  log.back()["intermediate_values"] = {{"0", 0.55}, {"1", 0.7}};
  log.push_back({{"number", 2}, {"state", "PRUNED"}, {"values", J::array()},
                 {"params", {{kCm, 1}, {kName, "minifloat"}}}, {"intermediate_values", {{"0", 0.3}}}});
  log.push_back(complete(3, 2, "minifloat", 0.65, 5));
  log.push_back({{"number", 4}, {"state", "FAIL"}, {"values", J::array()},
                 {"params", {{kCm, 3}, {kName, "integer"}}}, {"fail_reason", "out of memory"}});
  log.push_back(complete(5, 3, "integer", 0.80, 6));
  log.back()["constraints"] = {0.5};
  log.push_back(complete(6, 4, "minifloat", 0.75, 8));
  return log;
}

inline nlohmann::ordered_json fixture_config(bool summed = false) {
  nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
  metrics["accuracy"] = {{"scale", 1.0}, {"direction", "maximize"}};
  metrics["bops"] = {{"scale", 1e-6}, {"direction", "minimize"}};
  nlohmann::ordered_json c = nlohmann::ordered_json::object();
  c["project"] = "fixture";
  c["search"] = {{"search_space", {{"name", "graph/redefine_linear"}}},
                 {"strategy", {{"setup", {{"n_trials", 7}, {"sum_scaled_metrics", summed},
                                          {"direction", "maximize"}, {"pruning_metric", "accuracy"}}},
                               {"metrics", metrics}}}};
  return c;
}

/// study.json of the fixture: what the search decided its values mean.
inline nlohmann::ordered_json fixture_meaning(bool summed = false) {
  StudyResults s;
  s.name = "fixture";
  s.metrics = {{"accuracy", 1.0, "maximize"}, {"bops", 1e-6, "minimize"}};
  if (summed)
    s.objectives = {{"sum_scaled_metrics", true}};
  else
    s.objectives = {{"accuracy", true}, {"bops", false}};
  nlohmann::ordered_json j = {{"name", "fixture"}};
  j.update(meaning_json(s));
  return j;
}

inline void write_json(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

/// A fresh results directory under the test temp dir holding the fixture.
inline std::string write_fixture_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("chop_report_test_" + name);
  std::filesystem::remove_all(dir);
  auto log = fixture_log();
  write_json(dir / "log.json", log.dump(2));
  write_json(dir / "best.json", nlohmann::ordered_json::array({log[0], log[1], log[6]}).dump(2));
  write_json(dir / "resolved_config.json", fixture_config().dump(2));
  write_json(dir / "study.json", fixture_meaning().dump(2));
  return dir.string();
}

/// The fixture as a StudyResults, without touching files.
inline StudyResults fixture_study() {
  StudyResults s;
  s.name = "fixture";
  s.source = "memory";
  auto log = fixture_log();
  for (size_t i = 0; i < log.size(); ++i) s.trials.push_back(parse_trial(log[i], "fixture"));
  read_meaning(fixture_meaning(), "fixture", s);
  s.resolved_config = fixture_config();
  s.best_numbers = {0, 1, 6};
  return s;
}

}  // namespace chop::report::testing
