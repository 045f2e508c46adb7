// String helpers: edit distance, "did you mean" lists, joining.
#pragma once

#include <string>
#include <vector>

namespace chop {

/// Levenshtein distance between a and b.
int edit_distance(const std::string& a, const std::string& b);

/// `known` sorted by edit distance to `name` (nearest first, ties by name).
std::vector<std::string> nearest_first(const std::string& name, std::vector<std::string> known);

/// Items joined with sep.
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

/// "unknown <what> 'name'; known: a, b, c" with the nearest names first.
std::string unknown_name_message(const std::string& what, const std::string& name,
                                 const std::vector<std::string>& known);

/// A double as Python's repr prints it: 1e-05, 0.1, 1.0.
std::string python_float(double v);

/// v rounded to `digits` decimals, printed as Python prints round(v, digits).
std::string python_round(double v, int digits);

}  // namespace chop
