// The fused flat optimizers give the same updates as LibTorch's own optimizers.
#include <gtest/gtest.h>

#include "chop/support/error.h"
#include "chop/train/optimizer.h"

using namespace chop;
using namespace chop::train;

namespace {

struct Pair {
  torch::nn::Sequential a, b;
};

Pair twin_models() {
  torch::manual_seed(0);
  torch::nn::Sequential a(torch::nn::Linear(6, 5), torch::nn::ReLU(), torch::nn::Linear(5, 3));
  torch::nn::Sequential b(torch::nn::Linear(6, 5), torch::nn::ReLU(), torch::nn::Linear(5, 3));
  torch::NoGradGuard g;
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) pb[i].copy_(pa[i]);
  return {a, b};
}

void expect_same_training(const std::string& name, double wd, torch::optim::Optimizer& reference,
                          Pair& p) {
  OptimizerOptions o;
  o.name = name;
  o.weight_decay = wd;
  FlatOptimizer flat(p.b->parameters(), o);
  torch::manual_seed(1);
  for (int step = 0; step < 5; ++step) {
    auto x = torch::randn({8, 6});
    auto y = torch::randint(0, 3, {8}, torch::kInt64);
    reference.zero_grad();
    torch::nn::functional::cross_entropy(p.a->forward(x), y).backward();
    reference.step();
    flat.zero_grad();
    torch::nn::functional::cross_entropy(p.b->forward(x), y).backward();
    flat.step(0.01);
  }
  auto pa = p.a->parameters(), pb = p.b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::allclose(pa[i], pb[i], 1e-5, 1e-6)) << name << " param " << i;
}

}  // namespace

TEST(FlatOptimizer, AdamMatchesTorch) {
  auto p = twin_models();
  torch::optim::Adam ref(p.a->parameters(), torch::optim::AdamOptions(0.01).weight_decay(1e-3));
  expect_same_training("adam", 1e-3, ref, p);
}

TEST(FlatOptimizer, AdamWMatchesTorch) {
  auto p = twin_models();
  torch::optim::AdamW ref(p.a->parameters(), torch::optim::AdamWOptions(0.01).weight_decay(0.1));
  expect_same_training("adamw", 0.1, ref, p);
}

TEST(FlatOptimizer, SgdMatchesTorch) {
  auto p = twin_models();
  torch::optim::SGD ref(p.a->parameters(),
                        torch::optim::SGDOptions(0.01).momentum(0.9).weight_decay(5e-4));
  expect_same_training("sgd", 5e-4, ref, p);
}

TEST(FlatOptimizer, ParametersBecomeViewsOfOneBuffer) {
  auto p = twin_models();
  FlatOptimizer flat(p.b->parameters(), OptimizerOptions{});
  EXPECT_EQ(flat.num_params(), 6 * 5 + 5 + 5 * 3 + 3);
  auto params = p.b->parameters();
  EXPECT_EQ(params[1].data_ptr<float>(), params[0].data_ptr<float>() + 30);
}

TEST(FlatOptimizer, UnknownNameIsAConfigError) {
  auto p = twin_models();
  OptimizerOptions o;
  o.name = "rmsprop";
  EXPECT_THROW(FlatOptimizer(p.b->parameters(), o), ConfigError);
}
