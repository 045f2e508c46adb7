// [search] tables: typed reading, errors, and the spaces they describe.
#include <gtest/gtest.h>

#include <fstream>

#include "chop/flow/search_config.h"
#include "chop/flow/search_space.h"
#include "chop/flow/supernet.h"
#include "chop/flow/transforms.h"
#include "chop/passes/analysis.h"
#include "chop/passes/hardware_metrics.h"
#include "chop/results/metric_info.h"
#include "chop/train/metrics.h"
#include "chop/models/zoo.h"
#include "chop/search/study.h"
#include "chop/support/error.h"
#include "chop/support/toml.h"

using namespace chop;
using namespace chop::flow;

namespace {

nlohmann::ordered_json config_file(const std::string& name) {
  return load_toml(std::string(CHOP_SOURCE_DIR) + "/configs/" + name);
}

size_t grid_size(const SearchSpace& s) {
  size_t n = 1;
  for (const auto& [name, choices] : s.parameters()) n *= choices.size();
  return n;
}

}  // namespace

TEST(SearchConfig, ReadsLab3Config) {
  auto c = read_search_config(config_file("lab3_quantize_tpe.toml")["search"]);
  EXPECT_EQ(c.space_name, "graph/quantize/mixed_precision_ptq");
  EXPECT_EQ(c.setup.n_trials, 20);
  EXPECT_EQ(c.setup.sampler, "tpe");
  ASSERT_EQ(c.metrics.size(), 2u);
  EXPECT_EQ(c.metrics[0].name, "accuracy");  // sorted by name, as MASE
  EXPECT_EQ(c.metrics[1].name, "average_bitwidth");
  EXPECT_DOUBLE_EQ(c.metrics[1].scale, 0.2);
  EXPECT_EQ(c.metrics[1].direction, "minimize");
  EXPECT_EQ(c.sw_runners.at(0).name, "basic_evaluation");
  EXPECT_EQ(c.sw_runners.at(0).num_samples, 512);
  EXPECT_EQ(c.hw_runners.at(0).name, "average_bitwidth");
}

TEST(SearchConfig, Lab3SpaceHas18Configurations) {
  auto c = read_search_config(config_file("lab3_quantize_bruteforce.toml")["search"]);
  auto space = make_search_space(c, models::build_model("jsc-tiny"));
  auto params = space->parameters();
  ASSERT_EQ(params.size(), 3u);  // data_in_width, weight_width, bias_width ("NA" lists are fixed)
  EXPECT_EQ(params[0].first, "seq_blocks_2/config/data_in_width");
  EXPECT_EQ(grid_size(*space), 18u);
}

TEST(SearchConfig, SampleGivesMaseQuantizeTable) {
  auto c = read_search_config(config_file("lab3_quantize_tpe.toml")["search"]);
  auto space = make_search_space(c, models::build_model("jsc-tiny"));
  search::Study study(search::StudyOptions().with_sampler(search::make_sampler("random", 1)));
  auto trial = study.ask();
  auto tables = space->sample(trial);
  ASSERT_TRUE(tables.contains("quantize"));
  const auto& q = tables["quantize"];
  EXPECT_EQ(q["by"], "name");
  EXPECT_EQ(q["default"]["config"]["name"], "NA");
  EXPECT_EQ(q["seq_blocks_2"]["config"]["name"], "integer");
  EXPECT_EQ(q["seq_blocks_2"]["config"]["weight_frac_width"], "NA");
  int w = q["seq_blocks_2"]["config"]["weight_width"];
  EXPECT_TRUE(w == 2 || w == 4 || w == 8);
}

TEST(SearchConfig, ChannelSpaceFindsWidthGroups) {
  EXPECT_EQ(width_nodes(models::build_model("jsc-three-linear-relu")),
            (std::vector<std::string>{"seq_blocks_2", "seq_blocks_4"}));
  auto vgg = width_nodes(models::build_model("vgg7"));
  EXPECT_EQ(vgg.size(), 8u);  // six convs and the two hidden Linears; last_layer is fixed
  EXPECT_EQ(vgg.front(), "feature_layers_0");
  EXPECT_EQ(vgg.back(), "classifier_2");
  auto c = read_search_config(config_file("lab4_channel_grid.toml")["search"]);
  auto space = make_search_space(c, models::build_model("jsc-three-linear-relu"));
  EXPECT_EQ(grid_size(*space), 5u);  // uniform: one multiplier
}

TEST(SearchConfig, ErrorsNameTheProblem) {
  auto expect_error = [](const std::string& toml, const std::string& text) {
    try {
      read_search_config(parse_toml(toml, "s.toml")["search"]);
      FAIL() << "no error for: " << toml;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  const std::string space = "[search.search_space]\nname='graph/architecture/channel'\n";
  expect_error(space + "[search.strategy.setup]\nsampler='tpf'\n", "unknown sampler 'tpf'");
  expect_error(space + "[search.strategy.setup]\nn_trails=3\n", "n_trails");
  expect_error(space + "[search.strategy.metrics]\nflops.scale=1\n", "no runner produces metric 'flops'");
  expect_error(space + "[search.strategy.sw_runner.magic]\n", "unknown software runner 'magic'");
  expect_error(space + "[search.strategy.hw_runner.energy]\n", "unknown hardware runner 'energy'");
  expect_error("[search.strategy]\nname='optuna'\n", "[search.search_space] is missing");
  auto c = read_search_config(parse_toml(space + "[search.strategy.setup]\nn_trials=1\n", "s.toml")["search"]);
  c.space_name = "graph/nothing";
  EXPECT_THROW(make_search_space(c, models::build_model("jsc-tiny")), ConfigError);
}

TEST(SearchConfig, UnknownSeedNodeIsAnError) {
  auto toml = parse_toml(
      "[search.search_space]\nname='graph/quantize/mixed_precision_ptq'\n"
      "[search.search_space.seed.seq_blocks_9.config]\nname=['integer']\n", "s.toml");
  auto c = read_search_config(toml["search"]);
  try {
    make_search_space(c, models::build_model("jsc-tiny"));
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown node 'seq_blocks_9'"), std::string::npos) << e.what();
  }
}

TEST(Metrics, SoftwareMetricsAreWhatTheTrainerReports) {
  // The metric table's software names are the evaluation's fields, in its order.
  auto fields = train::ClassificationMetrics{}.to_json(/*with_confusion=*/false);
  std::vector<std::string> keys;
  for (const auto& [k, v] : fields.items())
    if (k != "n_samples") keys.push_back(k);
  EXPECT_EQ(results::metric_names(/*hardware=*/false), keys);
  // Every hardware metric of the table has a function, and only table entries do.
  EXPECT_EQ(results::metric_names(/*hardware=*/true).size(), passes::hardware_metric_registry().size());
  for (const auto& name : results::metric_names(true)) EXPECT_NO_THROW(passes::hardware_metric(name)) << name;
}

TEST(Metrics, HardwareRunnersMeasureTheTransformedGraph) {
  auto cfg = read_search_config(parse_toml(
      "[search.search_space]\nname='graph/architecture/channel'\n"
      "[search.strategy.hw_runner.params]\n[search.strategy.hw_runner.flops]\n"
      "[search.strategy.hw_runner.bops]\n"
      "[search.strategy.hw_runner.average_bitwidth]\ncompare_to = 16\n", "s.toml")["search"]);
  ir::Graph g = models::build_model("jsc-tiny");
  auto m = measure_hardware(cfg.hw_runners, g, nullptr);
  EXPECT_EQ(m.at("params"), static_cast<double>(g.count_params()));
  EXPECT_EQ(m.at("flops"), static_cast<double>(passes::count_flops(g).flops));
  EXPECT_EQ(m.at("bops"), static_cast<double>(passes::count_bops(g)));
  // No quantized Linear: MASE's average bitwidth is 32, and compare_to is the runner's option.
  EXPECT_EQ(m.at("average_bitwidth"), 32.0);
  EXPECT_DOUBLE_EQ(m.at("memory_density"), 16.0 / 32.0);
  EXPECT_EQ(m.size(), 5u);
}

TEST(Metrics, BadRunnerOptionsFailWhenTheConfigIsRead) {
  const std::string space = "[search.search_space]\nname='graph/architecture/channel'\n";
  try {
    read_search_config(parse_toml(space + "[search.strategy.hw_runner.latency]\nn_batchez = 3\n", "s.toml")["search"]);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("[search.strategy.hw_runner.latency]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("n_batchez"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_search_config(parse_toml(space + "[search.strategy.hw_runner.latency]\nwarmup = 'x'\n", "s.toml")["search"]),
               ConfigError);
}

TEST(SearchConfig, ObjectivesAsTheSearchDecidesThem) {
  const std::string base = "[search.search_space]\nname='graph/architecture/channel'\n"
                           "[search.strategy.hw_runner.params]\n"
                           "[search.strategy.metrics]\naccuracy.scale = 1.0\n"
                           "params.scale = 0.001\nparams.direction = 'minimize'\n";
  auto separate = read_search_config(parse_toml(base, "s.toml")["search"]).objectives();
  ASSERT_EQ(separate.size(), 2u);
  EXPECT_EQ(separate[0].name, "accuracy");
  EXPECT_TRUE(separate[0].maximize);
  EXPECT_EQ(separate[1].name, "params");
  EXPECT_FALSE(separate[1].maximize);
  auto summed = read_search_config(parse_toml(base + "[search.strategy.setup]\nsum_scaled_metrics = true\n"
                                              "direction = 'maximize'\n", "s.toml")["search"]).objectives();
  ASSERT_EQ(summed.size(), 1u);
  EXPECT_EQ(summed[0].name, "sum_scaled_metrics");
  EXPECT_TRUE(summed[0].maximize);
}

TEST(SearchConfig, ReadsTheSupernetStrategy) {
  auto toml = config_file("lab4_channel_per_layer_synth.toml");
  auto& strategy = toml["search"]["strategy"];
  strategy["name"] = "supernet";
  strategy["supernet"] = {{"max_epochs", 3}, {"retrain", 2}, {"fidelity_samples", 5}, {"distill", false}};
  auto c = read_search_config(toml["search"]);
  EXPECT_EQ(c.strategy, "supernet");
  EXPECT_EQ(c.supernet.max_epochs, 3);
  EXPECT_EQ(c.supernet.retrain, 2);
  EXPECT_EQ(c.supernet.fidelity_samples, 5);
  EXPECT_FALSE(c.supernet.distill);
  EXPECT_EQ(c.supernet.random_subnets, 2);  // the default
  EXPECT_EQ(c.to_json()["strategy"]["supernet"]["retrain"], 2);
  // Bad values and misplaced tables name the key.
  auto error_of = [&](const std::function<void(nlohmann::ordered_json&)>& edit) {
    auto t = toml;
    edit(t["search"]);
    try {
      read_search_config(t["search"]);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of([](auto& s) { s["strategy"]["supernet"]["retrain"] = 0; })
                .find("[search.strategy.supernet] retrain must be >= 1, but got 0"), std::string::npos);
  EXPECT_NE(error_of([](auto& s) { s["strategy"]["supernet"]["epochs"] = 2; }).find("epochs"), std::string::npos);
  EXPECT_EQ(c.supernet.score, "loss");  // the default
  EXPECT_NE(error_of([](auto& s) { s["strategy"]["supernet"]["score"] = "latency"; })
                .find("[search.strategy.supernet] score must be a software metric (loss, accuracy"), std::string::npos);
  EXPECT_NE(error_of([](auto& s) { s["strategy"]["name"] = "optuna"; })
                .find("[search.strategy.supernet] is read only with"), std::string::npos);
  EXPECT_NE(error_of([](auto& s) { s["search_space"]["name"] = "graph/quantize/mixed_precision_ptq"; })
                .find("searches channel widths"), std::string::npos);
  EXPECT_NE(error_of([](auto& s) { s["strategy"].erase("sw_runner"); }).find("sw_runner.basic_train"),
            std::string::npos);
  EXPECT_NE(error_of([](auto& s) { s["strategy"]["name"] = "ofa"; }).find("\"supernet\""), std::string::npos);
}

TEST(SearchSpace, TablesOfAGivenConfigurationAreTheTrialsTables) {
  auto c = read_search_config(config_file("lab4_channel_per_layer_synth.toml")["search"]);
  auto g = models::build_model("jsc-s");
  auto space = make_search_space(c, g);
  std::map<std::string, search::ParamValue> params;
  for (const auto& [name, choices] : space->parameters()) params[name] = 0.5;
  auto tables = space->tables(params);
  EXPECT_EQ(tables["redefine_linear"]["seq_blocks_5"]["config"]["channel_multiplier"], 0.5);
  EXPECT_EQ(apply_transforms(g, tables).node("seq_blocks_5").attrs.out_features, 16);
  params.begin()->second = 3.0;
  EXPECT_THROW(space->tables(params), ConfigError);  // not one of its choices
  params.erase(params.begin());
  EXPECT_THROW(space->tables(params), ConfigError);  // missing
}

TEST(Supernet, KendallTauAsScipyCountsIt) {
  // scipy.stats.kendalltau: one discordant pair of six -> (5 - 1) / 6.
  EXPECT_NEAR(kendall_tau({1, 2, 3, 4}, {1, 3, 2, 4}), 4.0 / 6.0, 1e-12);
  // Ties (tau-b): 4 concordant, 0 discordant, one pair tied in x only, one in y only -> 4 / 5.
  EXPECT_NEAR(kendall_tau({1, 2, 2, 3}, {1, 2, 3, 3}), 0.8, 1e-12);
  EXPECT_NEAR(kendall_tau({1, 2, 3}, {3, 2, 1}), -1.0, 1e-12);
  EXPECT_TRUE(std::isnan(kendall_tau({1}, {1})));
  EXPECT_TRUE(std::isnan(kendall_tau({1, 1, 1}, {1, 2, 3})));
}
