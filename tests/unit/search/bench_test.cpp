// Tests of the sampler benchmark: JSON shape on the synthetic space and lookup-table replay.
#include "chop/search/bench.h"
#include "chop/support/error.h"

#include <gtest/gtest.h>

#include <fstream>

namespace chop::search {
namespace {

nlohmann::json run(const std::string& sampler, int64_t n_trials, int64_t n_objectives, uint64_t seed,
                   std::optional<std::string> table = std::nullopt, const std::string& space = "synthetic8") {
  SamplerBenchOptions o;
  o.sampler = sampler;
  o.n_trials = n_trials;
  o.n_objectives = n_objectives;
  o.seed = seed;
  o.table_path = std::move(table);
  o.space = space;
  return run_sampler_bench(o);
}

TEST(SamplerBench, SyntheticSpace) {
  const auto j = run("random", 120, 1, 3);
  EXPECT_EQ(j["n_trials"], 120);
  EXPECT_EQ(j["best"].size(), 120u);
  EXPECT_TRUE(j["ms_per_trial"]["1-100"].is_number());
  EXPECT_TRUE(j["ms_per_trial"]["101-500"].is_number());
  EXPECT_TRUE(j["ms_per_trial"]["501-N"].is_null());
  for (size_t i = 1; i < j["best"].size(); ++i) EXPECT_LE(j["best"][i].get<double>(), j["best"][i - 1].get<double>());
  const auto two = run("nsgaii", 60, 2, 3);
  EXPECT_TRUE(two["reference"].is_array());
  EXPECT_GT(two["best"].back().get<double>(), 0.0);
  EXPECT_THROW(run("nope", 10, 1, 0), ConfigError);
  EXPECT_THROW(run("tpe", 10, 3, 0), ConfigError);
  EXPECT_THROW(run("tpe", 10, 2, 0, std::nullopt, "zdt2"), ConfigError);
  EXPECT_THROW(run("tpe", 10, 1, 0, std::nullopt, "zdt1"), ConfigError) << "zdt1 has 2 objectives";
}

TEST(SamplerBench, Zdt1HypervolumeAgainstTheTrueFront) {
  // Reference (1.1, 1.1): the true front f2 = 1 - sqrt(f1) dominates 0.1 + 2/3 + 0.11.
  const auto j = run("random", 200, 2, 0, std::nullopt, "zdt1");
  EXPECT_NEAR(j["true_front_hypervolume"].get<double>(), 0.1 + 2.0 / 3.0 + 0.11, 1e-12);
  EXPECT_EQ(j["reference"], nlohmann::json::array({1.1, 1.1}));
  // Random points have g = 1 + 9 mean(x1..x29) near 5.5, so f2 >= g - sqrt(g) near 3.2: none
  // lands inside the reference box.
  EXPECT_EQ(j["hypervolume_ratio"].get<double>(), 0.0);
  // NSGA-II drives g towards 1 (seed 0: 0.46 of the true front at 2,000 evaluations; Optuna 3.1:
  // 0.26-0.51 over seeds 0-4).
  const auto nsga = run("nsgaii", 2000, 2, 0, std::nullopt, "zdt1");
  const double ratio = nsga["hypervolume_ratio"].get<double>();
  EXPECT_DOUBLE_EQ(ratio, nsga["best"].back().get<double>() / nsga["true_front_hypervolume"].get<double>());
  EXPECT_GT(ratio, 0.2);
  EXPECT_LT(ratio, 1.0);
}

TEST(SamplerBench, LookupTableReplay) {
  const std::string path = ::testing::TempDir() + "/chop_lookup.csv";
  {
    std::ofstream out(path);
    out << "width,bits,loss,size\n";
    for (int w : {8, 16, 32})
      for (int b : {4, 8}) out << w << "," << b << "," << (w == 16 && b == 8 ? 0.1 : 1.0 + w * 0.01) << "," << w * b << "\n";
  }
  const auto table = read_lookup_table(path, 2);
  EXPECT_EQ(table.param_names, (std::vector<std::string>{"width", "bits"}));
  EXPECT_EQ(table.choices[0], (std::vector<std::string>{"8", "16", "32"}));
  EXPECT_EQ(table.values.size(), 6u);
  const auto two = run("grid", 100, 2, 0, path);
  EXPECT_EQ(two["n_trials"], 6) << "the grid stops after every configuration once";
  EXPECT_GT(two["best"].back().get<double>(), 0.0);
  // One objective: the last column only, so "loss" becomes a parameter column; use a 1-objective file.
  const std::string one = ::testing::TempDir() + "/chop_lookup1.csv";
  {
    std::ofstream out(one);
    out << "width,bits,loss\n";
    for (int w : {8, 16, 32})
      for (int b : {4, 8}) out << w << "," << b << "," << (w == 16 && b == 8 ? 0.1 : 1.0 + w * 0.01) << "\n";
  }
  const auto j = run("bruteforce", 100, 1, 0, one);
  EXPECT_EQ(j["n_trials"], 6);
  EXPECT_DOUBLE_EQ(j["best"].back().get<double>(), 0.1);
  const auto tpe = run("tpe", 30, 1, 0, one);
  EXPECT_EQ(tpe["n_trials"], 6) << "distinct proposals (dedup, on for tables) stop an exhausted table";
  EXPECT_TRUE(tpe["exhausted"].get<bool>());
  EXPECT_DOUBLE_EQ(tpe["optimum"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(tpe["best"].back().get<double>(), 0.1) << "every row seen: the optimum among them";
  SamplerBenchOptions o;
  o.sampler = "tpe";
  o.n_trials = 30;
  o.table_path = one;
  o.dedup = false;
  const auto repeats = run_sampler_bench(o);
  EXPECT_EQ(repeats["n_trials"], 30) << "dedup = false replays the table as often as asked";
  EXPECT_FALSE(repeats["dedup"].get<bool>());
  // Directions: a table of accuracies maximized reports the largest as best.
  o.dedup = std::nullopt;
  o.directions = {StudyDirection::Maximize};
  const auto up = run_sampler_bench(o);
  EXPECT_DOUBLE_EQ(up["optimum"].get<double>(), 1.32);
  EXPECT_DOUBLE_EQ(up["best"].back().get<double>(), 1.32);
  EXPECT_EQ(up["directions"], nlohmann::json::array({"maximize"}));
  // Two objectives, loss maximized and size minimized: the hypervolume ratio is against the
  // table's own front and reaches 1 once every row is seen.
  o.table_path = path;
  o.n_objectives = 2;
  o.directions = {StudyDirection::Maximize, StudyDirection::Minimize};
  const auto both = run_sampler_bench(o);
  EXPECT_EQ(both["n_trials"], 6);
  EXPECT_DOUBLE_EQ(both["hypervolume_ratio"].get<double>(), 1.0);
  o.directions = {StudyDirection::Maximize};
  EXPECT_THROW(run_sampler_bench(o), ConfigError) << "one direction for two objectives";
  EXPECT_THROW(read_lookup_table(path + ".missing", 1), DataError);
}

}  // namespace
}  // namespace chop::search
