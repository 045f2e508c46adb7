// Number formats and quantized execution: MASE's integer formula, minifloat, STE, runtime ops.
#include <gtest/gtest.h>

#include "chop/ir/graph.h"
#include "chop/models/zoo.h"
#include "chop/quant/format.h"
#include "chop/quant/quantizer.h"
#include "chop/quant/tensor_quantizer.h"
#include "chop/runtime/module.h"
#include "chop/support/error.h"

using namespace chop;

TEST(IntegerFormat, RoundsHalfToEvenAndClamps) {
  // width 8, frac 4: step 1/16, range [-128/16, 127/16].
  EXPECT_EQ(quant::integer_value(8.5 / 16, 8, 4), 0.5);       // 8.5 -> 8
  EXPECT_EQ(quant::integer_value(9.5 / 16, 8, 4), 10.0 / 16);  // 9.5 -> 10
  EXPECT_EQ(quant::integer_value(-8.5 / 16, 8, 4), -0.5);
  EXPECT_EQ(quant::integer_value(100, 8, 4), 127.0 / 16);
  EXPECT_EQ(quant::integer_value(-100, 8, 4), -8.0);
  EXPECT_EQ(quant::integer_value(0.3, 4, 2), 0.25);
  // Unsigned (ReLU input): [0, 2^w - 1].
  EXPECT_EQ(quant::integer_value(5, 4, 2, false), 15.0 / 4);
  EXPECT_EQ(quant::integer_value(-1, 4, 2, false), 0.0);
}

TEST(IntegerFormat, TensorMatchesScalar) {
  torch::manual_seed(0);
  auto x = torch::randn({1000}) * 4;
  for (bool is_signed : {true, false}) {
    auto q = quant::integer_quantize(x, 6, 3, is_signed);
    for (int64_t i = 0; i < x.numel(); ++i)
      ASSERT_EQ(q[i].item<float>(), static_cast<float>(quant::integer_value(x[i].item<float>(), 6, 3, is_signed)));
  }
}

TEST(MinifloatFormat, NormalSubnormalAndSaturation) {
  // 8 bits: e = 4, m = 3, bias 7; largest 2^(15-7) * 1.875 = 480 (no inf).
  int64_t bias = quant::default_exponent_bias(4);
  EXPECT_EQ(bias, 7);
  EXPECT_EQ(quant::minifloat_max(8, 4, bias), 480.0);
  EXPECT_EQ(quant::minifloat_value(1.0625, 8, 4, bias), 1.0);  // 8.5 eighths -> 8
  EXPECT_EQ(quant::minifloat_value(1.1875, 8, 4, bias), 1.25); // 9.5 -> 10
  EXPECT_EQ(quant::minifloat_value(-3.0, 8, 4, bias), -3.0);
  EXPECT_EQ(quant::minifloat_value(3 * std::ldexp(1.0, -10), 8, 4, bias), std::ldexp(1.0, -8));  // subnormal step 2^-9
  EXPECT_EQ(quant::minifloat_value(1000, 8, 4, bias), 480.0);
  EXPECT_EQ(quant::minifloat_value(0, 8, 4, bias), 0.0);
  torch::manual_seed(1);
  auto x = torch::randn({500}) * 10;
  auto q = quant::minifloat_quantize(x, 8, 4, bias);
  for (int64_t i = 0; i < x.numel(); ++i)
    ASSERT_FLOAT_EQ(q[i].item<float>(), static_cast<float>(quant::minifloat_value(x[i].item<float>(), 8, 4, bias)));
}

TEST(Precision, ChecksAndBits) {
  EXPECT_NO_THROW(quant::check_precision(quant::integer_precision(8, 4), "t"));
  EXPECT_THROW(quant::check_precision(quant::integer_precision(0, 0), "t"), ConfigError);
  EXPECT_THROW(quant::check_precision(quant::minifloat_precision(8, 8, 1), "t"), ConfigError);
  EXPECT_THROW(quant::check_precision({"log", {8}, {}}, "t"), ConfigError);
  EXPECT_EQ(quant::bits_of({}), 32);
  EXPECT_EQ(quant::bits_of(quant::integer_precision(6, 3)), 6);
}

TEST(Quantizer, StraightThroughGradient) {
  auto x = torch::linspace(-3, 3, 13).requires_grad_(true);
  quant::TensorQuantizer q(quant::integer_precision(4, 1), quant::TensorRole::Input, true);
  auto y = q.forward(x, true);
  y.sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), torch::ones_like(x)));
  EXPECT_TRUE(torch::equal(y.detach(), quant::integer_quantize(x.detach(), 4, 1)));
  auto f = torch::randn({3});
  quant::TensorQuantizer none(ir::Precision{}, quant::TensorRole::Input, true);
  EXPECT_TRUE(none.forward(f, true).is_same(f));  // float32: no op
}

namespace {

// x -> Linear(2, 1) -> output, every tensor integer [4, 2].
ir::Graph tiny_linear() {
  ir::Graph g("tiny", {2});
  g.add("x", ir::OpKind::Input, {});
  ir::Attrs a;
  a.in_features = 2;
  a.out_features = 1;
  ir::Node& n = g.add("fc", ir::OpKind::Linear, {"x"}, a);
  n.meta.data_in = n.meta.weight = n.meta.bias = quant::integer_precision(4, 2);
  g.add("output", ir::OpKind::Output, {"fc"});
  g.infer_shapes();
  return g;
}

}  // namespace

TEST(QuantizedRuntime, LinearEqualsHandComputedFixedPoint) {
  auto m = runtime::build_module(tiny_linear(), 0);
  torch::NoGradGuard no_grad;
  for (auto& p : m->named_parameters()) {
    if (p.key() == "fc.weight") p.value().copy_(torch::tensor({{0.3f, -0.7f}}));
    if (p.key() == "fc.bias") p.value().copy_(torch::tensor({0.1f}));
  }
  // Steps of 1/4: w = [0.25, -0.75] (1.2 -> 1, -2.8 -> -3), b = 0 (0.4 -> 0),
  // x = [1.25, 0.5] (5.2 -> 5, 2.2 -> 2); y = 1.25 * 0.25 - 0.5 * 0.75 = -0.0625.
  auto y = m->forward(torch::tensor({{1.3f, 0.55f}}));
  EXPECT_FLOAT_EQ(y.item<float>(), -0.0625f);
}

TEST(QuantizedRuntime, ConvKeepsBiasAndReluInputIsUnsigned) {
  ir::Graph g("conv", {1, 2, 2});
  g.add("x", ir::OpKind::Input, {});
  ir::Attrs c;
  c.in_channels = 1;
  c.out_channels = 1;
  c.kernel_size = 1;
  ir::Node& conv = g.add("conv", ir::OpKind::Conv2d, {"x"}, c);
  conv.meta.data_in = conv.meta.weight = conv.meta.bias = quant::integer_precision(8, 4);
  ir::Node& relu = g.add("relu", ir::OpKind::Relu, {"conv"});
  relu.meta.data_in = quant::integer_precision(4, 2);  // unsigned: [0, 15/4]
  g.add("output", ir::OpKind::Output, {"relu"});
  g.infer_shapes();
  auto m = runtime::build_module(g, 0);
  torch::NoGradGuard no_grad;
  for (auto& p : m->named_parameters()) p.value().fill_(p.key() == "conv.weight" ? 0.5 : 0.25);
  auto y = m->forward(torch::tensor({1.0f, -2.0f, 3.0f, 10.0f}).reshape({1, 1, 2, 2}));
  // conv: x/2 + 0.25 (x at 8.4 saturates 10 -> 7.9375); relu input clamps to [0, 3.75].
  auto want = torch::tensor({0.75f, 0.0f, 1.75f, 3.75f}).reshape({1, 1, 2, 2});
  EXPECT_TRUE(torch::allclose(y, want)) << y;
}

TEST(QuantizedRuntime, FloatGraphIsUnchangedAndQuantizedModelHasGradients) {
  ir::Graph g = models::build_model("jsc-tiny");
  auto plain = runtime::build_module(g, 3);
  for (auto& n : g.nodes())
    if (n.op == ir::OpKind::Linear) n.meta.data_in = n.meta.weight = n.meta.bias = quant::integer_precision(8, 4);
  auto q = runtime::rebuild_module(g, *plain, 9, false);
  auto x = torch::randn({4, 16});
  plain->eval();
  q->eval();
  auto a = plain->forward(x), b = q->forward(x);
  EXPECT_FALSE(torch::equal(a, b));
  EXPECT_LT((a - b).abs().max().item<float>(), 0.2f);
  q->train();
  q->forward(x).sum().backward();
  for (const auto& p : q->parameters()) EXPECT_TRUE(p.grad().defined());
}

TEST(QuantizedRuntime, UnsupportedPrecisionIsAGraphError) {
  ir::Graph g = models::build_model("jsc-tiny");
  g.node("seq_blocks_0").meta.data_in = quant::integer_precision(8, 4);  // a batch norm
  EXPECT_THROW(runtime::build_module(g, 0), GraphError);
}
