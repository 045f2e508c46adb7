// Model zoo: exact layers, parameter counts (hand-computed), names, custom TOML models.
#include <gtest/gtest.h>

#include "chop/ir/serialize.h"
#include "chop/models/custom_model.h"
#include "chop/models/zoo.h"
#include "chop/support/error.h"
#include "chop/support/toml.h"

using namespace chop;
using namespace chop::models;

TEST(Zoo, ParameterCountsByHand) {
  EXPECT_EQ(build_model("jsc-tiny").count_params(), 117);
  EXPECT_EQ(build_model("jsc-toy").count_params(), 327);
  EXPECT_EQ(build_model("jsc-s").count_params(), 5807);
  EXPECT_EQ(build_model("jsc-three-linear").count_params(), 32 + 272 + 272 + 85);
  EXPECT_EQ(build_model("jsc-three-linear-relu").count_params(), 32 + 272 + 272 + 85);
  EXPECT_EQ(build_model("mlp").count_params(), 235146);             // 784-256-128-10
  EXPECT_EQ(build_model("cnn-small").count_params(), 421834);
  EXPECT_EQ(build_model("vgg7").count_params(), 14029450);          // CIFAR 3x32x32
  EXPECT_EQ(build_model("vgg7", ModelOptions().with_input_shape({1, 28, 28})).count_params(),
            10357130);
}

TEST(Zoo, EveryModelLintsAndRoundTrips) {
  for (const auto& name : model_names()) {
    SCOPED_TRACE(name);
    ir::Graph g = build_model(name);
    EXPECT_NO_THROW(g.lint());
    EXPECT_EQ(ir::graph_from_json(ir::graph_to_json(g)), g);
  }
}

TEST(Zoo, ThreeLinearReluLayout) {
  ir::Graph g = build_model("jsc-three-linear-relu");
  for (const char* name : {"seq_blocks_2", "seq_blocks_4", "seq_blocks_6"})
    EXPECT_EQ(g.node(name).op, ir::OpKind::Linear) << name;
  EXPECT_EQ(ir::torch_repr(g.node("seq_blocks_6")),
            "Linear(in_features=16, out_features=5, bias=True)");
  ir::Graph plain = build_model("jsc-three-linear");
  EXPECT_EQ(plain.node("seq_blocks_3").op, ir::OpKind::Linear);
  EXPECT_EQ(plain.node("seq_blocks_4").op, ir::OpKind::Linear);
  EXPECT_EQ(plain.node("seq_blocks_5").op, ir::OpKind::Relu);
}

TEST(Zoo, OptionsChangeTheGraph) {
  ir::Graph m = build_model("mlp", ModelOptions().with_input_shape({16}).with_hidden({64, 32})
                                       .with_num_classes(5));
  EXPECT_EQ(m.find("seq_blocks_0")->op, ir::OpKind::Linear);  // no flatten for flat input
  EXPECT_EQ(m.count_params(), 16 * 64 + 64 + 64 * 32 + 32 + 32 * 5 + 5);
  ir::Graph v = build_model("vgg7", ModelOptions().with_width(0.25));
  EXPECT_EQ(v.node("feature_layers_0").attrs.out_channels, 32);
  EXPECT_NO_THROW(v.lint());
}

TEST(Zoo, UnknownModelListsNearestFirst) {
  try {
    build_model("jsc-tny");
    FAIL();
  } catch (const GraphError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("unknown model 'jsc-tny'; known: jsc-tiny"), std::string::npos) << m;
  }
}

TEST(Zoo, BadOptionsAreErrors) {
  EXPECT_THROW(build_model("jsc-tiny", ModelOptions().with_input_shape({1, 28, 28})), GraphError);
  EXPECT_THROW(build_model("vgg7", ModelOptions().with_input_shape({3, 4, 4})), GraphError);
  EXPECT_THROW(build_model("mlp", ModelOptions().with_num_classes(-1)), GraphError);
}

TEST(CustomModel, SeedsThreeLinearLayersFromToml) {
  auto config = parse_toml(R"(
[model]
name = "custom"
input_shape = [16]
[[model.layers]]
op = "batch_norm1d"
num_features = 16
[[model.layers]]
op = "relu"
inplace = true
[[model.layers]]
op = "linear"
in_features = 16
out_features = 16
[[model.layers]]
op = "linear"
in_features = 16
out_features = 16
[[model.layers]]
op = "linear"
in_features = 16
out_features = 5
[[model.layers]]
op = "relu"
inplace = true
)", "test.toml");
  ir::Graph custom = build_custom_model(config["model"]);
  ir::Graph zoo = build_model("jsc-three-linear");
  ASSERT_EQ(custom.size(), zoo.size());
  for (size_t i = 0; i < zoo.size(); ++i) {
    EXPECT_EQ(custom.nodes()[i].name, zoo.nodes()[i].name);
    EXPECT_EQ(custom.nodes()[i].op, zoo.nodes()[i].op);
    EXPECT_EQ(custom.nodes()[i].attrs, zoo.nodes()[i].attrs);
  }
}

TEST(CustomModel, ErrorsNameTheLayer) {
  auto bad_key = parse_toml("[model]\ninput_shape=[16]\n[[model.layers]]\nop='linear'\n"
                            "in_features=16\nout_feature=5\n", "t.toml");
  try {
    build_custom_model(bad_key["model"]);
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown attribute 'out_feature'"), std::string::npos);
  }
  auto bad_width = parse_toml("[model]\ninput_shape=[16]\n[[model.layers]]\nop='linear'\n"
                              "in_features=8\nout_features=5\n", "t.toml");
  EXPECT_THROW(build_custom_model(bad_width["model"]), GraphError);
  EXPECT_THROW(parse_toml("[model\n", "broken.toml"), ConfigError);
}

TEST(CustomModel, WidthsThePreviousLayerFixesMayBeLeftOut) {
  // cnn-small, declared with only the widths the previous layer does not fix.
  auto config = parse_toml(R"(
[model]
name = "cnn-small"
input_shape = [1, 28, 28]
prefix = "features"
[[model.layers]]
op = "conv2d"
out_channels = 32
kernel_size = 3
padding = 1
[[model.layers]]
op = "batch_norm2d"
[[model.layers]]
op = "relu"
[[model.layers]]
op = "max_pool2d"
kernel_size = 2
[[model.layers]]
op = "conv2d"
out_channels = 64
kernel_size = 3
padding = 1
[[model.layers]]
op = "batch_norm2d"
[[model.layers]]
op = "relu"
[[model.layers]]
op = "max_pool2d"
kernel_size = 2
[[model.layers]]
op = "flatten"
[[model.layers]]
op = "linear"
out_features = 128
[[model.layers]]
op = "relu"
[[model.layers]]
op = "linear"
out_features = 10
)", "test.toml");
  ir::Graph g = build_custom_model(config["model"]);
  EXPECT_EQ(g.node("features_1").attrs.num_features, 32);
  EXPECT_EQ(g.node("features_4").attrs.in_channels, 32);
  EXPECT_EQ(g.node("features_9").attrs.in_features, 64 * 7 * 7);  // after flatten
  EXPECT_EQ(g.node("features_11").attrs.in_features, 128);
  // The same parameters as the zoo's cnn-small, layer for layer.
  ir::Graph zoo = build_model("cnn-small");
  EXPECT_EQ(g.count_params(), zoo.count_params());
  // A width given that the previous layer contradicts is still an error naming the layer.
  auto bad = parse_toml("[model]\ninput_shape=[16]\n[[model.layers]]\nop='linear'\nin_features=8\nout_features=5\n", "t.toml");
  EXPECT_THROW(build_custom_model(bad["model"]), GraphError);
}
