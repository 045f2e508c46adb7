// Scaling of the integer format: stats scales, LSQ's forward and gradients, per-channel shapes,
// power-of-two rounding, unsigned inputs, calibration, against values computed by hand.
#include <gtest/gtest.h>

#include "chop/models/zoo.h"
#include "chop/quant/format.h"
#include "chop/quant/observer.h"
#include "chop/quant/tensor_quantizer.h"
#include "chop/runtime/checkpoint.h"
#include "chop/runtime/module.h"
#include "chop/support/error.h"

using namespace chop;
using quant::TensorQuantizer;
using quant::TensorRole;

namespace {

ir::Precision scaled(int64_t width, ir::Scaling::Kind kind, bool per_channel = false, bool power_of_two = true) {
  ir::Scaling s;
  s.kind = kind;
  s.per_channel = per_channel;
  s.power_of_two = power_of_two;
  return quant::scaled_integer_precision(width, s);
}

void expect_values(const torch::Tensor& t, const std::vector<double>& want) {
  auto flat = t.detach().to(torch::kDouble).flatten();
  ASSERT_EQ(flat.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(flat[i].item<double>(), want[i], 1e-6 * std::max(1.0, std::fabs(want[i]))) << "element " << i;
}

}  // namespace

TEST(StatsScaling, WeightScaleIsThePowerOfTwoCoveringItsMax) {
  // 4 bits signed: Qp + 1 = 8; max|w| = 0.3: 2^ceil(log2(0.3 / 8)) = 2^-4 (frac width 4, as
  // f = w - 1 - ceil(log2 max) = 3 + 1 gives).
  TensorQuantizer q(scaled(4, ir::Scaling::Kind::Stats), TensorRole::Weight, true, {4});
  auto w = torch::tensor({0.3, -0.1, 0.05, -0.2}, torch::kFloat);
  expect_values(q.scale(w), {0.0625});
  // 4.8 -> 5, -1.6 -> -2, 0.8 -> 1, -3.2 -> -3 steps.
  expect_values(q.quantize(w, true), {0.3125, -0.125, 0.0625, -0.1875});
  EXPECT_FALSE(q.needs_calibration());  // weights: from themselves at every step
  // Without power_of_two the largest magnitude maps to Qp exactly: 0.3 / 7.
  TensorQuantizer any(scaled(4, ir::Scaling::Kind::Stats, false, false), TensorRole::Weight, true, {4});
  expect_values(any.scale(w), {0.3 / 7});
}

TEST(StatsScaling, PerChannelWeightScales) {
  // Row 1: max 0.02 -> 2^ceil(log2(0.02 / 8)) = 2^-8; 0.02 / 2^-8 = 5.12 -> 5, 0.01 -> 2.56 -> 3.
  TensorQuantizer q(scaled(4, ir::Scaling::Kind::Stats, true), TensorRole::Weight, true, {2, 2});
  auto w = torch::tensor({{0.3, -0.1}, {0.02, 0.01}}, torch::kFloat);
  auto s = q.scale(w);
  EXPECT_EQ(s.sizes().vec(), (std::vector<int64_t>{2, 1}));
  expect_values(s, {0.0625, 1.0 / 256});
  expect_values(q.quantize(w, true), {0.3125, -0.125, 5.0 / 256, 3.0 / 256});
  // A learned per-channel step has one entry per output channel of a conv weight too.
  TensorQuantizer conv(scaled(3, ir::Scaling::Kind::Learned, true), TensorRole::Weight, true, {6, 3, 5, 5});
  EXPECT_EQ(conv.state().sizes().vec(), (std::vector<int64_t>{6, 1, 1, 1}));
}

TEST(StatsScaling, UnsignedInputsUseTheExtraBitAndRangesRun) {
  quant::RangeObserver seen;
  seen.add(torch::tensor({-5.0, 1.0, 3.0, 2.0}));
  EXPECT_DOUBLE_EQ(seen.range(1, false), 3.0);
  EXPECT_DOUBLE_EQ(seen.range(1, true), 5.0);
  EXPECT_DOUBLE_EQ(seen.abs_mean(false), 1.5);
  EXPECT_DOUBLE_EQ(seen.abs_mean(true), 2.75);
  // Unsigned 4 bits, range 3: Qp + 1 = 16, 2^ceil(log2(3 / 16)) = 0.25; values 0 .. 15 steps.
  TensorQuantizer u(scaled(4, ir::Scaling::Kind::Stats), TensorRole::Input, false);
  EXPECT_TRUE(u.needs_calibration());
  u.calibrate_input(seen);
  EXPECT_FALSE(u.needs_calibration());
  auto x = torch::tensor({2.9, -1.0, 5.0}, torch::kFloat);
  expect_values(u.quantize(x, false), {3.0, 0.0, 3.75});
  // Signed, the same observations: range 5, Qp + 1 = 8: 2^ceil(log2(5 / 8)) = 1.
  TensorQuantizer s(scaled(4, ir::Scaling::Kind::Stats), TensorRole::Input, true);
  s.calibrate_input(seen);
  expect_values(s.scale(x), {1.0});
  expect_values(s.quantize(x, false), {3.0, -1.0, 5.0});
  // Training: r <- 0.9 r + 0.1 max|x| = 0.9 * 5 + 0.1 * 20 = 6.5; evaluation leaves it.
  s.quantize(torch::tensor({20.0, 1.0}, torch::kFloat), true);
  expect_values(s.state(), {6.5});
  s.quantize(torch::tensor({100.0}, torch::kFloat), false);
  expect_values(s.state(), {6.5});
}

TEST(StatsScaling, QuantileRange) {
  quant::RangeObserver seen;
  seen.add(torch::arange(0, 1001, torch::kDouble));  // |x| = 0 .. 1000
  EXPECT_NEAR(seen.range(0.999, true), 999.0, 1e-9);
  EXPECT_NEAR(seen.range(0.5, true), 500.0, 1e-9);
  ir::Scaling s;
  s.kind = ir::Scaling::Kind::Stats;
  s.range = 0.5;
  TensorQuantizer q(quant::scaled_integer_precision(8, s), TensorRole::Input, true);
  q.calibrate_input(seen);
  expect_values(q.state(), {500.0});
}

TEST(LearnedScaling, LsqForwardAndGradientsByHand) {
  // 3 bits signed: Qn = -4, Qp = 3; s = 0.25 (a power of two: rounding leaves it).
  // v = x / s = 1.04, -3.6, 0.2, 8: q = (1, -4, 0, 3) * 0.25; d/dx = 1 inside [-4, 3], 0 at 8;
  // d/ds = round(v) - v inside, the bound outside: -0.04, -0.4, -0.2, 3 (sum 2.36), times
  // LSQ's g = 1 / sqrt(n Qp) = 1 / sqrt(12) for a weight of 4 elements.
  TensorQuantizer q(scaled(3, ir::Scaling::Kind::Learned), TensorRole::Weight, true, {4});
  q.state() = torch::full({1}, 0.25).requires_grad_(true);
  auto x = torch::tensor({0.26, -0.9, 0.05, 2.0}, torch::kFloat).requires_grad_(true);
  auto out = q.forward(x, true);
  expect_values(out, {0.25, -1.0, 0.0, 0.75});
  out.sum().backward();
  expect_values(x.grad(), {1, 1, 1, 0});
  const double ds = 2.36 / std::sqrt(12.0);
  EXPECT_NEAR(q.state().grad().item<double>(), ds, 1e-6);
  // The hand-written backward (the autograd-free step's) gives the same.
  q.state().mutable_grad().zero_();
  auto gx = torch::ones({4});
  q.backward_(gx, x.detach());
  expect_values(gx, {1, 1, 1, 0});
  EXPECT_NEAR(q.state().grad().item<double>(), ds, 1e-6);
}

TEST(LearnedScaling, MatchesAutogradOfTheComposedFormula) {
  // An independent LSQ: round with a straight-through gradient and LSQ's gradient scaling,
  // composed from LibTorch ops and differentiated by autograd; per-channel steps.
  torch::manual_seed(0);
  auto w = torch::randn({5, 7});
  const double qp = 7;  // 4 bits signed
  const double g = 1 / std::sqrt(7 * qp);  // per channel: n = 7 elements a channel
  TensorQuantizer q(scaled(4, ir::Scaling::Kind::Learned, true, false), TensorRole::Weight, true, {5, 7});
  q.calibrate_weight(w);
  auto init = q.state().clone();
  // LSQ's init: 2 mean|w| / sqrt(Qp) per channel.
  EXPECT_TRUE(torch::allclose(init.flatten(), 2 * w.abs().mean(1) / std::sqrt(qp)));
  q.state().requires_grad_(true);
  auto x = w.clone().requires_grad_(true);
  auto upstream = torch::randn({5, 7});
  (q.forward(x, true) * upstream).sum().backward();

  auto s = init.clone().requires_grad_(true);
  auto x2 = w.clone().requires_grad_(true);
  auto s_scaled = s * g + (s - s * g).detach();
  auto v = (x2 / s_scaled).clamp(-8, qp);
  auto rounded = v + (torch::round(v) - v).detach();
  ((rounded * s_scaled) * upstream).sum().backward();
  EXPECT_TRUE(torch::allclose(x.grad(), x2.grad()));
  EXPECT_TRUE(torch::allclose(q.state().grad(), s.grad(), 1e-5, 1e-7));
}

TEST(LearnedScaling, PowerOfTwoRoundsTheStep) {
  for (auto [step, effective] : {std::pair{0.3, 0.25}, {0.4, 0.5}, {0.75, 1.0}, {0.7, 0.5}}) {
    TensorQuantizer q(scaled(4, ir::Scaling::Kind::Learned), TensorRole::Input, true);
    q.state().fill_(step);
    expect_values(q.scale(torch::Tensor()), {effective});
  }
  TensorQuantizer any(scaled(4, ir::Scaling::Kind::Learned, false, false), TensorRole::Input, true);
  any.state().fill_(0.3);
  expect_values(any.scale(torch::Tensor()), {0.3});
  // LSQ's input init from observations: 2 mean|x| / sqrt(Qp) = 2 * 2.75 / sqrt(7).
  quant::RangeObserver seen;
  seen.add(torch::tensor({-5.0, 1.0, 3.0, 2.0}));
  any.calibrate_input(seen);
  expect_values(any.state(), {5.5 / std::sqrt(7.0)});
}

TEST(ScaledModule, UnsignedAfterReluStatesInCheckpointAndScales) {
  // Linear 16 -> 32, ReLU, Linear 32 -> 16, ReLU, Linear 16 -> 5.
  auto g = models::build_model("mlp", models::ModelOptions().with_input_shape({16}).with_num_classes(5).with_hidden({32, 16}));
  for (auto& n : g.nodes())
    if (n.op == ir::OpKind::Linear) {
      n.meta.data_in = scaled(4, ir::Scaling::Kind::Learned);
      n.meta.weight = scaled(3, ir::Scaling::Kind::Learned, true);
      n.meta.bias = scaled(8, ir::Scaling::Kind::Stats);
    }
  auto m = runtime::build_module(g, 0);
  // The first Linear reads the data (signed), the others a ReLU's output (unsigned).
  EXPECT_TRUE(m->quantizers(g.index_of("seq_blocks_0")).data_in.is_signed());
  EXPECT_FALSE(m->quantizers(g.index_of("seq_blocks_2")).data_in.is_signed());
  auto params = m->named_parameters();
  ASSERT_TRUE(params.contains("seq_blocks_2.data_in_scale"));
  ASSERT_TRUE(params.contains("seq_blocks_2.weight_scale"));
  EXPECT_EQ(params["seq_blocks_2.weight_scale"].sizes().vec(), (std::vector<int64_t>{16, 1}));
  EXPECT_TRUE(m->needs_calibration());
  EXPECT_EQ(m->calibration_batches(), 8);
  torch::manual_seed(2);
  auto x = torch::randn({64, 16});
  m->calibrate(m->observe_inputs({x}));
  EXPECT_FALSE(m->needs_calibration());
  auto scales = m->quantization_scales();
  EXPECT_EQ(scales["seq_blocks_2"]["data_in"]["signed"], false);
  EXPECT_TRUE(scales["seq_blocks_2"]["weight"]["scale"].is_array());
  ASSERT_TRUE(scales["seq_blocks_0"]["data_in"].contains("frac_width"));  // a power of two
  double s0 = scales["seq_blocks_0"]["data_in"]["scale"];
  EXPECT_DOUBLE_EQ(s0, std::ldexp(1.0, -scales["seq_blocks_0"]["data_in"]["frac_width"].get<int>()));
  // Checkpoints keep the steps: the reloaded model needs no calibration and computes the same.
  std::string path = testing::TempDir() + "/scaled.ckpt";
  runtime::save_checkpoint(path, m);
  auto back = runtime::load_checkpoint(path);
  EXPECT_FALSE(back->needs_calibration());
  m->eval();
  back->eval();
  EXPECT_TRUE(torch::equal(m->forward(x), back->forward(x)));
  EXPECT_EQ(back->graph(), m->graph());
}

TEST(ScaledPrecision, Checks) {
  EXPECT_NO_THROW(quant::check_precision(scaled(2, ir::Scaling::Kind::Learned), "t"));
  EXPECT_THROW(quant::check_precision(scaled(1, ir::Scaling::Kind::Stats), "t"), ConfigError);
  auto p = scaled(4, ir::Scaling::Kind::Stats);
  p.scaling.range = 1.5;
  EXPECT_THROW(quant::check_precision(p, "t"), ConfigError);
  EXPECT_EQ(scaled(4, ir::Scaling::Kind::Stats).to_string(), "integer[4] stats");
  EXPECT_EQ(scaled(2, ir::Scaling::Kind::Learned, true).to_string(), "integer[2] learned per-channel");
  EXPECT_EQ(quant::integer_precision(8, 4).to_string(), "integer[8, 4]");
}

TEST(ScaledModule, StatsLinearEqualsHandComputed) {
  ir::Graph g("tiny", {2});
  g.add("x", ir::OpKind::Input, {});
  ir::Attrs a;
  a.in_features = 2;
  a.out_features = 1;
  ir::Node& n = g.add("fc", ir::OpKind::Linear, {"x"}, a);
  n.meta.data_in = n.meta.weight = n.meta.bias = scaled(4, ir::Scaling::Kind::Stats);
  g.add("output", ir::OpKind::Output, {"fc"});
  g.infer_shapes();
  auto m = runtime::build_module(g, 0);
  torch::NoGradGuard no_grad;
  for (auto& p : m->named_parameters()) {
    if (p.key() == "fc.weight") p.value().copy_(torch::tensor({{0.3f, -0.7f}}));
    if (p.key() == "fc.bias") p.value().copy_(torch::tensor({0.1f}));
  }
  // Calibration: max|x| = 2.5 -> step 2^ceil(log2(2.5 / 8)) = 1/2. Weight: max 0.7 -> 1/8, so
  // w = [0.25, -0.75] (2.4 -> 2, -5.6 -> -6); bias: 0.1 -> 1/64, b = 6/64 (6.4 -> 6).
  m->calibrate(m->observe_inputs({torch::tensor({{1.3f, 0.55f}, {-2.5f, 0.2f}})}));
  m->eval();
  // x = [1.5, 0.5] (2.6 -> 3, 1.1 -> 1): y = 1.5 * 0.25 - 0.5 * 0.75 + 6 / 64.
  EXPECT_FLOAT_EQ(m->forward(torch::tensor({{1.3f, 0.55f}})).item<float>(), 6.0f / 64);
  auto scales = m->quantization_scales();
  EXPECT_EQ(scales["fc"]["data_in"]["frac_width"], 1);
  EXPECT_EQ(scales["fc"]["weight"]["frac_width"], 3);
  EXPECT_EQ(scales["fc"]["bias"]["frac_width"], 6);
}
