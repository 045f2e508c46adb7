// Distributions of search parameters (float, int, categorical) and their internal double encoding.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace chop::search {

/// A parameter value as the objective sees it.
using ParamValue = std::variant<int64_t, double, std::string, bool>;

/// Human-readable text of a value ("3", "0.5", "fixed", "true").
std::string to_string(const ParamValue& value);
/// JSON of a value (number, string or bool).
nlohmann::json to_json(const ParamValue& value);
/// Value of a JSON scalar; ConfigError for arrays, objects and null.
ParamValue param_value_from_json(const nlohmann::json& j);

enum class DistributionKind { Float, Int, Categorical };

/// One parameter's domain. Every value has an internal double, like Optuna: floats and ints are
/// themselves, a categorical value is the index of its choice.
struct Distribution {
  DistributionKind kind = DistributionKind::Float;
  double low = 0.0;
  double high = 0.0;
  bool log = false;
  std::optional<double> step;      ///< always set for Int (default 1)
  std::vector<ParamValue> choices;  ///< Categorical only

  /// Float in [low, high]; ConfigError unless low <= high, low > 0 when log, step > 0, and not
  /// both log and step. With a step, high is lowered to the last multiple like Optuna.
  static Distribution float_range(double low, double high, bool log = false,
                                  std::optional<double> step = std::nullopt);
  /// Int in [low, high]; ConfigError unless low <= high, step >= 1, low >= 1 when log, and
  /// step == 1 when log. high is lowered to the last multiple of step.
  static Distribution int_range(int64_t low, int64_t high, bool log = false, int64_t step = 1);
  /// Categorical over non-empty, duplicate-free choices; ConfigError otherwise.
  static Distribution categorical(std::vector<ParamValue> choices);

  bool is_numerical() const { return kind != DistributionKind::Categorical; }
  /// True when the domain is finite (categorical, int, float with step).
  bool is_discrete() const { return kind != DistributionKind::Float || step.has_value(); }
  /// Number of values of a discrete domain; ConfigError-free, returns -1 for continuous floats.
  int64_t n_values() const;
  /// Internal value of the i-th value of a discrete domain (0 <= i < n_values()).
  double internal_at(int64_t i) const;
  /// True when the domain holds exactly one value.
  bool single() const { return n_values() == 1; }
  /// True when the internal value lies in the domain (on the step grid for discrete numerics).
  bool contains(double internal) const;
  /// Internal encoding of an external value; ConfigError when it is not in the domain.
  double to_internal(const ParamValue& value) const;
  /// External value of an internal one (int64_t for Int, double for Float, the choice otherwise).
  ParamValue to_external(double internal) const;
  /// Snaps an internal value into the domain: clip to bounds, round to the step / index.
  double snap(double internal) const;

  /// Optuna's JSON form: {"name": "FloatDistribution", "attributes": {...}}.
  nlohmann::json to_json() const;
  /// Inverse of to_json(); ConfigError on an unknown name or bad attributes.
  static Distribution from_json(const nlohmann::json& j);
  /// One line, e.g. "int[1, 64] step=1" or "categorical[a, b]".
  std::string to_string() const;

  bool operator==(const Distribution& other) const;
  bool operator!=(const Distribution& other) const { return !(*this == other); }
};

}  // namespace chop::search
