// Loading a results directory: fields, objectives, and clear DataErrors for bad directories.
#include <gtest/gtest.h>

#include <fstream>

#include "chop/results/study_results.h"
#include "chop/search/samplers/sampler.h"
#include "chop/search/study.h"
#include "chop/support/error.h"
#include "unit/report/fixture.h"

using namespace chop;
using namespace chop::results;
using namespace chop::report::testing;
namespace fs = std::filesystem;

namespace {

/// The DataError message of load_results_dir(dir); fails the test when none is thrown.
std::string load_error(const std::string& dir) {
  try {
    load_results_dir(dir);
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no DataError for " << dir;
  return "";
}

}  // namespace

TEST(LoadResults, ReadsTrialsObjectivesAndBest) {
  auto s = load_results_dir(write_fixture_dir("reads"));
  EXPECT_EQ(s.name, "fixture");
  ASSERT_EQ(s.trials.size(), 7u);
  ASSERT_EQ(s.objectives.size(), 2u);
  EXPECT_EQ(s.objectives[0].name, "accuracy");
  EXPECT_TRUE(s.objectives[0].maximize);
  EXPECT_EQ(s.objectives[1].name, "bops");
  EXPECT_FALSE(s.objectives[1].maximize);
  ASSERT_EQ(s.metrics.size(), 2u);
  EXPECT_DOUBLE_EQ(s.metrics[1].scale, 1e-6);
  EXPECT_EQ(s.pruning_metric, "accuracy");
  EXPECT_EQ(s.best_numbers, (std::vector<int64_t>{0, 1, 6}));

  const TrialRecord& t0 = s.trials[0];
  EXPECT_EQ(t0.state, TrialState::Complete);
  EXPECT_EQ(t0.values, (std::vector<double>{0.60, 2}));
  ASSERT_NE(t0.param(kCm), nullptr);
  EXPECT_EQ(*t0.param(kCm), 1);
  EXPECT_EQ(*t0.param(kName), "integer");
  EXPECT_DOUBLE_EQ(*find_value(t0.software_metrics, "accuracy"), 0.60);
  EXPECT_DOUBLE_EQ(*find_value(t0.hardware_metrics, "bops"), 2e6);
  EXPECT_EQ(t0.intermediate_values.size(), 2u);
  EXPECT_DOUBLE_EQ(t0.intermediate_values.at(1), 0.6);
  EXPECT_DOUBLE_EQ(*t0.duration_s, 1.5);
  EXPECT_EQ(s.trials[2].state, TrialState::Pruned);
  EXPECT_EQ(s.trials[4].state, TrialState::Fail);
  EXPECT_EQ(s.trials[4].fail_reason, "out of memory");
  EXPECT_FALSE(s.trials[5].feasible());
  EXPECT_TRUE(s.trials[6].feasible());

  EXPECT_EQ(s.param_keys(), (std::vector<std::string>{kCm, kName}));
  EXPECT_EQ(s.software_metric_keys(), (std::vector<std::string>{"loss", "accuracy"}));
  EXPECT_EQ(s.hardware_metric_keys(), (std::vector<std::string>{"bops", "params"}));
}

TEST(LoadResults, AcceptsTheProjectDirectory) {
  auto dir = fs::temp_directory_path() / "chop_report_test_project";
  fs::remove_all(dir);
  fs::create_directories(dir / "software");
  fs::rename(write_fixture_dir("nested"), dir / "software" / "search_ckpts");
  auto s = load_results_dir(dir.string());
  EXPECT_EQ(s.trials.size(), 7u);
  EXPECT_EQ(s.source, (dir / "software" / "search_ckpts").string());
}

TEST(LoadResults, SummedObjective) {
  auto dir = fs::path(write_fixture_dir("summed"));
  auto log = fixture_log();
  for (auto& t : log)
    if (t["state"] == "COMPLETE") t["values"] = {t["values"][0].get<double>() - t["values"][1].get<double>()};
  write_json(dir / "log.json", log.dump());
  write_json(dir / "study.json", fixture_meaning(true).dump());
  auto s = load_results_dir(dir.string());
  ASSERT_EQ(s.objectives.size(), 1u);
  EXPECT_EQ(s.objectives[0].name, "sum_scaled_metrics");
  EXPECT_TRUE(s.objectives[0].maximize);
  EXPECT_FALSE(s.is_multi_objective());
}

TEST(LoadResults, MissingDirectory) {
  EXPECT_NE(load_error("/nonexistent/chop_results").find("results directory '/nonexistent/chop_results' does not exist"),
            std::string::npos);
}

TEST(LoadResults, MissingLogNamesTheFile) {
  auto dir = fs::path(write_fixture_dir("nolog"));
  fs::remove(dir / "log.json");
  auto msg = load_error(dir.string());
  EXPECT_NE(msg.find((dir / "log.json").string() + "' is missing"), std::string::npos) << msg;
}

TEST(LoadResults, MissingResolvedConfigNamesTheFile) {
  auto dir = fs::path(write_fixture_dir("noconfig"));
  fs::remove(dir / "resolved_config.json");
  auto msg = load_error(dir.string());
  EXPECT_NE(msg.find((dir / "resolved_config.json").string()), std::string::npos) << msg;
}

TEST(LoadResults, CorruptJsonNamesTheFile) {
  auto dir = fs::path(write_fixture_dir("corrupt"));
  write_json(dir / "log.json", "[{\"number\": 0, \"state\": ");
  auto msg = load_error(dir.string());
  EXPECT_NE(msg.find((dir / "log.json").string() + "' is not valid JSON"), std::string::npos) << msg;

  dir = fs::path(write_fixture_dir("corrupt_best"));
  write_json(dir / "best.json", "{oops");
  msg = load_error(dir.string());
  EXPECT_NE(msg.find((dir / "best.json").string() + "' is not valid JSON"), std::string::npos) << msg;
}

TEST(LoadResults, MalformedTrialNamesFileAndIndex) {
  auto dir = fs::path(write_fixture_dir("malformed"));
  auto log = fixture_log();
  log[3]["state"] = "DONE";
  write_json(dir / "log.json", log.dump());
  auto msg = load_error(dir.string());
  EXPECT_NE(msg.find((dir / "log.json").string() + "' [3]: 'state' must be COMPLETE"), std::string::npos) << msg;

  log = fixture_log();
  log[1]["software_metrics"]["accuracy"] = "high";
  write_json(dir / "log.json", log.dump());
  msg = load_error(dir.string());
  EXPECT_NE(msg.find("[1]: 'software_metrics.accuracy' must be a number"), std::string::npos) << msg;

  write_json(dir / "log.json", "{}");
  msg = load_error(dir.string());
  EXPECT_NE(msg.find("must hold an array of trials"), std::string::npos) << msg;
}

TEST(LoadResults, ValueCountMustMatchObjectives) {
  auto dir = fs::path(write_fixture_dir("count"));
  auto log = fixture_log();
  log[0]["values"] = {0.5};
  write_json(dir / "log.json", log.dump());
  auto msg = load_error(dir.string());
  EXPECT_NE(msg.find("trial 0 has 1 value(s) but the study has 2 objective(s)"), std::string::npos) << msg;
}

TEST(TrialState, RoundTrips) {
  for (auto s : {TrialState::Complete, TrialState::Pruned, TrialState::Fail, TrialState::Running, TrialState::Waiting})
    EXPECT_EQ(parse_trial_state(to_string(s)), s);
  EXPECT_FALSE(parse_trial_state("complete").has_value());
}

TEST(Results, TrialJsonRoundTrips) {
  // What log.json holds is what parse_trial reads and trial_json writes back, key for key.
  auto log = fixture_log();
  for (size_t i = 0; i < log.size(); ++i) {
    auto j = log[i];
    TrialRecord t = parse_trial(j, "fixture");
    auto back = trial_json(t);
    // The same fields and values (unordered json compares 100 and 100.0 equal).
    EXPECT_EQ(nlohmann::json::parse(back.dump()), nlohmann::json::parse(j.dump())) << "trial " << i;
  }
}

TEST(Results, FromStudyThroughFilesAndBack) {
  search::StudyOptions so;
  so.name = "rt";
  so.directions = {search::StudyDirection::Maximize, search::StudyDirection::Minimize};
  so.sampler = search::make_sampler("random", 0);
  search::Study study(so);
  StudyResults meaning;
  meaning.objectives = {{"accuracy", true}, {"bops", false}};
  meaning.metrics = {{"accuracy", 1.0, "maximize"}, {"bops", 1e-6, "minimize"}};
  meaning.pruning_metric = "loss";
  study.storage().set_study_user_attr(study.study_id(), "chop:results", nlohmann::json::parse(meaning_json(meaning).dump()));
  study.storage().set_study_user_attr(study.study_id(), "resolved_config", {{"project", "rt"}});
  for (int i = 0; i < 4; ++i) {
    search::Trial t = study.ask();
    int64_t cm = t.suggest_int("cm", 1, 4);
    t.set_user_attr("config", {{"redefine_linear", {{"cm", cm}}}});
    if (i == 2) {
      study.tell(t, search::TrialState::Fail);
      continue;
    }
    double acc = 0.5 + 0.1 * static_cast<double>(cm), bops = 2.0 * static_cast<double>(cm);
    t.set_user_attr("software_metrics", {{"accuracy", acc}, {"loss", 1 - acc}});
    t.set_user_attr("hardware_metrics", {{"bops", bops * 1e6}});
    t.set_user_attr("scaled_metrics", {{"accuracy", acc}, {"bops", bops}});
    t.report(0, acc);
    study.tell(t, {acc, bops});
  }
  StudyResults r = from_study(study, "memory");
  EXPECT_EQ(r.name, "rt");
  ASSERT_EQ(r.objectives.size(), 2u);
  EXPECT_EQ(r.objectives[1].name, "bops");
  EXPECT_FALSE(r.objectives[1].maximize);
  EXPECT_EQ(r.pruning_metric, "loss");
  ASSERT_EQ(r.trials.size(), 4u);
  EXPECT_EQ(r.trials[2].state, TrialState::Fail);
  EXPECT_FALSE(r.trials[2].measured);
  EXPECT_TRUE(r.trials[0].measured);
  EXPECT_FALSE(r.best_numbers.empty());
  for (int64_t n : r.best_numbers) EXPECT_NE(n, 2);

  auto dir = fs::temp_directory_path() / "chop_results_roundtrip";
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_results_dir(r, dir.string());
  StudyResults back = load_results_dir(dir.string());
  EXPECT_EQ(back.name, r.name);
  EXPECT_EQ(meaning_json(back).dump(), meaning_json(r).dump());
  EXPECT_EQ(back.best_numbers, r.best_numbers);
  EXPECT_EQ(back.resolved_config, r.resolved_config);
  ASSERT_EQ(back.trials.size(), r.trials.size());
  for (size_t i = 0; i < r.trials.size(); ++i) EXPECT_EQ(trial_json(back.trials[i]).dump(), trial_json(r.trials[i]).dump());
  // trials.csv: one header and a row per trial, metrics by name.
  std::ifstream csv(dir / "trials.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "number,state,value_0,value_1,param:cm,sw:accuracy,sw:loss,hw:bops");
}

TEST(Results, ForeignStudyIsNamedByPosition) {
  // A study chop did not write (no chop:results attribute): values by position, stored directions.
  search::StudyOptions so;
  so.name = "optuna";
  so.directions = {search::StudyDirection::Maximize};
  so.sampler = search::make_sampler("random", 0);
  search::Study study(so);
  StudyResults r = from_study(study, "memory");
  ASSERT_EQ(r.objectives.size(), 1u);
  EXPECT_EQ(r.objectives[0].name, "value_0");
  EXPECT_TRUE(r.objectives[0].maximize);
}

TEST(Results, MissingStudyJsonNamesTheFile) {
  auto dir = fs::path(write_fixture_dir("nostudy"));
  fs::remove(dir / "study.json");
  auto msg = load_error(dir.string());
  EXPECT_NE(msg.find((dir / "study.json").string() + "' is missing"), std::string::npos) << msg;
}
