// Unit tests of the normal-distribution math against values computed independently.
#include "chop/search/normal_math.h"

#include <gtest/gtest.h>

#include <cmath>

namespace chop::search {
namespace {

TEST(NormalMath, LogNdtrKnownValues) {
  EXPECT_NEAR(log_ndtr(0.0), -0.6931471805599453, 1e-15);
  EXPECT_NEAR(log_ndtr(-10.0), -53.23128515051246, 1e-10);
  EXPECT_NEAR(log_ndtr(5.0), -2.866516130081049e-07, 1e-18);
  EXPECT_NEAR(log_ndtr(-30.0), -454.3212439563431, 1e-9);  // asymptotic branch
  // Far tail where Phi underflows: log Phi(z) ~ -z^2/2 - log(-z) - log sqrt(2 pi) + log(1 - 1/z^2).
  const double z = -1000.0;
  EXPECT_NEAR(log_ndtr(z), -0.5 * z * z - std::log(-z) - 0.9189385332046727 + std::log1p(-1 / (z * z)), 1e-7);
  EXPECT_NEAR(log_ndtr(-20.0 - 1e-9), log_ndtr(-20.0 + 1e-9), 1e-6);  // branches meet
}

TEST(NormalMath, NdtriInvertsNdtr) {
  EXPECT_NEAR(ndtri(0.975), 1.959963984540054, 1e-12);
  EXPECT_NEAR(ndtri(0.5), 0.0, 1e-15);
  for (double p : {1e-300, 1e-10, 0.01, 0.3, 0.7, 0.99, 1.0 - 1e-12})
    EXPECT_NEAR(ndtr(ndtri(p)) / p, 1.0, 1e-9) << p;
}

TEST(NormalMath, TruncatedNormal) {
  // Standard normal on [-1, 2] at 0.5, and N(1, 2) on [0, 3] at 2.5.
  EXPECT_NEAR(truncnorm_log_pdf(0.5, 0.0, 1.0, -1.0, 2.0), -0.84377223888021, 1e-12);
  EXPECT_NEAR(truncnorm_log_pdf(2.5, 1.0, 2.0, 0.0, 3.0), -1.2637400812117543, 1e-12);
  EXPECT_EQ(truncnorm_log_pdf(3.5, 1.0, 2.0, 0.0, 3.0), -INFINITY);
  EXPECT_NEAR(log_ndtr_diff(-4.0, -3.0), -6.6314677865382246, 1e-12);
  EXPECT_NEAR(log_ndtr_diff(3.0, 4.0), -6.6314677865382246, 1e-12);  // mirrored tail
  // Quantiles stay inside the bounds and invert the CDF.
  for (double q : {0.0, 0.1, 0.5, 0.9, 1.0}) {
    const double x = truncnorm_ppf(q, 0.2, 0.05, 0.0, 1.0);
    EXPECT_GE(x, 0.0);
    EXPECT_LE(x, 1.0);
  }
  EXPECT_NEAR(truncnorm_ppf(0.5, 0.0, 1.0, -1.0, 1.0), 0.0, 1e-12);
}

TEST(NormalMath, LogSumExp) {
  const double x[] = {-1000.0, -1000.0};
  EXPECT_NEAR(log_sum_exp(x, 2), -1000.0 + std::log(2.0), 1e-12);
  EXPECT_EQ(log_sum_exp(x, 0), -INFINITY);
}

}  // namespace
}  // namespace chop::search
