// Tests of the sampler benchmark: JSON shape on the synthetic space and lookup-table replay.
#include "chop/search/bench.h"
#include "chop/support/error.h"

#include <gtest/gtest.h>

#include <fstream>

namespace chop::search {
namespace {

TEST(SamplerBench, SyntheticSpace) {
  const auto j = run_sampler_bench("random", 120, 1, 3);
  EXPECT_EQ(j["n_trials"], 120);
  EXPECT_EQ(j["best"].size(), 120u);
  EXPECT_TRUE(j["ms_per_trial"]["1-100"].is_number());
  EXPECT_TRUE(j["ms_per_trial"]["101-500"].is_number());
  EXPECT_TRUE(j["ms_per_trial"]["501-N"].is_null());
  for (size_t i = 1; i < j["best"].size(); ++i) EXPECT_LE(j["best"][i].get<double>(), j["best"][i - 1].get<double>());
  const auto two = run_sampler_bench("nsgaii", 60, 2, 3);
  EXPECT_TRUE(two["reference"].is_array());
  EXPECT_GT(two["best"].back().get<double>(), 0.0);
  EXPECT_THROW(run_sampler_bench("nope", 10, 1, 0), ConfigError);
  EXPECT_THROW(run_sampler_bench("tpe", 10, 3, 0), ConfigError);
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
  const auto two = run_sampler_bench("grid", 100, 2, 0, path);
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
  const auto j = run_sampler_bench("bruteforce", 100, 1, 0, one);
  EXPECT_EQ(j["n_trials"], 6);
  EXPECT_DOUBLE_EQ(j["best"].back().get<double>(), 0.1);
  const auto tpe = run_sampler_bench("tpe", 30, 1, 0, one);
  EXPECT_EQ(tpe["n_trials"], 30) << "other samplers replay the table as often as asked";
  EXPECT_THROW(read_lookup_table(path + ".missing", 1), DataError);
}

}  // namespace
}  // namespace chop::search
