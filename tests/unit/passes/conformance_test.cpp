// Conformance: every registered pass over every zoo model leaves a lint-clean graph; a
// transformed, quantized model still trains, inherits weights, and saves/loads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "chop/data/data_module.h"
#include "chop/models/zoo.h"
#include "chop/passes/measure.h"
#include "chop/passes/pass_manager.h"
#include "chop/runtime/checkpoint.h"
#include "chop/support/toml.h"
#include "chop/train/trainer.h"

using namespace chop;
using passes::PassContext;
using passes::PassManager;

namespace {

// Small options so measured passes stay fast on VGG7; transforms get a real change.
nlohmann::ordered_json options_for(const std::string& pass, const ir::Graph& g) {
  if (pass == "profile_statistics") return {{"num_batches", 1}, {"batch_size", 2}};
  if (pass == "latency") return {{"warmup", 0}, {"n_batches", 2}};
  if (pass == "quantize")
    return parse_toml("[default.config]\nname = \"integer\"\ndata_in_width = 8\nweight_width = 8\nbias_width = 8\n", "t");
  if (pass == "redefine_linear") {
    std::vector<std::string> layers;  // the first layer with a width, unless it is the last
    for (const auto& n : g.nodes())
      if (n.op == ir::OpKind::Linear || n.op == ir::OpKind::Conv2d) layers.push_back(n.name);
    if (layers.size() >= 2)
      return {{layers[0], {{"config", {{"name", "output_only"}, {"channel_multiplier", 2}}}}}};
  }
  return nlohmann::ordered_json::object();
}

ir::Graph small_model(const std::string& name) {
  // VGG7 at full width is slow to run; its structure is the same at a quarter width.
  return models::build_model(name, models::ModelOptions().with_width(name == "vgg7" ? 0.25 : 1.0));
}

}  // namespace

TEST(PassConformance, EveryPassOverEveryZooModelIsLintClean) {
  for (const auto& model : models::model_names()) {
    for (const auto& pass : passes::pass_names()) {
      SCOPED_TRACE(model + " / " + pass);
      ir::Graph g = small_model(model);
      PassContext ctx;
      PassManager pm({/*lint_after_each=*/true});
      pm.add(pass, options_for(pass, g));
      auto records = pm.run(g, ctx);
      ASSERT_EQ(records.size(), 1u);
      EXPECT_FALSE(records[0].result.report.empty());
      EXPECT_NO_THROW(g.lint());
    }
  }
}

TEST(PassConformance, WholePipelineKeepsTheModuleRunnable) {
  ir::Graph g = small_model("cnn-small");
  PassContext ctx;
  PassManager pm({true});
  for (const auto& pass : passes::pass_names()) pm.add(pass, options_for(pass, g));
  pm.run(g, ctx);
  auto m = passes::module_for(g, ctx);
  EXPECT_EQ(m->forward(torch::randn({2, 1, 28, 28})).sizes().vec(), (std::vector<int64_t>{2, 10}));
  EXPECT_TRUE(g.node("feature_layers_0").info["software"].contains("statistics"));
}

namespace {

// Learnable synthetic JSC-shaped data: the label is the argmax of a fixed linear map.
data::DataModule synthetic_jsc() {
  torch::manual_seed(5);
  data::RawData raw;
  raw.info.name = "synthetic";
  raw.info.input_shape = {16};
  raw.info.num_classes = 5;
  raw.train_x = torch::randn({1200, 16});
  raw.train_y = raw.train_x.matmul(torch::randn({16, 5})).argmax(1);
  data::DataOptions o;
  o.dataset = "synthetic";
  o.batch_size = 64;
  return data::DataModule(raw, o);
}

}  // namespace

TEST(TransformedModel, TrainsSavesAndLoads) {
  auto dm = synthetic_jsc();
  ir::Graph g = models::build_model("jsc-three-linear-relu");
  PassContext ctx;
  ctx.seed = 3;
  auto pm = PassManager::from_toml(
      load_toml(std::string(CHOP_SOURCE_DIR) + "/configs/lab4_redefine_linear_nonuniform.toml").at("passes"), {true});
  pm.add("quantize", parse_toml("[linear.config]\nname = \"integer\"\ndata_in_width = 8\n"
                                "weight_width = 8\nbias_width = 8\n", "t"));
  pm.run(g, ctx);
  runtime::GraphModule m(passes::module_for(g, ctx));
  train::TrainOptions o;
  o.max_epochs = 8;
  o.learning_rate = 1e-2;
  o.progress = false;
  auto result = train::train(m, dm, o);
  EXPECT_LT(result.epochs.back().train_loss, 0.9 * result.epochs.front().train_loss);
  EXPECT_LT(result.epochs.back().val.loss, result.epochs.front().val.loss);
  std::string path = (std::filesystem::temp_directory_path() /
                      ("chop_passes_" + std::to_string(::getpid()) + ".ckpt")).string();
  runtime::save_checkpoint(path, m);
  auto loaded = runtime::load_checkpoint(path);
  std::filesystem::remove(path);
  EXPECT_EQ(loaded->graph().to_text(), g.to_text());
  m->eval();
  loaded->eval();
  auto x = dm.test().x.slice(0, 0, 8);
  EXPECT_TRUE(torch::equal(m->forward(x), loaded->forward(x)));
}

TEST(TransformedModel, InheritCopiesOverlappingWeightsAndSeedInitsOtherwise) {
  ir::Graph g = models::build_model("jsc-three-linear-relu");
  auto trained = runtime::build_module(g, 1);
  const std::string config = "[seq_blocks_2.config]\nname = \"output_only\"\nchannel_multiplier = 2\n";
  auto weight = [](const std::shared_ptr<runtime::GraphModuleImpl>& m, const std::string& key) {
    return m->named_parameters()[key];
  };
  for (bool inherit : {true, false}) {
    ir::Graph h = g;
    PassContext ctx;
    ctx.module = trained.ptr();
    PassManager pm;
    auto table = parse_toml(config, "t");
    table["inherit"] = inherit;
    pm.add("redefine_linear", table).run(h, ctx);
    auto m = passes::module_for(h, ctx);
    auto old_w = weight(trained.ptr(), "seq_blocks_4.weight"), new_w = weight(m, "seq_blocks_4.weight");
    ASSERT_EQ(new_w.sizes().vec(), (std::vector<int64_t>{16, 32}));
    EXPECT_EQ(torch::equal(new_w.slice(1, 0, 16), old_w), inherit);
    // Unchanged tensors are always kept.
    EXPECT_TRUE(torch::equal(weight(m, "seq_blocks_0.weight"), weight(trained.ptr(), "seq_blocks_0.weight")));
  }
}
