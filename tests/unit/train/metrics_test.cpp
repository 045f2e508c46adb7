// Classification metrics against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "chop/train/metrics.h"

using namespace chop::train;

// 3 classes, 10 samples. Rows: true class, columns: predicted.
//   true 0: 3 right, 1 -> class 1            support 4
//   true 1: 2 right, 1 -> class 2            support 3
//   true 2: 2 right, 1 -> class 0            support 3
// predicted totals: c0 = 4, c1 = 3, c2 = 3.
TEST(Metrics, HandComputedThreeClasses) {
  auto m = metrics_from_confusion({{3, 1, 0}, {0, 2, 1}, {1, 0, 2}}, 0.5);
  EXPECT_EQ(m.n_samples, 10);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.7);
  // precision: 3/4, 2/3, 2/3; recall: 3/4, 2/3, 2/3 -> F1 equal to both.
  double macro = (0.75 + 2.0 / 3 + 2.0 / 3) / 3;
  EXPECT_NEAR(m.precision_macro, macro, 1e-12);
  EXPECT_NEAR(m.recall_macro, macro, 1e-12);
  EXPECT_NEAR(m.f1_macro, macro, 1e-12);
  double weighted = 0.4 * 0.75 + 0.3 * 2.0 / 3 + 0.3 * 2.0 / 3;
  EXPECT_NEAR(m.precision_weighted, weighted, 1e-12);
  EXPECT_NEAR(m.recall_weighted, 0.7, 1e-12);  // weighted recall == accuracy
  EXPECT_DOUBLE_EQ(m.loss, 0.5);
}

// Class 1 never predicted: its precision is 0 (0/0), recall 0, F1 0.
TEST(Metrics, NeverPredictedClassAndAbsentClass) {
  auto m = metrics_from_confusion({{2, 0, 0}, {2, 0, 0}, {0, 0, 0}}, 0);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  // Class 2 neither occurs nor is predicted: excluded from the macro mean.
  // class 0: precision 2/4, recall 1, F1 2/3; class 1: 0, 0, 0.
  EXPECT_NEAR(m.precision_macro, 0.25, 1e-12);
  EXPECT_NEAR(m.recall_macro, 0.5, 1e-12);
  EXPECT_NEAR(m.f1_macro, 1.0 / 3, 1e-12);
  EXPECT_NEAR(m.f1_weighted, 0.5 * 2.0 / 3, 1e-12);
}

TEST(Metrics, AccumulatorMatchesDirectCount) {
  MetricAccumulator acc(3, torch::kCPU);
  auto logits = torch::tensor({{5.f, 0.f, 0.f}, {0.f, 5.f, 0.f}, {0.f, 0.f, 5.f}, {5.f, 0.f, 0.f}});
  auto targets = torch::tensor({0, 1, 0, 2}, torch::kInt64);
  acc.add(logits.narrow(0, 0, 2), targets.narrow(0, 0, 2));
  acc.add(logits.narrow(0, 2, 2), targets.narrow(0, 2, 2));
  auto m = acc.compute();
  EXPECT_EQ(m.confusion, (std::vector<std::vector<int64_t>>{{1, 0, 1}, {0, 1, 0}, {1, 0, 0}}));
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  // Two rows right (-log(e^5 / (e^5 + 2))), two wrong (-log(1 / (e^5 + 2))), by hand.
  const double right = std::log1p(2 * std::exp(-5.0)), wrong = std::log(std::exp(5.0) + 2);
  EXPECT_NEAR(m.loss, (2 * right + 2 * wrong) / 4, 1e-6);
  acc.reset();
  EXPECT_EQ(acc.compute().n_samples, 0);
}

TEST(Metrics, FusedAccumulatorAgreesWithLibTorchsKernels) {
  // float32 on the CPU takes the fused loop; float64 LibTorch's cross_entropy / argmax / bincount.
  torch::manual_seed(3);
  auto logits = torch::randn({1000, 7}) * 4;
  logits[10][2] = std::numeric_limits<float>::quiet_NaN();  // argmax takes the NaN, as torch does
  logits[11].fill_(1.5);                                     // ties: the first
  auto targets = torch::randint(0, 7, {1000}, torch::kInt64);
  MetricAccumulator fused(7, torch::kCPU), reference(7, torch::kCPU);
  for (int64_t start = 0; start < 1000; start += 300) {
    const int64_t n = std::min<int64_t>(300, 1000 - start);
    fused.add(logits.narrow(0, start, n), targets.narrow(0, start, n));
    reference.add(logits.narrow(0, start, n).to(torch::kFloat64), targets.narrow(0, start, n));
  }
  auto a = fused.compute(), b = reference.compute();
  EXPECT_EQ(a.confusion, b.confusion);
  EXPECT_TRUE(std::isnan(a.loss) && std::isnan(b.loss));  // the NaN row
  auto finite = logits.clone();
  finite[10][2] = 0;
  MetricAccumulator f2(7, torch::kCPU);
  f2.add(finite, targets);
  const double expected = torch::nn::functional::cross_entropy(finite.to(torch::kFloat64), targets).item<double>();
  EXPECT_NEAR(f2.compute().loss, expected, 1e-5);
  MetricAccumulator bad(7, torch::kCPU);
  EXPECT_THROW(bad.add(finite.narrow(0, 0, 2), torch::tensor({0, 7}, torch::kInt64)), std::out_of_range);
}
