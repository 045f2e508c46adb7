// Distributions of search parameters (float, int, categorical) and their internal double encoding.
#include "chop/search/distributions.h"

#include "chop/support/error.h"
#include "chop/support/strings.h"

#include <algorithm>
#include <cmath>

namespace chop::search {

std::string to_string(const ParamValue& value) {
  struct Visitor {
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const { return fmt::format("{}", v); }
    std::string operator()(const std::string& v) const { return v; }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
  };
  return std::visit(Visitor{}, value);
}

nlohmann::json to_json(const ParamValue& value) {
  return std::visit([](const auto& v) { return nlohmann::json(v); }, value);
}

ParamValue param_value_from_json(const nlohmann::json& j) {
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) return j.get<std::string>();
  throw ConfigError(fmt::format("a parameter value must be a number, string or bool, but got {}",
                                j.dump()));
}

Distribution Distribution::float_range(double low, double high, bool log,
                                       std::optional<double> step) {
  CHOP_CHECK(std::isfinite(low) && std::isfinite(high), ConfigError,
             "float bounds must be finite, but got low={}, high={}", low, high);
  CHOP_CHECK(low <= high, ConfigError, "`low <= high` must hold, but got low={}, high={}", low,
             high);
  CHOP_CHECK(!(log && step), ConfigError,
             "`step` and `log` cannot be used together, but got step={}, log=true", *step);
  CHOP_CHECK(!log || low > 0.0, ConfigError,
             "`low > 0` must hold for a log distribution, but got low={}", low);
  CHOP_CHECK(!step || *step > 0.0, ConfigError, "`step > 0` must hold, but got step={}", *step);
  Distribution d;
  d.kind = DistributionKind::Float;
  d.low = low;
  d.high = high;
  d.log = log;
  d.step = step;
  if (step) {
    const double n = std::floor((high - low) / *step + 1e-9);
    d.high = low + n * *step;
  }
  return d;
}

Distribution Distribution::int_range(int64_t low, int64_t high, bool log, int64_t step) {
  CHOP_CHECK(low <= high, ConfigError, "`low <= high` must hold, but got low={}, high={}", low,
             high);
  CHOP_CHECK(step >= 1, ConfigError, "`step >= 1` must hold, but got step={}", step);
  CHOP_CHECK(!log || low >= 1, ConfigError,
             "`low >= 1` must hold for a log int distribution, but got low={}", low);
  CHOP_CHECK(!log || step == 1, ConfigError,
             "`step == 1` must hold for a log int distribution, but got step={}", step);
  Distribution d;
  d.kind = DistributionKind::Int;
  d.low = static_cast<double>(low);
  d.high = static_cast<double>(low + (high - low) / step * step);
  d.log = log;
  d.step = static_cast<double>(step);
  return d;
}

Distribution Distribution::categorical(std::vector<ParamValue> choices) {
  CHOP_CHECK(!choices.empty(), ConfigError, "a categorical distribution needs at least one choice");
  for (size_t i = 0; i < choices.size(); ++i)
    for (size_t j = i + 1; j < choices.size(); ++j)
      CHOP_CHECK(choices[i] != choices[j], ConfigError,
                 "categorical choices must be distinct, but '{}' appears twice",
                 chop::search::to_string(choices[i]));
  Distribution d;
  d.kind = DistributionKind::Categorical;
  d.low = 0.0;
  d.high = static_cast<double>(choices.size() - 1);
  d.choices = std::move(choices);
  return d;
}

int64_t Distribution::n_values() const {
  switch (kind) {
    case DistributionKind::Categorical:
      return static_cast<int64_t>(choices.size());
    case DistributionKind::Int:
    case DistributionKind::Float:
      if (!step) return -1;
      return static_cast<int64_t>(std::llround((high - low) / *step)) + 1;
  }
  return -1;
}

double Distribution::internal_at(int64_t i) const {
  CHOP_ASSERT(i >= 0 && i < n_values(), "index {} out of {}", i, n_values());
  if (kind == DistributionKind::Categorical) return static_cast<double>(i);
  return low + static_cast<double>(i) * *step;
}

bool Distribution::contains(double internal) const {
  if (!std::isfinite(internal)) return false;
  if (kind == DistributionKind::Categorical)
    return internal >= 0 && internal < static_cast<double>(choices.size()) &&
           internal == std::floor(internal);
  const double tol = 1e-8 * std::max(1.0, std::abs(high - low));
  if (internal < low - tol || internal > high + tol) return false;
  if (!step) return true;
  const double k = (internal - low) / *step;
  return std::abs(k - std::round(k)) < 1e-8;
}

double Distribution::to_internal(const ParamValue& value) const {
  if (kind == DistributionKind::Categorical) {
    for (size_t i = 0; i < choices.size(); ++i)
      if (choices[i] == value) return static_cast<double>(i);
    // A number given for a numeric choice of the other numeric type still matches.
    for (size_t i = 0; i < choices.size(); ++i) {
      const auto* ci = std::get_if<int64_t>(&choices[i]);
      const auto* vd = std::get_if<double>(&value);
      if (ci && vd && static_cast<double>(*ci) == *vd) return static_cast<double>(i);
      const auto* cd = std::get_if<double>(&choices[i]);
      const auto* vi = std::get_if<int64_t>(&value);
      if (cd && vi && *cd == static_cast<double>(*vi)) return static_cast<double>(i);
    }
    throw ConfigError(fmt::format("value '{}' is not one of the choices {}",
                                  chop::search::to_string(value), to_string()));
  }
  double x;
  if (const auto* i = std::get_if<int64_t>(&value)) {
    x = static_cast<double>(*i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    x = *d;
  } else {
    throw ConfigError(fmt::format("value '{}' of a {} parameter must be a number",
                                  chop::search::to_string(value), to_string()));
  }
  CHOP_CHECK(contains(x), ConfigError, "value {} is not in {}", x, to_string());
  return x;
}

ParamValue Distribution::to_external(double internal) const {
  switch (kind) {
    case DistributionKind::Categorical: {
      const auto i = static_cast<int64_t>(std::llround(internal));
      CHOP_ASSERT(i >= 0 && i < static_cast<int64_t>(choices.size()), "choice index {} of {}",
                  i, choices.size());
      return choices[static_cast<size_t>(i)];
    }
    case DistributionKind::Int:
      return static_cast<int64_t>(std::llround(internal));
    case DistributionKind::Float:
      return internal;
  }
  return internal;
}

double Distribution::snap(double internal) const {
  double x = std::clamp(internal, low, high);
  if (kind == DistributionKind::Categorical) return std::round(x);
  if (step) x = std::clamp(low + std::round((x - low) / *step) * *step, low, high);
  return x;
}

nlohmann::json Distribution::to_json() const {
  using nlohmann::json;
  switch (kind) {
    case DistributionKind::Float:
      return {{"name", "FloatDistribution"},
              {"attributes",
               {{"low", low}, {"high", high}, {"step", step ? json(*step) : json(nullptr)},
                {"log", log}}}};
    case DistributionKind::Int:
      return {{"name", "IntDistribution"},
              {"attributes",
               {{"low", static_cast<int64_t>(low)},
                {"high", static_cast<int64_t>(high)},
                {"step", static_cast<int64_t>(*step)},
                {"log", log}}}};
    case DistributionKind::Categorical: {
      json c = json::array();
      for (const auto& v : choices) c.push_back(chop::search::to_json(v));
      return {{"name", "CategoricalDistribution"}, {"attributes", {{"choices", c}}}};
    }
  }
  return {};
}

Distribution Distribution::from_json(const nlohmann::json& j) {
  CHOP_CHECK(j.is_object() && j.contains("name") && j.contains("attributes"), ConfigError,
             "a distribution JSON needs 'name' and 'attributes', but got {}", j.dump());
  const std::string name = j.at("name").get<std::string>();
  const auto& a = j.at("attributes");
  if (name == "FloatDistribution") {
    std::optional<double> step;
    if (a.contains("step") && !a.at("step").is_null()) step = a.at("step").get<double>();
    return float_range(a.at("low").get<double>(), a.at("high").get<double>(),
                       a.value("log", false), step);
  }
  if (name == "IntDistribution")
    return int_range(a.at("low").get<int64_t>(), a.at("high").get<int64_t>(), a.value("log", false),
                     a.value("step", int64_t{1}));
  if (name == "CategoricalDistribution") {
    std::vector<ParamValue> choices;
    for (const auto& c : a.at("choices")) choices.push_back(param_value_from_json(c));
    return categorical(std::move(choices));
  }
  throw ConfigError(unknown_name_message(
      "distribution", name, {"FloatDistribution", "IntDistribution", "CategoricalDistribution"}));
}

std::string Distribution::to_string() const {
  switch (kind) {
    case DistributionKind::Categorical: {
      std::vector<std::string> names;
      for (const auto& c : choices) names.push_back(chop::search::to_string(c));
      return "categorical[" + join(names) + "]";
    }
    case DistributionKind::Int:
      return fmt::format("int[{}, {}]{}{}", static_cast<int64_t>(low), static_cast<int64_t>(high),
                         *step != 1.0 ? fmt::format(" step={}", *step) : "", log ? " log" : "");
    case DistributionKind::Float:
      return fmt::format("float[{}, {}]{}{}", low, high, step ? fmt::format(" step={}", *step) : "",
                         log ? " log" : "");
  }
  return "?";
}

bool Distribution::operator==(const Distribution& o) const {
  return kind == o.kind && low == o.low && high == o.high && log == o.log && step == o.step &&
         choices == o.choices;
}

}  // namespace chop::search
