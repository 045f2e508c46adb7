// Runtime: graphs run in LibTorch with the inferred shapes; seeded init; checkpoints.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "chop/ir/serialize.h"
#include "chop/models/zoo.h"
#include "chop/runtime/checkpoint.h"
#include "chop/runtime/module.h"
#include "chop/support/error.h"

using namespace chop;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("chop_runtime_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

torch::Tensor batch_for(const ir::Graph& g, int64_t n, uint64_t seed = 1) {
  std::vector<int64_t> shape{n};
  shape.insert(shape.end(), g.input_shape().begin(), g.input_shape().end());
  torch::manual_seed(seed);
  return torch::randn(shape);
}

}  // namespace

TEST(Runtime, ShapesMatchInferenceForEveryZooModel) {
  for (const auto& name : models::model_names()) {
    SCOPED_TRACE(name);
    ir::Graph g = models::build_model(name);
    auto m = runtime::build_module(g, 0);
    m->eval();
    torch::NoGradGuard no_grad;
    auto values = m->forward_all(batch_for(g, 2));
    ASSERT_EQ(values.size(), g.size());
    for (size_t i = 0; i < g.size(); ++i)
      EXPECT_EQ(values[i].sizes().slice(1).vec(), g.nodes()[i].meta.out_shape) << g.nodes()[i].name;
    int64_t n_params = 0;
    for (const auto& p : m->parameters()) n_params += p.numel();
    EXPECT_EQ(n_params, g.count_params());
  }
}

TEST(Runtime, Vgg7RunsOnMnistShapedInput) {
  ir::Graph g = models::build_model("vgg7", models::ModelOptions().with_input_shape({1, 28, 28}).with_width(0.25));
  auto m = runtime::build_module(g, 0);
  EXPECT_EQ(m->forward(batch_for(g, 3)).sizes().vec(), (std::vector<int64_t>{3, 10}));
}

TEST(Runtime, ParametersAreNamedAfterNodes) {
  auto m = runtime::build_module(models::build_model("jsc-tiny"), 0);
  std::vector<std::string> names;
  for (const auto& p : m->named_parameters()) names.push_back(p.key());
  EXPECT_EQ(names, (std::vector<std::string>{"seq_blocks_0.weight", "seq_blocks_0.bias",
                                             "seq_blocks_2.weight", "seq_blocks_2.bias"}));
}

TEST(Runtime, SeededInitIsDeterministic) {
  ir::Graph g = models::build_model("jsc-s");
  auto a = runtime::build_module(g, 7), b = runtime::build_module(g, 7), c = runtime::build_module(g, 8);
  auto pa = a->parameters(), pb = b->parameters(), pc = c->parameters();
  bool all_same_c = true;
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::equal(pa[i], pb[i]));
    all_same_c = all_same_c && torch::equal(pa[i], pc[i]);
  }
  EXPECT_FALSE(all_same_c);
}

TEST(Runtime, WrongInputShapeIsAnError) {
  auto m = runtime::build_module(models::build_model("jsc-tiny"), 0);
  EXPECT_THROW(m->forward(torch::randn({4, 15})), GraphError);
}

TEST(Runtime, GpuOnCpuBuildIsAClearError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "CUDA present";
  try {
    runtime::parse_accelerator("gpu");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos);
  }
  EXPECT_EQ(runtime::parse_accelerator("auto"), torch::Device(torch::kCPU));
  EXPECT_THROW(runtime::parse_accelerator("tpu"), ConfigError);
}

TEST(Checkpoint, RoundTripGivesBitIdenticalOutputs) {
  for (const char* name : {"jsc-toy", "cnn-small"}) {
    SCOPED_TRACE(name);
    ir::Graph g = models::build_model(name);
    auto m = runtime::build_module(g, 3);
    m->train();
    m->forward(batch_for(g, 8, 5));  // move batch-norm running statistics off their defaults
    m->eval();
    auto x = batch_for(g, 4, 9);
    auto before = m->forward(x);
    std::string path = (temp_dir() / (std::string(name) + ".ckpt")).string();
    runtime::save_checkpoint(path, m);
    auto loaded = runtime::load_checkpoint(path);
    loaded->eval();
    EXPECT_TRUE(torch::equal(loaded->forward(x), before));
    EXPECT_EQ(loaded->graph(), m->graph());
    EXPECT_FALSE(fs::exists(path + ".tmp"));
  }
}

TEST(Checkpoint, LoadErrorsAreClear) {
  fs::path dir = temp_dir();
  EXPECT_THROW(runtime::load_checkpoint((dir / "missing.ckpt").string()), DataError);
  std::ofstream((dir / "junk.ckpt").string()) << "not a checkpoint";
  try {
    runtime::load_checkpoint((dir / "junk.ckpt").string());
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("junk.ckpt"), std::string::npos);
  }
}

TEST(Checkpoint, MissingTensorWrongShapeAndUnknownOp) {
  fs::path dir = temp_dir();
  ir::Graph g = models::build_model("jsc-tiny");
  auto m = runtime::build_module(g, 0);
  auto graph_json = ir::graph_to_json(g);

  // Missing tensor: an archive with the graph but without seq_blocks_2.bias.
  {
    torch::serialize::OutputArchive a;
    a.write("__chop_graph__", c10::IValue(graph_json.dump()));
    for (const auto& p : m->named_parameters())
      if (p.key() != "seq_blocks_2.bias") a.write(p.key(), p.value().detach());
    for (const auto& b : m->named_buffers()) a.write(b.key(), b.value(), true);
    a.save_to((dir / "missing_tensor.ckpt").string());
    try {
      runtime::load_checkpoint((dir / "missing_tensor.ckpt").string());
      FAIL();
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find("missing tensor 'seq_blocks_2.bias'"), std::string::npos)
          << e.what();
    }
  }
  // Wrong shape: weights of a wider model under the narrow graph.
  {
    ir::Graph wide = models::build_model("jsc-tiny", models::ModelOptions().with_num_classes(6));
    auto mw = runtime::build_module(wide, 0);
    torch::serialize::OutputArchive a;
    a.write("__chop_graph__", c10::IValue(graph_json.dump()));
    for (const auto& p : mw->named_parameters()) a.write(p.key(), p.value().detach());
    for (const auto& b : mw->named_buffers()) a.write(b.key(), b.value(), true);
    a.save_to((dir / "wrong_shape.ckpt").string());
    EXPECT_THROW(runtime::load_checkpoint((dir / "wrong_shape.ckpt").string()), DataError);
  }
  // Unknown op in the stored graph.
  {
    auto bad = graph_json;
    bad["nodes"][2]["op"] = "gelu";
    torch::serialize::OutputArchive a;
    a.write("__chop_graph__", c10::IValue(bad.dump()));
    a.save_to((dir / "unknown_op.ckpt").string());
    EXPECT_THROW(runtime::load_checkpoint((dir / "unknown_op.ckpt").string()), GraphError);
  }
}
