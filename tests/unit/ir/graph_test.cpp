// Graph IR: building, shape inference, lint, printing.
#include <gtest/gtest.h>

#include "chop/ir/graph.h"
#include "chop/support/error.h"

using namespace chop;
using namespace chop::ir;

namespace {

Attrs linear(int64_t in, int64_t out) {
  Attrs a;
  a.in_features = in;
  a.out_features = out;
  return a;
}

Graph two_linear() {
  Graph g("t", {16});
  g.add("x", OpKind::Input, {});
  g.add("fc1", OpKind::Linear, {"x"}, linear(16, 8));
  g.add("act", OpKind::Relu, {"fc1"});
  g.add("fc2", OpKind::Linear, {"act"}, linear(8, 5));
  g.add("output", OpKind::Output, {"fc2"});
  g.infer_shapes();
  return g;
}

}  // namespace

TEST(Ops, NamesParseBack) {
  for (const auto& name : all_op_names()) EXPECT_EQ(op_name(parse_op(name)), name);
  EXPECT_EQ(static_cast<size_t>(kNumOps), all_op_names().size());
  EXPECT_THROW(parse_op("linaer"), GraphError);
}

TEST(Graph, UsersAndOrder) {
  Graph g = two_linear();
  EXPECT_EQ(g.node("x").users, std::vector<std::string>{"fc1"});
  EXPECT_EQ(g.node("fc2").users, std::vector<std::string>{"output"});
  EXPECT_EQ(g.index_of("act"), 2u);
  EXPECT_NO_THROW(g.lint());
}

TEST(Graph, AddRejectsBadNodes) {
  Graph g("t", {4});
  g.add("x", OpKind::Input, {});
  EXPECT_THROW(g.add("x", OpKind::Relu, {"x"}), GraphError);      // duplicate
  EXPECT_THROW(g.add("r", OpKind::Relu, {"nope"}), GraphError);   // unknown input
  EXPECT_THROW(g.add("a", OpKind::Add, {"x"}), GraphError);       // arity
  try {
    g.node("fc9");
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown node 'fc9'"), std::string::npos);
  }
}

TEST(Shapes, HandComputed) {
  Graph g("c", {3, 32, 32});
  g.add("x", OpKind::Input, {});
  Attrs c;
  c.in_channels = 3;
  c.out_channels = 8;
  c.kernel_size = 3;
  c.padding = 1;
  g.add("conv", OpKind::Conv2d, {"x"}, c);
  Attrs s2 = c;
  s2.in_channels = 8;
  s2.stride = 2;
  s2.padding = 0;
  g.add("conv2", OpKind::Conv2d, {"conv"}, s2);  // (32 - 3) / 2 + 1 = 15
  Attrs p;
  p.kernel_size = 2;
  p.stride = 2;
  g.add("pool", OpKind::MaxPool2d, {"conv2"}, p);  // 7
  Attrs ad;
  ad.output_size = 1;
  g.add("gap", OpKind::AdaptiveAvgPool2d, {"pool"}, ad);
  g.add("flat", OpKind::Flatten, {"gap"});
  g.add("output", OpKind::Output, {"flat"});
  g.infer_shapes();
  EXPECT_EQ(g.node("conv").meta.out_shape, (Shape{8, 32, 32}));
  EXPECT_EQ(g.node("conv2").meta.out_shape, (Shape{8, 15, 15}));
  EXPECT_EQ(g.node("pool").meta.out_shape, (Shape{8, 7, 7}));
  EXPECT_EQ(g.node("gap").meta.out_shape, (Shape{8, 1, 1}));
  EXPECT_EQ(g.node("flat").meta.out_shape, (Shape{8}));
  g.lint();
}

TEST(Shapes, MismatchNamesTheNode) {
  Graph g("t", {16});
  g.add("x", OpKind::Input, {});
  g.add("fc", OpKind::Linear, {"x"}, linear(12, 8));
  g.add("output", OpKind::Output, {"fc"});
  try {
    g.infer_shapes();
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("'fc'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("in_features=12"), std::string::npos) << e.what();
  }
}

TEST(Lint, CatchesStaleShapes) {
  Graph g = two_linear();
  g.node("fc1").attrs.out_features = 9;  // edited without re-inference
  EXPECT_THROW(g.lint(), GraphError);
}

TEST(Lint, CatchesDeadNodesAndBrokenUsers) {
  Graph g = two_linear();
  g.node("act").users.clear();
  EXPECT_THROW(g.lint(), GraphError);
  g.reindex();
  EXPECT_NO_THROW(g.lint());
  g.nodes().erase(g.nodes().begin() + 4);  // drop output
  g.reindex();
  EXPECT_THROW(g.lint(), GraphError);
}

TEST(Printer, TextIsDeterministic) {
  EXPECT_EQ(two_linear().to_text(),
            "graph t (input [16])\n"
            "  %x = placeholder() : [16]\n"
            "  %fc1 = linear(%x) {in_features=16, out_features=8, bias=true} : [8]\n"
            "  %act = relu(%fc1) {inplace=false} : [8]\n"
            "  %fc2 = linear(%act) {in_features=8, out_features=5, bias=true} : [5]\n"
            "  %output = output(%fc2) : [5]\n");
}

TEST(Printer, TorchRepr) {
  Node n;
  n.op = OpKind::Linear;
  n.attrs = linear(16, 32);
  EXPECT_EQ(torch_repr(n), "Linear(in_features=16, out_features=32, bias=True)");
  n.op = OpKind::BatchNorm1d;
  n.attrs.num_features = 16;
  EXPECT_EQ(torch_repr(n),
            "BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  n.op = OpKind::Conv2d;
  n.attrs.in_channels = 3;
  n.attrs.out_channels = 128;
  n.attrs.kernel_size = 3;
  n.attrs.padding = 1;
  EXPECT_EQ(torch_repr(n), "Conv2d(3, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
  n.op = OpKind::Relu;
  n.attrs.inplace = true;
  EXPECT_EQ(torch_repr(n), "ReLU(inplace=True)");
}

TEST(Params, HandCounts) {
  EXPECT_EQ(two_linear().count_params(), 16 * 8 + 8 + 8 * 5 + 5);
}
