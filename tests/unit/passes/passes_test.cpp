// Passes: registry, manager, hand counts, transforms (golden before/after text), errors.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "chop/models/zoo.h"
#include "chop/passes/analysis.h"
#include "chop/passes/channel.h"
#include "chop/passes/pass_manager.h"
#include "chop/passes/quantize.h"
#include "chop/quant/format.h"
#include "chop/support/error.h"
#include "chop/support/toml.h"

using namespace chop;
using passes::PassContext;
using passes::PassManager;

namespace {

nlohmann::ordered_json toml(const std::string& text) { return parse_toml(text, "test.toml"); }

nlohmann::ordered_json config_file(const std::string& name) {
  return load_toml(std::string(CHOP_SOURCE_DIR) + "/configs/" + name);
}

// Compares text with tests/unit/passes/golden/<name>.txt (CHOP_UPDATE_GOLDEN=1 rewrites it).
void expect_golden(const std::string& name, const std::string& text) {
  std::string path = std::string(CHOP_SOURCE_DIR) + "/tests/unit/passes/golden/" + name + ".txt";
  if (std::getenv("CHOP_UPDATE_GOLDEN")) std::ofstream(path) << text;
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing golden file " << path;
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(text, want.str()) << "golden " << name;
}

// Runs the [passes] of a config over g; returns the records.
std::vector<passes::PassRecord> run_config(ir::Graph& g, const nlohmann::ordered_json& config) {
  PassContext ctx;
  auto pm = PassManager::from_toml(config.at("passes"), {true});
  return pm.run(g, ctx);
}

template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

}  // namespace

TEST(PassRegistry, NamesUniqueDescribedAndAliased) {
  auto names = passes::pass_names();
  std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size());
  for (const auto& p : passes::pass_registry()) {
    EXPECT_GT(std::string(p.description).size(), 10u) << p.name;
    p.option_docs();  // every options type documents itself without a table
  }
  EXPECT_EQ(std::string(passes::pass_info("init_metadata").name), "add_common_metadata");
  EXPECT_EQ(std::string(passes::CountFlopsPass::name()), "count_flops");
  auto msg = error_of<ConfigError>([] { passes::pass_info("count_flop"); });
  EXPECT_NE(msg.find("unknown pass 'count_flop'; known: count_flops"), std::string::npos) << msg;
}

TEST(HandCounts, ParamsAndMacsOfEveryZooModel) {
  struct Want {
    int64_t params, macs;
  };
  const int64_t vgg_convs = 128 * 32 * 32 * 3 * 9 + 128 * 32 * 32 * 128 * 9 + 256 * 16 * 16 * 128 * 9 +
                            256 * 16 * 16 * 256 * 9 + 512 * 8 * 8 * 256 * 9 + 512 * 8 * 8 * 512 * 9;
  const std::map<std::string, Want> want = {
      {"jsc-tiny", {117, 16 * 5}},
      {"jsc-toy", {32 + 136 + 16 + 72 + 16 + 45 + 10, 16 * 8 + 8 * 8 + 8 * 5}},
      {"jsc-s", {32 + 1088 + 128 + 2080 + 64 + 1056 + 64 + 1056 + 64 + 165 + 10,
                 16 * 64 + 64 * 32 + 32 * 32 + 32 * 32 + 32 * 5}},
      {"jsc-three-linear", {32 + 272 + 272 + 85, 256 + 256 + 80}},
      {"jsc-three-linear-relu", {32 + 272 + 272 + 85, 256 + 256 + 80}},
      {"mlp", {784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10, 784 * 256 + 256 * 128 + 1280}},
      {"cnn-small", {320 + 64 + 18496 + 128 + 3136 * 128 + 128 + 1290,
                     32 * 28 * 28 * 9 + 64 * 14 * 14 * 32 * 9 + 3136 * 128 + 1280}},
      {"vgg7", {3584 + 256 + 147584 + 256 + 295168 + 512 + 590080 + 512 + 1180160 + 1024 + 2359808 +
                    1024 + 8389632 + 1049600 + 10250,
                vgg_convs + 8192 * 1024 + 1024 * 1024 + 1024 * 10}},
  };
  ASSERT_EQ(want.size(), models::model_names().size());
  for (const auto& name : models::model_names()) {
    SCOPED_TRACE(name);
    ir::Graph g = models::build_model(name);
    PassContext ctx;
    PassManager pm;
    auto params = pm.run_pass(g, ctx, "count_params").result.info;
    auto flops = pm.run_pass(g, ctx, "count_flops").result.info;
    EXPECT_EQ(params["total"].get<int64_t>(), want.at(name).params);
    EXPECT_EQ(flops["macs"].get<int64_t>(), want.at(name).macs);
  }
  // FLOPs convention on jsc-tiny: linear 2*80 + 5 bias, BN 2*16, ReLUs 16 + 5.
  EXPECT_EQ(passes::count_flops(models::build_model("jsc-tiny")).flops, 165 + 32 + 16 + 5);
}

TEST(Metrics, SizeBopsAndBitwidths) {
  ir::Graph g = models::build_model("jsc-tiny");
  EXPECT_EQ(passes::model_size_bytes(g), 117 * 4.0);
  EXPECT_EQ(passes::count_bops(g), 80 * 32 * 32);
  EXPECT_EQ(passes::average_bitwidth(g), 32.0);  // nothing quantized: MASE says 32
  EXPECT_EQ(passes::memory_density(g), 1.0);
  auto& fc = g.node("seq_blocks_2");
  fc.meta.weight = quant::integer_precision(4, 2);
  fc.meta.bias = quant::integer_precision(8, 4);
  fc.meta.data_in = quant::integer_precision(8, 4);
  EXPECT_EQ(passes::model_size_bytes(g), 32 * 4.0 + 80 * 0.5 + 5 * 1.0);
  EXPECT_EQ(passes::count_bops(g), 80 * 4 * 8);
  EXPECT_EQ(passes::average_bitwidth(g), 4.0);
  EXPECT_EQ(passes::memory_density(g, 32), 8.0);
  EXPECT_DOUBLE_EQ(passes::average_bitwidth_all(g), (80 * 4 + 5 * 8 + 16 * 8) / 101.0);
}

TEST(RedefineLinear, SeedDoublingExampleGolden) {
  ir::Graph g = models::build_model("jsc-three-linear-relu");
  std::string before = g.to_text();
  auto records = run_config(g, config_file("lab4_redefine_linear_double.toml"));
  EXPECT_EQ(passes::module_list(g),
            "[BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True), "
            "ReLU(inplace=True), Linear(in_features=16, out_features=32, bias=True), "
            "ReLU(inplace=True), Linear(in_features=32, out_features=32, bias=True), "
            "ReLU(inplace=True), Linear(in_features=32, out_features=5, bias=True), "
            "ReLU(inplace=True)]");
  EXPECT_NE(records[1].result.report.find("Linear(in_features=16, out_features=32"), std::string::npos);
  expect_golden("redefine_double", before + "--- after redefine_linear\n" + g.to_text());
}

TEST(RedefineLinear, NonUniformWithoutParentsGolden) {
  ir::Graph g = models::build_model("jsc-three-linear-relu");
  std::string before = g.to_text();
  run_config(g, config_file("lab4_redefine_linear_nonuniform.toml"));
  EXPECT_EQ(g.node("seq_blocks_2").attrs.out_features, 32);
  EXPECT_EQ(g.node("seq_blocks_4").attrs.in_features, 32);
  EXPECT_EQ(g.node("seq_blocks_4").attrs.out_features, 64);
  EXPECT_EQ(g.node("seq_blocks_6").attrs.in_features, 64);
  EXPECT_EQ(g.node("seq_blocks_6").attrs.out_features, 5);
  expect_golden("redefine_nonuniform", before + "--- after redefine_linear\n" + g.to_text());
}

TEST(RedefineLinear, Vgg7ConvWidthsPropagateThroughBnPoolAndFlatten) {
  ir::Graph g = models::build_model("vgg7");
  std::string before = g.to_text();
  run_config(g, config_file("lab4_vgg7_channels.toml"));
  EXPECT_EQ(g.node("feature_layers_1").attrs.num_features, 256);
  EXPECT_EQ(g.node("feature_layers_7").attrs.in_channels, 256);
  EXPECT_EQ(g.node("feature_layers_10").attrs.out_channels, 1024);
  EXPECT_EQ(g.node("feature_layers_17").attrs.out_channels, 1024);
  EXPECT_EQ(g.node("classifier_0").attrs.in_features, 1024 * 4 * 4);  // flatten: C x 4 x 4
  EXPECT_EQ(g.node("last_layer").attrs.out_features, 10);
  expect_golden("redefine_vgg7", before + "--- after redefine_linear\n" + g.to_text());
}

TEST(RedefineLinear, ByTypeAndProgrammaticOptions) {
  ir::Graph g = models::build_model("cnn-small");
  run_config(g, toml("[passes.redefine_linear]\nby = \"type\"\n"
                     "[passes.redefine_linear.conv2d.config]\nname = \"output_only\"\nchannel_multiplier = 0.5\n"));
  EXPECT_EQ(g.node("feature_layers_0").attrs.out_channels, 16);
  EXPECT_EQ(g.node("classifier_0").attrs.in_features, 32 * 7 * 7);
  ir::Graph h = models::build_model("jsc-s");
  passes::redefine_channels(h, passes::ChannelOptions().with_output_multiplier("seq_blocks_2", 1.5));
  EXPECT_EQ(h.node("seq_blocks_3").attrs.num_features, 96);
  EXPECT_EQ(h.node("seq_blocks_5").attrs.in_features, 96);
  h.lint();
}

TEST(RedefineLinear, ImpossibleRequestsAreClearErrors) {
  auto run = [](const std::string& model, const std::string& text) {
    ir::Graph g = models::build_model(model);
    run_config(g, toml(text));
  };
  const std::string head = "[passes.redefine_linear]\n[passes.redefine_linear.";
  auto msg = error_of<ConfigError>([&] { run("jsc-s", head + "seq_blocks_2.config]\nname = \"output_only\"\nchannel_multiplier = 0\n"); });
  EXPECT_NE(msg.find("pass 1 (redefine_linear): "), std::string::npos) << msg;
  EXPECT_NE(msg.find("channel_multiplier must be > 0, but got 0"), std::string::npos) << msg;
  msg = error_of<GraphError>([&] { run("jsc-s", head + "seq_blocks_2.config]\nname = \"output_only\"\nchannel_multiplier = 1.01\n"); });
  EXPECT_NE(msg.find("not a positive whole number"), std::string::npos) << msg;
  msg = error_of<GraphError>([&] { run("jsc-s", head + "seq_blocks_2.config]\nname = \"output_only\"\nchannel_multiplier = 4e89\n"); });
  EXPECT_NE(msg.find("exceeds 16777216 channels"), std::string::npos) << msg;  // not a UB conversion
  msg = error_of<GraphError>([&] { run("jsc-s", head + "seq_blocks_1.config]\nname = \"output_only\"\nchannel_multiplier = 2\n"); });
  EXPECT_NE(msg.find("'seq_blocks_1' is a relu"), std::string::npos) << msg;
  msg = error_of<GraphError>([&] { run("jsc-s", head + "seq_blocks_99.config]\nname = \"output_only\"\n"); });
  EXPECT_NE(msg.find("unknown node 'seq_blocks_99'"), std::string::npos) << msg;
  msg = error_of<GraphError>([&] { run("jsc-tiny", head + "seq_blocks_2.config]\nname = \"output_only\"\nchannel_multiplier = 2\n"); });
  EXPECT_NE(msg.find("output from [5] to [10]"), std::string::npos) << msg;
  msg = error_of<ConfigError>([&] { run("jsc-s", head + "seq_blocks_2.config]\nname = \"output\"\n"); });
  EXPECT_NE(msg.find("output_only, both, input_only, NA"), std::string::npos) << msg;
  msg = error_of<ConfigError>([&] { run("jsc-s", "[passes.redefine_linear]\ninherrit = true\n"); });
  EXPECT_NE(msg.find("unknown option of [passes.redefine_linear] 'inherrit'; known: inherit"), std::string::npos) << msg;
}

TEST(Quantize, ByTypeQuantizesEveryLinearAndReluGolden) {
  ir::Graph g = models::build_model("jsc-toy");
  std::string before = g.to_text();
  auto config = config_file("lab2_quantize_by_type.toml");
  config["passes"].erase("profile_statistics");  // measured: covered by the conformance test
  auto records = run_config(g, config);
  for (const auto& n : g.nodes()) {
    if (n.op == ir::OpKind::Linear) {
      EXPECT_EQ(n.meta.weight, quant::integer_precision(8, 4)) << n.name;
    }
    if (n.op == ir::OpKind::Relu) {
      EXPECT_EQ(n.meta.data_in, quant::integer_precision(8, 4)) << n.name;  // NA: 8 // 2
    }
  }
  EXPECT_NE(records[2].result.report.find("integer[8, 4]"), std::string::npos);
  expect_golden("quantize_by_type", before + "--- after quantize\n" + g.to_text());
}

TEST(Quantize, ByNameBypassAndMinifloatGolden) {
  ir::Graph g = models::build_model("jsc-toy");
  std::string before = g.to_text();
  run_config(g, config_file("lab2_quantize_by_name.toml"));
  EXPECT_EQ(g.node("seq_blocks_2").meta.weight, quant::integer_precision(4, 2));
  EXPECT_EQ(g.node("seq_blocks_2").meta.bias, quant::integer_precision(8, 4));
  EXPECT_TRUE(g.node("seq_blocks_5").meta.weight.is_float32());  // bypass
  EXPECT_EQ(g.node("seq_blocks_8").meta.weight, quant::minifloat_precision(8, 4, 7));
  EXPECT_TRUE(g.node("seq_blocks_4").meta.data_in.is_float32());
  expect_golden("quantize_by_name", before + "--- after quantize\n" + g.to_text());
}

TEST(Quantize, Errors) {
  auto run = [](const std::string& text) {
    ir::Graph g = models::build_model("jsc-toy");
    run_config(g, toml(text));
  };
  auto msg = error_of<ConfigError>([&] { run("[passes.quantize]\nby = \"type\"\n[passes.quantize.batch_norm1d.config]\nname = \"integer\"\n"); });
  EXPECT_NE(msg.find("not an op chop quantizes"), std::string::npos) << msg;
  msg = error_of<ConfigError>([&] { run("[passes.quantize.linear.config]\nname = \"integer\"\nweight_widht = 8\n"); });
  EXPECT_NE(msg.find("unknown option of [passes.quantize.linear.config] 'weight_widht'; known: weight_width"), std::string::npos) << msg;
  msg = error_of<GraphError>([&] { run("[passes.quantize]\nby = \"name\"\n[passes.quantize.seq_blocks_0.config]\nname = \"integer\"\n"); });
  EXPECT_NE(msg.find("'seq_blocks_0' is a batch_norm1d"), std::string::npos) << msg;
  msg = error_of<ConfigError>([&] { run("[passes.count_flops]\n[passes.quantise]\n"); });
  EXPECT_NE(msg.find("pass 2 (quantise): unknown pass 'quantise'; known: quantize"), std::string::npos) << msg;
  msg = error_of<ConfigError>([&] { run("[passes.count_flops]\nfoo = 1\n"); });
  EXPECT_NE(msg.find("pass 1 (count_flops): unknown option of [passes.count_flops] 'foo'"), std::string::npos) << msg;
}

TEST(PassManager, CachesAnalysesUntilATransformChangesWidths) {
  ir::Graph g = models::build_model("jsc-three-linear-relu");
  PassContext ctx;
  PassManager pm;
  auto first = pm.run_pass(g, ctx, "count_flops");
  EXPECT_FALSE(first.cached);
  EXPECT_TRUE(pm.run_pass(g, ctx, "count_flops").cached);
  pm.run_pass(g, ctx, "quantize", toml("[linear.config]\nname = \"integer\"\nweight_width = 8\n"));
  EXPECT_TRUE(pm.run_pass(g, ctx, "count_flops").cached);  // precision only: FLOPs still valid
  EXPECT_FALSE(pm.run_pass(g, ctx, "bops").cached);
  EXPECT_TRUE(pm.run_pass(g, ctx, "bops").cached);
  EXPECT_FALSE(pm.run_pass(g, ctx, "bops").result.info.empty());
  pm.run_pass(g, ctx, "redefine_linear", toml("[seq_blocks_2.config]\nname = \"output_only\"\nchannel_multiplier = 2\n"));
  auto recount = pm.run_pass(g, ctx, "count_flops");
  EXPECT_FALSE(recount.cached);
  EXPECT_GT(recount.result.info["macs"].get<int64_t>(), first.result.info["macs"].get<int64_t>());
  EXPECT_FALSE(pm.run_pass(g, ctx, "bops").cached);
}
