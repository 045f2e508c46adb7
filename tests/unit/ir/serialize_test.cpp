// Graph <-> JSON round trips and malformed input.
#include <gtest/gtest.h>

#include "chop/ir/serialize.h"
#include "chop/support/error.h"

using namespace chop;
using namespace chop::ir;

namespace {

Graph sample() {
  Graph g("t", {2, 8, 8});
  g.add("x", OpKind::Input, {});
  Attrs c;
  c.in_channels = 2;
  c.out_channels = 4;
  c.kernel_size = 3;
  c.padding = 1;
  c.bias = false;
  g.add("conv", OpKind::Conv2d, {"x"}, c);
  Attrs bn;
  bn.num_features = 4;
  bn.eps = 1e-3;
  g.add("bn", OpKind::BatchNorm2d, {"conv"}, bn);
  g.add("res", OpKind::Add, {"bn", "conv"});
  g.add("flat", OpKind::Flatten, {"res"});
  Attrs d;
  d.p = 0.25;
  g.add("drop", OpKind::Dropout, {"flat"}, d);
  g.add("output", OpKind::Output, {"drop"});
  g.node("conv").meta.weight = Precision{"integer", {8, 4}, {}};
  g.node("conv").info["software"] = {{"max", 1.5}};
  g.infer_shapes();
  return g;
}

}  // namespace

TEST(Serialize, RoundTripIsIdentical) {
  Graph g = sample();
  nlohmann::json j = graph_to_json(g);
  Graph back = graph_from_json(j);
  EXPECT_EQ(back, g);
  EXPECT_EQ(graph_to_json(back), j);
  EXPECT_EQ(back.to_text(), g.to_text());
  EXPECT_EQ(back.node("conv").meta.weight.to_string(), "integer[8, 4]");
}

TEST(Serialize, UnknownOpIsAnError) {
  nlohmann::json j = graph_to_json(sample());
  j["nodes"][1]["op"] = "conv3d";
  try {
    graph_from_json(j);
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown op 'conv3d'"), std::string::npos) << e.what();
  }
}

TEST(Serialize, UnknownAttributeListsValidKeys) {
  nlohmann::json j = graph_to_json(sample());
  j["nodes"][1]["attrs"]["dilation"] = 2;
  try {
    graph_from_json(j);
    FAIL();
  } catch (const GraphError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("unknown attribute 'dilation'"), std::string::npos) << m;
    EXPECT_NE(m.find("kernel_size"), std::string::npos) << m;
  }
}

TEST(Serialize, WrongTypesAndMissingFields) {
  nlohmann::json j = graph_to_json(sample());
  j["nodes"][1]["attrs"]["out_channels"] = "four";
  EXPECT_THROW(graph_from_json(j), GraphError);
  j = graph_to_json(sample());
  j["nodes"][2].erase("inputs");
  EXPECT_THROW(graph_from_json(j), GraphError);
  EXPECT_THROW(graph_from_json(nlohmann::json::array()), GraphError);
}
