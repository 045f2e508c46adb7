// String helpers: edit distance, "did you mean" lists, joining.
#include "chop/support/strings.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace chop {

int edit_distance(const std::string& a, const std::string& b) {
  std::vector<int> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int diag = row[0];
    row[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::vector<std::string> nearest_first(const std::string& name, std::vector<std::string> known) {
  std::stable_sort(known.begin(), known.end(), [&](const std::string& x, const std::string& y) {
    int dx = edit_distance(name, x), dy = edit_distance(name, y);
    return dx != dy ? dx < dy : x < y;
  });
  return known;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::string unknown_name_message(const std::string& what, const std::string& name,
                                 const std::vector<std::string>& known) {
  return "unknown " + what + " '" + name + "'; known: " + join(nearest_first(name, known));
}

std::string python_float(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string python_round(double v, int digits) {
  double scale = std::pow(10.0, digits);
  return python_float(std::nearbyint(v * scale) / scale);
}

}  // namespace chop
