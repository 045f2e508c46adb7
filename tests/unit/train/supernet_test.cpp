// Width supernet: a sliced subnet is the stand-alone network with the leading weights; batch-norm
// recalibration gives the statistics computed by hand; sandwich-rule training teaches every width.
#include <gtest/gtest.h>

#include "unit/train/blobs.h"

#include "chop/models/zoo.h"
#include "chop/passes/channel.h"
#include "chop/train/manual_step.h"
#include "chop/train/supernet.h"

using namespace chop;
using chop::testing::blobs;

namespace {

/// g with the output width of each named layer multiplied (lab 4's transform; widths propagate).
ir::Graph narrowed(ir::Graph g, const std::vector<std::pair<std::string, double>>& multipliers) {
  passes::ChannelOptions o;
  for (const auto& [layer, m] : multipliers) o.with_output_multiplier(layer, m);
  passes::redefine_channels(g, o);
  return g;
}

/// Every parameter and buffer of `sub` set, by hand, to the leading block of the same tensor of
/// `super` (the first rows / columns / channels in each dimension).
void copy_leading_blocks(runtime::GraphModuleImpl& super, runtime::GraphModuleImpl& sub) {
  torch::NoGradGuard no_grad;
  auto from_p = super.named_parameters(), from_b = super.named_buffers();
  auto copy = [](const torch::Tensor& from, torch::Tensor to) {
    torch::Tensor block = from;
    for (int64_t d = 0; d < to.dim(); ++d) block = block.narrow(d, 0, to.size(d));
    to.copy_(block);
  };
  for (auto& p : sub.named_parameters()) copy(from_p[p.key()], p.value());
  for (auto& b : sub.named_buffers()) copy(from_b[b.key()], b.value());
}

/// Non-trivial running statistics and affine parameters in every batch norm (fresh ones are 0 / 1).
void randomize_batch_norms(runtime::GraphModuleImpl& m) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(7);
  for (auto& b : m.named_buffers())
    if (b.key().find("running_mean") != std::string::npos) b.value().copy_(torch::randn_like(b.value()));
    else if (b.key().find("running_var") != std::string::npos) b.value().copy_(torch::rand_like(b.value()) + 0.5);
  for (auto& p : m.named_parameters())
    if (p.key().find("seq_blocks_3") != std::string::npos || p.key().find("feature_layers_1") != std::string::npos)
      p.value().copy_(torch::randn_like(p.value()));
}

torch::Tensor batch_for(const ir::Graph& g, int64_t n) {
  std::vector<int64_t> shape{n};
  shape.insert(shape.end(), g.input_shape().begin(), g.input_shape().end());
  torch::manual_seed(3);
  return torch::randn(shape);
}

struct Case {
  std::string model;
  std::vector<std::pair<std::string, double>> largest, sub;
};

}  // namespace

TEST(Supernet, SlicedSubnetEqualsStandaloneNetworkWithSameWeights) {
  const std::vector<Case> cases = {
      {"jsc-s", {{"seq_blocks_2", 2}, {"seq_blocks_5", 2}, {"seq_blocks_8", 2}, {"seq_blocks_11", 2}},
       {{"seq_blocks_2", 0.5}, {"seq_blocks_5", 2}, {"seq_blocks_8", 0.25}, {"seq_blocks_11", 1}}},
      {"mlp", {}, {{"seq_blocks_1", 0.25}, {"seq_blocks_3", 0.5}}},
      // Conv2d + BatchNorm2d, then Flatten into a Linear: its inputs are the kept channels' features.
      {"cnn-small", {}, {{"feature_layers_0", 0.5}, {"feature_layers_4", 0.25}, {"classifier_0", 0.5}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.model);
    const ir::Graph largest = narrowed(models::build_model(c.model), c.largest);
    const ir::Graph sub = narrowed(models::build_model(c.model), c.sub);
    auto super = runtime::build_module(largest, 1);
    randomize_batch_norms(*super);
    auto standalone = runtime::build_module(sub, 2);
    copy_leading_blocks(*super, *standalone);
    const torch::Tensor x = batch_for(largest, 6);
    for (bool training : {false, true}) {
      SCOPED_TRACE(training ? "training mode (batch statistics)" : "eval mode");
      super->train(training);
      standalone->train(training);
      super->set_active_widths(sub);
      torch::manual_seed(11);  // the same dropout mask for both
      torch::Tensor sliced = super->forward(x);
      torch::manual_seed(11);
      torch::Tensor own = standalone->forward(x);
      ASSERT_EQ(sliced.sizes(), own.sizes());
      EXPECT_TRUE(torch::allclose(sliced, own, 1e-5, 1e-5)) << (sliced - own).abs().max().item<double>();
      // The same gradients reach the shared leading blocks; the rest of the supernet gets none.
      if (!training) continue;
      for (auto& p : super->parameters()) p.mutable_grad() = torch::Tensor();
      for (auto& p : standalone->parameters()) p.mutable_grad() = torch::Tensor();
      sliced.square().sum().backward();
      own.square().sum().backward();
      auto super_params = super->named_parameters();
      for (auto& p : standalone->named_parameters()) {
        torch::Tensor g = super_params[p.key()].grad(), block = g;
        for (int64_t d = 0; d < p.value().dim(); ++d) block = block.narrow(d, 0, p.value().size(d));
        EXPECT_TRUE(torch::allclose(block, p.value().grad(), 1e-4, 1e-5)) << p.key();
        EXPECT_NEAR(g.abs().sum().item<double>(), block.abs().sum().item<double>(), 1e-4) << p.key();
      }
    }
    // Back at full width: the supernet is its largest network again.
    super->clear_active_widths();
    super->eval();
    auto full = runtime::build_module(largest, 2);
    copy_leading_blocks(*super, *full);
    full->eval();
    EXPECT_TRUE(torch::allclose(super->forward(x), full->forward(x), 1e-5, 1e-5));
    // A candidate extracted for scoring (rebuild_module's leading slices) is the same network.
    auto extracted = runtime::rebuild_module(sub, *super, 3, /*inherit_resized=*/true);
    extracted->eval();
    standalone->eval();
    EXPECT_TRUE(torch::allclose(extracted->forward(x), standalone->forward(x), 1e-5, 1e-5));
  }
}

TEST(Supernet, ActiveWidthsMustNarrowTheSupernet) {
  const ir::Graph g = models::build_model("jsc-s");
  auto super = runtime::build_module(g, 0);
  const ir::Graph wider = narrowed(g, {{"seq_blocks_2", 2}});
  EXPECT_THROW(super->set_active_widths(wider), GraphError);
  EXPECT_THROW(super->set_active_widths(models::build_model("jsc-toy")), GraphError);
}

namespace {

/// x[2] -> fc1 Linear(2, 3) with weight rows (1, 0), (0, 1), (1, 1) -> bn BatchNorm1d(3) -> fc2.
/// Its narrowing to fc1 out 2 feeds the batch norm x itself.
ir::Graph recalibration_graph(int64_t width) {
  ir::Graph g("bn", {2});
  g.add("x", ir::OpKind::Input, {});
  ir::Attrs fc1;
  fc1.in_features = 2;
  fc1.out_features = width;
  g.add("fc1", ir::OpKind::Linear, {"x"}, fc1);
  ir::Attrs bn;
  bn.num_features = width;
  g.add("bn", ir::OpKind::BatchNorm1d, {"fc1"}, bn);
  ir::Attrs fc2;
  fc2.in_features = width;
  fc2.out_features = 2;
  g.add("fc2", ir::OpKind::Linear, {"bn"}, fc2);
  g.add("output", ir::OpKind::Output, {"fc2"});
  g.infer_shapes();
  return g;
}

}  // namespace

TEST(Supernet, BatchNormRecalibrationGivesHandComputedStatistics) {
  auto m = runtime::build_module(recalibration_graph(3), 0);
  {
    torch::NoGradGuard no_grad;
    auto p = m->named_parameters();
    p["fc1.weight"].copy_(torch::tensor({1.f, 0.f, 0.f, 1.f, 1.f, 1.f}).view({3, 2}));
    p["fc1.bias"].zero_();
    auto b = m->named_buffers();
    b["bn.running_mean"].fill_(9);
    b["bn.running_var"].fill_(9);
  }
  // Batch 1: rows (1, 2), (3, 6); batch 2: (5, 0), (7, 4).
  const std::vector<torch::Tensor> batches = {torch::tensor({1.f, 2.f, 3.f, 6.f}).view({2, 2}),
                                              torch::tensor({5.f, 0.f, 7.f, 4.f}).view({2, 2})};
  // At width 2 the norm sees x: batch means (2, 4) and (6, 2), unbiased variances (2, 8) and (2, 8):
  // running mean (4, 3), variance (2, 8); the third feature (not active) keeps its 9s.
  m->set_active_widths(recalibration_graph(2));
  m->eval();
  m->recalibrate_batch_norms(batches);
  EXPECT_FALSE(m->is_training());  // the mode it was in
  auto buffers = m->named_buffers();
  EXPECT_TRUE(torch::allclose(buffers["bn.running_mean"], torch::tensor({4.f, 3.f, 9.f})))
      << buffers["bn.running_mean"];
  EXPECT_TRUE(torch::allclose(buffers["bn.running_var"], torch::tensor({2.f, 8.f, 9.f})))
      << buffers["bn.running_var"];
  // At full width the third feature is x0 + x1: (3, 9) and (5, 11): mean 7, variance 18.
  m->clear_active_widths();
  m->recalibrate_batch_norms(batches);
  EXPECT_TRUE(torch::allclose(buffers["bn.running_mean"], torch::tensor({4.f, 3.f, 7.f})));
  EXPECT_TRUE(torch::allclose(buffers["bn.running_var"], torch::tensor({2.f, 8.f, 18.f})));
}

TEST(Supernet, SandwichTrainingTeachesEveryWidth) {
  auto dm = blobs(3000);
  const std::vector<std::string> layers = {"seq_blocks_2", "seq_blocks_5", "seq_blocks_8", "seq_blocks_11"};
  auto at = [&](double m) {
    std::vector<std::pair<std::string, double>> v;
    for (const auto& l : layers) v.emplace_back(l, m);
    return narrowed(models::build_model("jsc-s"), v);
  };
  const ir::Graph largest = at(1), smallest = at(0.25);
  for (bool manual : {true, false}) {
    SCOPED_TRACE(manual ? "ManualStep on slices" : "autograd with active widths");
    auto super = runtime::build_module(largest, 0);
    train::SupernetOptions o;
    o.train.manual_backward = manual;
    o.train.max_epochs = 3;
    o.train.learning_rate = 1e-2;
    o.train.progress = false;
    int64_t draws = 0;
    auto draw = [&](std::mt19937_64& rng) {
      ++draws;
      return at(std::uniform_int_distribution<int>(0, 1)(rng) ? 0.5 : 1.0);
    };
    auto r = train::train_supernet(super, dm, o, smallest, draw, 0);
    ASSERT_EQ(r.epochs.size(), 3u);
    EXPECT_EQ(draws, 2 * r.steps);  // two random subnets per step
    EXPECT_LT(r.epochs.back().train_loss, r.epochs.front().train_loss);
    const std::vector<torch::Tensor> batches = train::calibration_batches(dm, 4, torch::kCPU);
    for (double m : {0.25, 0.5, 1.0}) {
      SCOPED_TRACE(m);
      auto candidate = runtime::rebuild_module(at(m), *super, 5, /*inherit_resized=*/true);
      candidate->recalibrate_batch_norms(batches);
      EXPECT_GT(train::evaluate(candidate, dm, data::SplitKind::val).accuracy, 0.8);
    }
    // A stop request ends training at the next step.
    auto again = runtime::build_module(largest, 0);
    auto stopped = train::train_supernet(again, dm, o, smallest, draw, 0, [] { return true; });
    EXPECT_TRUE(stopped.stopped_early);
    EXPECT_EQ(stopped.steps, 0);
  }
}

TEST(Supernet, ManualStepOnASliceGivesAutogradsGradients) {
  // jsc-s at double width, run at a narrowing by ManualStep on slices of its tensors, against
  // autograd on the stand-alone network holding the same leading blocks: loss and gradients, with
  // hard and with soft labels, overwritten and then accumulated.
  const std::vector<std::string> layers = {"seq_blocks_2", "seq_blocks_5", "seq_blocks_8", "seq_blocks_11"};
  std::vector<std::pair<std::string, double>> wide, narrow;
  for (size_t i = 0; i < layers.size(); ++i) wide.emplace_back(layers[i], 2), narrow.emplace_back(layers[i], i % 2 ? 0.5 : 1);
  const ir::Graph largest = narrowed(models::build_model("jsc-s"), wide);
  const ir::Graph sub = narrowed(models::build_model("jsc-s"), narrow);
  auto super = runtime::build_module(largest, 1);
  auto standalone = runtime::build_module(sub, 2);
  copy_leading_blocks(*super, *standalone);
  super->train();
  standalone->train();
  const torch::Tensor x = batch_for(largest, 32);
  const torch::Tensor y = torch::arange(32, torch::kInt64).remainder(5);
  const torch::Tensor soft = torch::softmax(torch::randn({32, 5}), 1);
  auto step = train::ManualStep::make_slice(*super, sub);
  ASSERT_TRUE(step);
  for (auto& p : super->parameters()) p.mutable_grad().fill_(7);  // overwritten within the slice
  for (bool with_soft : {false, true}) {
    SCOPED_TRACE(with_soft ? "soft labels, accumulated" : "labels");
    for (auto& p : standalone->parameters()) p.mutable_grad() = torch::Tensor();
    auto out = standalone->forward(x);
    auto loss = with_soft ? -(soft * torch::log_softmax(out, 1)).sum(1).mean() : torch::nn::functional::cross_entropy(out, y);
    loss.backward();
    std::map<std::string, torch::Tensor> before;
    for (auto& p : super->named_parameters()) before[p.key()] = p.value().grad().clone();
    auto manual_loss = step->run(x, y, with_soft ? soft : torch::Tensor(), /*accumulate=*/with_soft);
    EXPECT_NEAR(manual_loss.item<double>(), loss.item<double>(), 1e-5);
    auto super_params = super->named_parameters();
    for (auto& p : standalone->named_parameters()) {
      torch::Tensor g = super_params[p.key()].grad(), block = g, old = before[p.key()];
      for (int64_t d = 0; d < p.value().dim(); ++d) block = block.narrow(d, 0, p.value().size(d)), old = old.narrow(d, 0, p.value().size(d));
      torch::Tensor expected = with_soft ? old + p.value().grad() : p.value().grad();
      EXPECT_TRUE(torch::allclose(block, expected, 1e-4, 1e-5)) << p.key();
      // Outside the slice nothing changes.
      EXPECT_NEAR((g - before[p.key()]).abs().sum().item<double>(), (block - old).abs().sum().item<double>(), 1e-3)
          << p.key();
    }
  }
}

TEST(Supernet, ManualStepSendsASlicesGradientsWhereAsked) {
  // make_slice with gradient targets: the same gradients, in the targets' leading blocks; the
  // parameters' own grads untouched. forward() then backward() is run().
  const std::vector<std::string> layers = {"seq_blocks_2", "seq_blocks_5", "seq_blocks_8", "seq_blocks_11"};
  std::vector<std::pair<std::string, double>> wide, narrow;
  for (const auto& l : layers) wide.emplace_back(l, 2), narrow.emplace_back(l, 0.5);
  const ir::Graph largest = narrowed(models::build_model("jsc-s"), wide);
  const ir::Graph sub = narrowed(models::build_model("jsc-s"), narrow);
  auto super = runtime::build_module(largest, 1);
  super->train();
  const torch::Tensor x = batch_for(largest, 16);
  const torch::Tensor y = torch::arange(16, torch::kInt64).remainder(5);
  auto own = train::ManualStep::make_slice(*super, sub);
  ASSERT_TRUE(own);
  for (auto& p : super->parameters()) p.mutable_grad().zero_();
  auto loss = own->run(x, y);
  std::map<std::string, torch::Tensor> expected, targets;
  for (auto& p : super->named_parameters()) {
    expected[p.key()] = p.value().grad().clone();
    p.value().mutable_grad().fill_(3);
    targets[p.key()] = torch::zeros_like(p.value());
  }
  auto elsewhere = train::ManualStep::make_slice(*super, sub, &targets);
  ASSERT_TRUE(elsewhere);
  elsewhere->forward(x);
  EXPECT_NEAR(elsewhere->backward(y).item<double>(), loss.item<double>(), 1e-6);
  for (auto& p : super->named_parameters()) {
    EXPECT_TRUE(torch::allclose(targets[p.key()], expected[p.key()], 1e-5, 1e-6)) << p.key();
    EXPECT_TRUE(torch::equal(p.value().grad(), torch::full_like(p.value(), 3))) << p.key();
  }
}
