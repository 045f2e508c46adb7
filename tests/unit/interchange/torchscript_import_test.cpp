// TorchScript import: graphs, names and weights against the TorchScript interpreter (the oracle),
// and one clear error for what chop cannot represent. Fixtures: tests/fixtures/models/make_models.py.
#include <gtest/gtest.h>
#include <torch/script.h>

#include "chop/interchange/torchscript_import.h"
#include "chop/models/zoo.h"
#include "chop/support/error.h"

using namespace chop;

namespace {

std::string fixture(const std::string& name) { return std::string(CHOP_SOURCE_DIR) + "/tests/fixtures/models/" + name; }

/// The fixture's input and what TorchScript's interpreter gave for it when it was made.
std::pair<torch::Tensor, torch::Tensor> io(const std::string& model) {
  auto m = torch::jit::load(fixture(model + ".io.pt"));
  return {m.attr("x").toTensor(), m.attr("y").toTensor()};
}

/// The interpreter's output now, on the same input (the oracle, independent of chop).
torch::Tensor oracle(const std::string& file, const torch::Tensor& x) {
  auto m = torch::jit::load(fixture(file));
  m.eval();
  torch::NoGradGuard no_grad;
  return m.forward({x}).toTensor();
}

std::vector<std::string> names(const ir::Graph& g) {
  std::vector<std::string> out;
  for (const auto& n : g.nodes()) out.push_back(n.name);
  return out;
}

template <typename E>
std::string error_of(const std::string& file, interchange::ImportOptions o = {}) {
  try {
    interchange::import_torchscript(fixture(file), o);
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for " << file;
  return "";
}

}  // namespace

TEST(TorchScriptImport, Lab4ModelIsTheZoosWithItsWeights) {
  auto m = interchange::import_torchscript(fixture("jsc_three_linear_layers_traced.pt"), {});
  const ir::Graph& g = m->graph();
  EXPECT_EQ(g.input_shape(), (ir::Shape{16}));  // inferred from the first BatchNorm1d
  EXPECT_EQ(names(g), (std::vector<std::string>{"x", "seq_blocks_0", "seq_blocks_1", "seq_blocks_2", "seq_blocks_3",
                                                "seq_blocks_4", "seq_blocks_5", "seq_blocks_6", "seq_blocks_7", "output"}));
  // The same graph as the zoo's jsc-three-linear-relu (lab 4's model), node for node.
  ir::Graph zoo = models::build_model("jsc-three-linear-relu");
  ASSERT_EQ(zoo.nodes().size(), g.nodes().size());
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    EXPECT_EQ(g.nodes()[i].name, zoo.nodes()[i].name);
    EXPECT_EQ(g.nodes()[i].op, zoo.nodes()[i].op) << g.nodes()[i].name;
    EXPECT_EQ(g.nodes()[i].meta.out_shape, zoo.nodes()[i].meta.out_shape) << g.nodes()[i].name;
    if (g.nodes()[i].op == ir::OpKind::Linear) {
      EXPECT_EQ(g.nodes()[i].attrs, zoo.nodes()[i].attrs);
    }
  }
  auto [x, y] = io("jsc_three_linear_layers");
  m->eval();
  torch::NoGradGuard no_grad;
  auto got = m->forward(x);
  EXPECT_TRUE(torch::allclose(got, y, 1e-5, 1e-5)) << (got - y).abs().max();
  EXPECT_TRUE(torch::allclose(got, oracle("jsc_three_linear_layers_traced.pt", x), 1e-5, 1e-5));
}

TEST(TorchScriptImport, NestedCnnTracedAndScripted) {
  auto [x, y] = io("small_cnn");
  for (const char* file : {"small_cnn_traced.pt", "small_cnn_scripted.pt"}) {
    interchange::ImportOptions o;
    o.input_shape = {1, 12, 12};
    auto m = interchange::import_torchscript(fixture(file), o);
    EXPECT_EQ(names(m->graph()), (std::vector<std::string>{"x", "stem_0", "stem_1", "stem_2", "pool", "block_conv",
                                                           "block_bn", "add", "block_relu", "avg", "gap", "flatten",
                                                           "drop", "fc", "output"}))
        << file;
    m->eval();
    torch::NoGradGuard no_grad;
    auto got = m->forward(x);
    EXPECT_TRUE(torch::allclose(got, y, 1e-5, 1e-5)) << file << ": " << (got - y).abs().max();
    EXPECT_TRUE(torch::allclose(got, oracle(file, x), 1e-5, 1e-5)) << file;
  }
}

TEST(TorchScriptImport, WhatChopCannotRepresentIsOneClearError) {
  interchange::ImportOptions img;
  img.input_shape = {1, 4, 4};
  auto msg = error_of<GraphError>("transposed_traced.pt", img);
  EXPECT_NE(msg.find("a transposed convolution (aten::_convolution in module 'up'"), std::string::npos) << msg;
  img.input_shape = {2, 5, 5};
  msg = error_of<GraphError>("grouped_traced.pt", img);
  EXPECT_NE(msg.find("a grouped convolution (groups = 2)"), std::string::npos) << msg;
  msg = error_of<GraphError>("sigmoid_traced.pt");
  EXPECT_NE(msg.find("an op chop's IR cannot represent (aten::sigmoid"), std::string::npos) << msg;
  EXPECT_NE(msg.find("make_models.py:"), std::string::npos) << "the source line: " << msg;
}

TEST(TorchScriptImport, BadFilesAndMissingShapes) {
  auto msg = error_of<DataError>("not_torchscript.pt");
  EXPECT_NE(msg.find("is not a TorchScript archive"), std::string::npos) << msg;
  msg = error_of<DataError>("nope.pt");
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
  msg = error_of<ConfigError>("small_cnn_traced.pt");  // a Conv2d first: the shape is not fixed
  EXPECT_NE(msg.find("--input-shape"), std::string::npos) << msg;
}
