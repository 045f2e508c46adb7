// Classification metrics against hand-computed values.
#include <gtest/gtest.h>

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
  acc.add(logits.narrow(0, 0, 2), targets.narrow(0, 0, 2), torch::tensor(1.0));
  acc.add(logits.narrow(0, 2, 2), targets.narrow(0, 2, 2), torch::tensor(3.0));
  auto m = acc.compute();
  EXPECT_EQ(m.confusion, (std::vector<std::vector<int64_t>>{{1, 0, 1}, {0, 1, 0}, {1, 0, 0}}));
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(m.loss, 1.0);  // (1 + 3) / 4
  acc.reset();
  EXPECT_EQ(acc.compute().n_samples, 0);
}
