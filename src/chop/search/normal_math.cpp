// Normal-distribution math for the Parzen estimator: tail-stable log CDF, inverse CDF, truncated normals.
#include "chop/search/normal_math.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace chop::search {
namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kLogSqrt2Pi = 0.91893853320467274178;

}  // namespace

double ndtr(double z) { return 0.5 * std::erfc(-z * kInvSqrt2); }

double log_ndtr(double z) {
  if (z > 6.0) return std::log1p(-0.5 * std::erfc(z * kInvSqrt2));
  if (z > -20.0) return std::log(0.5 * std::erfc(-z * kInvSqrt2));
  // Asymptotic series: Phi(z) = phi(z)/(-z) * (1 - 1/z^2 + 3/z^4 - 15/z^6 + 105/z^8 ...).
  const double z2 = z * z;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k <= 6; ++k) {
    term *= -(2.0 * k - 1.0) / z2;
    sum += term;
  }
  return -0.5 * z2 - kLogSqrt2Pi - std::log(-z) + std::log(sum);
}

double ndtri(double p) {
  if (p <= 0.0) return -std::numeric_limits<double>::infinity();
  if (p >= 1.0) return std::numeric_limits<double>::infinity();
  // Acklam's rational approximation, then one Halley step against erfc for full precision.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01,  -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double p_low = 0.02425;
  double x;
  if (p < p_low) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else if (p <= 1.0 - p_low) {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  } else {
    const double q = std::sqrt(-2.0 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  const double e = 0.5 * std::erfc(-x * kInvSqrt2) - p;
  const double u = e * std::sqrt(2.0 * M_PI) * std::exp(0.5 * x * x);
  return x - u / (1.0 + 0.5 * x * u);
}

double log_ndtr_diff(double a, double b) {
  if (a >= b) return -std::numeric_limits<double>::infinity();
  if (a > 0.0) return log_ndtr_diff(-b, -a);  // mirror into the left tail, where Phi is accurate
  if (b <= 0.0) {
    const double lb = log_ndtr(b);
    const double la = log_ndtr(a);
    return lb + std::log1p(-std::exp(la - lb));
  }
  // a <= 0 < b: the mass is 1 - Phi(a) - Phi(-b), both small terms are accurate.
  return std::log1p(-ndtr(a) - ndtr(-b));
}

double truncnorm_log_pdf(double x, double mu, double sigma, double low, double high) {
  if (x < low || x > high) return -std::numeric_limits<double>::infinity();
  const double z = (x - mu) / sigma;
  return -0.5 * z * z - kLogSqrt2Pi - std::log(sigma) -
         log_ndtr_diff((low - mu) / sigma, (high - mu) / sigma);
}

double truncnorm_ppf(double q, double mu, double sigma, double low, double high) {
  double a = (low - mu) / sigma, b = (high - mu) / sigma;
  // Work in the left tail, where Phi keeps its relative precision.
  const bool flip = a > 0.0;
  if (flip) {
    std::swap(a, b);
    a = -a;
    b = -b;
    q = 1.0 - q;
  }
  const double pa = ndtr(a), pb = ndtr(b);
  double z = ndtri(pa + q * (pb - pa));
  z = std::clamp(z, a, b);
  if (flip) z = -z;
  return std::clamp(mu + sigma * z, low, high);
}

double log_sum_exp(const double* x, int64_t n) {
  if (n == 0) return -std::numeric_limits<double>::infinity();
  double m = x[0];
  for (int64_t i = 1; i < n; ++i) m = std::max(m, x[i]);
  if (!std::isfinite(m)) return m;
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(x[i] - m);
  return m + std::log(s);
}

}  // namespace chop::search
