// ManualStep: the same loss and gradients as autograd on Linear/ReLU chains; other graphs refused.
#include <gtest/gtest.h>

#include "chop/models/zoo.h"
#include "chop/train/fused_kernels.h"
#include "chop/train/manual_step.h"
#include "chop/train/trainer.h"

using namespace chop;

namespace {

/// Loss and a copy of every gradient from autograd.
std::pair<double, std::vector<torch::Tensor>> autograd_step(runtime::GraphModule& m, const torch::Tensor& x,
                                                            const torch::Tensor& y) {
  for (auto& p : m->parameters())
    if (p.grad().defined()) p.mutable_grad().zero_();
  auto loss = torch::nn::functional::cross_entropy(m->forward(x), y);
  loss.backward();
  std::vector<torch::Tensor> grads;
  for (auto& p : m->parameters()) grads.push_back(p.grad().clone());
  return {loss.item<double>(), grads};
}

void expect_same_as_autograd(const ir::Graph& g, const std::vector<int64_t>& input_shape, int64_t classes) {
  auto m = runtime::build_module(g, 3);       // autograd
  auto manual = runtime::build_module(g, 3);  // ManualStep
  torch::manual_seed(1);
  std::vector<int64_t> shape{37};  // not a multiple of anything: a last, short batch
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  const auto x = torch::randn(shape), y = torch::randint(0, classes, {37}, torch::kInt64);
  // Quantized graphs: both calibrated on the same batch (stats ranges, learned steps).
  for (auto* module : {&m, &manual})
    if ((*module)->needs_calibration()) (*module)->calibrate((*module)->observe_inputs({x}));
  m->train();
  manual->train();
  auto step = train::ManualStep::make(*manual);
  ASSERT_NE(step, nullptr) << g.to_text();
  const auto [loss, grads] = autograd_step(m, x, y);
  for (auto& p : manual->parameters()) p.mutable_grad().fill_(123.0);  // overwritten, not accumulated
  const double manual_loss = step->run(x, y).item<double>();
  EXPECT_NEAR(manual_loss, loss, 1e-6 * std::abs(loss));
  const auto params = manual->parameters();
  ASSERT_EQ(params.size(), grads.size());
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(torch::allclose(params[i].grad(), grads[i], 1e-5, 1e-7))
        << g.model_name() << " parameter " << i << " max diff "
        << (params[i].grad() - grads[i]).abs().max().item<double>();
  // Batch-norm running statistics and batch counts moved as torch's training-mode forward moves them.
  const auto want = m->named_buffers();
  for (const auto& b : manual->named_buffers())
    EXPECT_TRUE(torch::allclose(b.value(), want[b.key()], 1e-6, 1e-7)) << g.model_name() << " " << b.key();
}

/// Counts LibTorch's warnings (they go to the user's terminal).
struct WarningCounter : c10::WarningHandler {
  int count = 0;
  std::string last;
  void process(const c10::SourceLocation&, const std::string& msg, bool) override {
    ++count;
    last = msg;
  }
};

}  // namespace

TEST(FusedCrossEntropy, HandComputedLossAndGradient) {
  // Row 0: softmax(0, ln 3) = (1/4, 3/4), target 1: loss ln(4/3). Row 1: softmax(5, 5) = (1/2, 1/2),
  // target 0: loss ln 2. Mean ln(8/3) / 2; gradient (softmax - one_hot) / 2.
  const float logits[] = {0.0f, std::log(3.0f), 5.0f, 5.0f};
  const int64_t target[] = {1, 0};
  float grad[4] = {9, 9, 9, 9};
  EXPECT_NEAR(train::fused_cross_entropy(logits, target, 2, 2, grad), std::log(8.0 / 3.0) / 2, 1e-6);
  EXPECT_NEAR(grad[0], 0.125, 1e-6);
  EXPECT_NEAR(grad[1], -0.125, 1e-6);
  EXPECT_NEAR(grad[2], -0.25, 1e-6);
  EXPECT_NEAR(grad[3], 0.25, 1e-6);
  const float big[] = {1000.0f, 0.0f};  // no overflow: shifted by the row maximum
  const int64_t zero[] = {0};
  EXPECT_NEAR(train::fused_cross_entropy(big, zero, 1, 2, grad), 0.0, 1e-6);
  const int64_t bad[] = {0, 2};
  EXPECT_THROW(train::fused_cross_entropy(logits, bad, 2, 2, grad), std::out_of_range);
}

TEST(ManualStep, SameLossAndGradientsAsAutograd) {
  // BatchNorm1d, ReLU and Linear (the JSC models), and Linears with nothing between.
  for (const char* name : {"jsc-tiny", "jsc-toy", "jsc-s", "jsc-three-linear-relu", "jsc-three-linear"})
    expect_same_as_autograd(models::build_model(name), {16}, 5);
  // Flatten of images first, then Linear/ReLU (the Fashion-MNIST mlp).
  expect_same_as_autograd(models::build_model("mlp", models::ModelOptions()
                                                         .with_input_shape({1, 6, 6})
                                                         .with_num_classes(4)
                                                         .with_hidden({8, 7})),
                          {1, 6, 6}, 4);
}

TEST(ManualStep, RefusesWhatItCannotDifferentiate) {
  // Convolutions and pooling: autograd.
  for (const char* name : {"cnn-small", "vgg7"}) {
    auto m = runtime::build_module(models::build_model(name), 0);
    EXPECT_EQ(train::ManualStep::make(*m), nullptr) << name;
  }
  // A quantized ReLU (only Linear quantizers have hand-written gradients here): autograd.
  auto g = models::build_model("jsc-three-linear-relu");
  g.node("seq_blocks_1").meta.data_in = ir::Precision{"integer", {8, 4}, {}};
  auto m = runtime::build_module(g, 0);
  EXPECT_EQ(train::ManualStep::make(*m), nullptr);
}

TEST(ManualStep, QuantizedLinearsSameGradientsAsAutograd) {
  // Every scaling of the integer format, on inputs, weights and biases of every Linear: the
  // straight-through gradient (frac, stats) and LSQ's (learned, steps included) equal autograd's.
  auto with = [](ir::Scaling::Kind kind, bool per_channel, bool power_of_two, int64_t bits) {
    auto g = models::build_model("jsc-three-linear-relu");
    ir::Scaling s;
    s.kind = kind;
    s.per_channel = per_channel;
    s.power_of_two = power_of_two;
    for (auto& n : g.nodes()) {
      if (n.op != ir::OpKind::Linear) continue;
      if (kind == ir::Scaling::Kind::Frac) {
        n.meta.data_in = n.meta.weight = n.meta.bias = ir::Precision{"integer", {bits, bits / 2}, {}};
      } else {
        n.meta.data_in = n.meta.weight = n.meta.bias = ir::Precision{"integer", {bits}, s};
      }
    }
    return g;
  };
  using K = ir::Scaling::Kind;
  expect_same_as_autograd(with(K::Frac, false, true, 8), {16}, 5);
  expect_same_as_autograd(with(K::Stats, false, true, 4), {16}, 5);
  expect_same_as_autograd(with(K::Stats, true, true, 3), {16}, 5);
  expect_same_as_autograd(with(K::Learned, false, true, 3), {16}, 5);
  expect_same_as_autograd(with(K::Learned, true, false, 2), {16}, 5);
  expect_same_as_autograd(with(K::Learned, false, true, 4), {16}, 5);
}

TEST(ManualStep, TrainingMatchesAutogradTraining) {
  torch::manual_seed(0);
  data::RawData raw;
  raw.info.name = "blobs";
  raw.info.input_shape = {16};
  raw.info.num_classes = 5;
  raw.train_y = torch::randint(0, 5, {600}, torch::kInt64);
  raw.train_x = torch::randn({5, 16}).index_select(0, raw.train_y) * 2 + torch::randn({600, 16});
  data::DataOptions d;
  d.dataset = "blobs";
  d.batch_size = 50;
  const data::DataModule dm(std::move(raw), d);
  const auto g = models::build_model("jsc-three-linear-relu");
  train::TrainOptions o;
  o.max_epochs = 3;
  o.progress = false;
  auto a = runtime::build_module(g, 7), b = runtime::build_module(g, 7);
  o.manual_backward = true;
  WarningCounter warnings;
  const auto ra = [&] {
    c10::Warning::WarningHandlerGuard guard(&warnings);
    return train::train(a, dm, o);
  }();
  EXPECT_EQ(warnings.count, 0) << "the last training batch is short (batches of 50): "
                               << warnings.last;
  o.manual_backward = false;
  const auto rb = train::train(b, dm, o);
  for (size_t e = 0; e < 3; ++e) EXPECT_NEAR(ra.epochs[e].train_loss, rb.epochs[e].train_loss, 1e-4);
  const auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::allclose(pa[i], pb[i], 1e-4, 1e-5)) << i;
  EXPECT_LT(ra.epochs.back().train_loss, ra.epochs.front().train_loss);
}
