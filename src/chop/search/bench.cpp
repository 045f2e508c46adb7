// Sampler benchmark: sampler overhead and search progress on a synthetic space or a lookup table.
#include "chop/search/bench.h"

#include "chop/search/multi_objective.h"
#include "chop/search/study.h"
#include "chop/support/error.h"
#include "chop/support/strings.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

namespace chop::search {
namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::stringstream ss(line);
  while (std::getline(ss, cell, ',')) {
    while (!cell.empty() && (cell.back() == '\r' || cell.back() == ' ')) cell.pop_back();
    while (!cell.empty() && cell.front() == ' ') cell.erase(cell.begin());
    out.push_back(cell);
  }
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

std::vector<double> synthetic_objectives(const std::map<std::string, ParamValue>& p,
                                         int64_t n_objectives) {
  static const double targets[4] = {2, 4, 1, 3};
  double f1 = 0.0, f2 = 0.0;
  for (int k = 0; k < 4; ++k) {
    const auto c = static_cast<double>(std::get<int64_t>(p.at("c" + std::to_string(k))));
    f1 += 0.25 * (c - targets[k]) * (c - targets[k]);
    f2 += 0.25 * (c - (5 - targets[k])) * (c - (5 - targets[k]));
  }
  const auto i0 = static_cast<double>(std::get<int64_t>(p.at("i0")));
  const auto i1 = static_cast<double>(std::get<int64_t>(p.at("i1")));
  const double f0 = std::get<double>(p.at("f0"));
  const double fl = std::log10(std::get<double>(p.at("f1")));
  f1 += std::pow((i0 - 20) / 64, 2) + std::pow((i1 - 45) / 64, 2) + std::pow(f0 - 0.3, 2) +
        std::pow(fl + 2, 2) / 16;
  f2 += std::pow((i0 - 50) / 64, 2) + std::pow((i1 - 10) / 64, 2) + std::pow(f0 - 0.8, 2) +
        std::pow(fl + 3.5, 2) / 16;
  if (n_objectives == 1) return {f1};
  return {f1, f2};
}

/// ZDT1 (Zitzler, Deb and Thiele 2000): f1 = x0, f2 = g (1 - sqrt(f1 / g)),
/// g = 1 + 9 mean(x1..x29). The true front is g = 1: f2 = 1 - sqrt(f1), f1 in [0, 1].
constexpr int kZdt1Vars = 30;
std::vector<double> zdt1_objectives(Trial& trial) {
  double x0 = 0.0, rest = 0.0;
  for (int k = 0; k < kZdt1Vars; ++k) {
    const double x = trial.suggest_float("x" + std::to_string(k), 0.0, 1.0);
    (k == 0 ? x0 : rest) += x;
  }
  const double g = 1.0 + 9.0 * rest / (kZdt1Vars - 1);
  return {x0, g * (1.0 - std::sqrt(x0 / g))};
}

/// Hypervolume of ZDT1's true front for reference point (r1, r2), both >= 1:
/// integral over f1 in [0, 1] of r2 - (1 - sqrt(f1)), plus the strip f1 in [1, r1].
double zdt1_true_hypervolume(double r1, double r2) { return (r2 - 1.0) + 2.0 / 3.0 + (r1 - 1.0) * r2; }

}  // namespace

LookupTable read_lookup_table(const std::string& path, int64_t n_objectives) {
  std::ifstream in(path);
  CHOP_CHECK(in.good(), DataError, "cannot open lookup table '{}'", path);
  std::string line;
  CHOP_CHECK(static_cast<bool>(std::getline(in, line)), DataError, "lookup table '{}' is empty", path);
  const auto header = split_csv_line(line);
  const auto n_cols = static_cast<int64_t>(header.size());
  CHOP_CHECK(n_cols > n_objectives && n_objectives >= 1, DataError,
             "lookup table '{}' needs at least one parameter column and {} objective column(s), but "
             "has {} column(s)",
             path, n_objectives, n_cols);
  const int64_t n_params = n_cols - n_objectives;
  LookupTable table;
  table.param_names.assign(header.begin(), header.begin() + n_params);
  table.objective_names.assign(header.begin() + n_params, header.end());
  std::vector<std::vector<std::string>> rows;
  int64_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    auto cells = split_csv_line(line);
    CHOP_CHECK(static_cast<int64_t>(cells.size()) == n_cols, DataError,
               "{}:{}: expected {} cells, but got {}", path, line_no, n_cols, cells.size());
    rows.push_back(std::move(cells));
  }
  CHOP_CHECK(!rows.empty(), DataError, "lookup table '{}' has no rows", path);
  table.choices.resize(static_cast<size_t>(n_params));
  for (int64_t c = 0; c < n_params; ++c) {
    auto& ch = table.choices[static_cast<size_t>(c)];
    for (const auto& r : rows)
      if (std::find(ch.begin(), ch.end(), r[static_cast<size_t>(c)]) == ch.end()) ch.push_back(r[static_cast<size_t>(c)]);
    bool numeric = true;
    double tmp;
    for (const auto& v : ch) numeric = numeric && parse_double(v, tmp);
    if (numeric)
      std::sort(ch.begin(), ch.end(), [](const std::string& a, const std::string& b) {
        return std::strtod(a.c_str(), nullptr) < std::strtod(b.c_str(), nullptr);
      });
  }
  for (const auto& r : rows) {
    std::vector<int64_t> key;
    for (int64_t c = 0; c < n_params; ++c) {
      const auto& ch = table.choices[static_cast<size_t>(c)];
      key.push_back(std::find(ch.begin(), ch.end(), r[static_cast<size_t>(c)]) - ch.begin());
    }
    std::vector<double> vals;
    for (int64_t c = n_params; c < n_cols; ++c) {
      double v;
      CHOP_CHECK(parse_double(r[static_cast<size_t>(c)], v), DataError,
                 "lookup table '{}': objective '{}' is not a number: '{}'", path,
                 header[static_cast<size_t>(c)], r[static_cast<size_t>(c)]);
      vals.push_back(v);
    }
    table.values[key] = vals;
  }
  return table;
}

nlohmann::json run_sampler_bench(const SamplerBenchOptions& bench) {
  const int64_t n_trials = bench.n_trials;
  const int64_t n_objectives = bench.n_objectives;
  const auto& table_path = bench.table_path;
  CHOP_CHECK(n_trials >= 1, ConfigError, "`trials >= 1` must hold, but got {}", n_trials);
  CHOP_CHECK(n_objectives == 1 || n_objectives == 2, ConfigError,
             "`objectives` must be 1 or 2, but got {}", n_objectives);
  CHOP_CHECK(bench.space == "synthetic8" || bench.space == "zdt1", ConfigError, "{}",
             unknown_name_message("space", bench.space, {"synthetic8", "zdt1"}));
  const bool zdt1 = !table_path && bench.space == "zdt1";
  CHOP_CHECK(!zdt1 || n_objectives == 2, ConfigError, "space 'zdt1' has 2 objectives: pass --objectives 2");
  std::optional<LookupTable> table;
  if (table_path) table = read_lookup_table(*table_path, n_objectives);

  std::vector<StudyDirection> directions = bench.directions;
  if (directions.empty()) directions.assign(static_cast<size_t>(n_objectives), StudyDirection::Minimize);
  CHOP_CHECK(static_cast<int64_t>(directions.size()) == n_objectives, ConfigError,
             "--directions gives {} direction(s) for {} objective(s)", directions.size(), n_objectives);

  StudyOptions options;
  options.name = "bench";
  options.directions = directions;
  options.sampler = make_sampler(bench.sampler, bench.seed, bench.sampler_options);
  options.dedup = bench.dedup.value_or(table.has_value());
  std::vector<Distribution> table_dists;
  if (table)
    for (size_t c = 0; c < table->choices.size(); ++c) {
      std::vector<ParamValue> values(table->choices[c].begin(), table->choices[c].end());
      table_dists.push_back(Distribution::categorical(values));
      options.search_space.emplace(table->param_names[c], table_dists.back());
    }
  Study study(options);

  const Distribution cat = Distribution::categorical({int64_t{1}, int64_t{2}, int64_t{3}, int64_t{4}});
  auto objective = [&](Trial& trial) -> std::vector<double> {
    if (table) {
      std::vector<int64_t> key;
      for (size_t c = 0; c < table->param_names.size(); ++c) {
        trial.suggest(table->param_names[c], table_dists[c]);
        key.push_back(std::llround(trial.internal_params().at(table->param_names[c])));
      }
      auto it = table->values.find(key);
      CHOP_CHECK(it != table->values.end(), DataError, "the lookup table has no row for this configuration");
      return it->second;
    }
    if (zdt1) return zdt1_objectives(trial);
    for (int k = 0; k < 4; ++k) trial.suggest("c" + std::to_string(k), cat);
    trial.suggest_int("i0", 1, 64);
    trial.suggest_int("i1", 1, 64);
    trial.suggest_float("f0", 1e-4, 1.0);
    trial.suggest_float("f1", 1e-4, 1.0, true);
    return synthetic_objectives(trial.params(), n_objectives);
  };

  std::vector<double> trial_ms;
  std::vector<double> best_curve;
  std::vector<double> front;  // 2-D non-dominated points so far
  std::vector<double> reference = zdt1 ? std::vector<double>{1.1, 1.1} : std::vector<double>{10.0, 10.0};
  std::optional<double> table_front_hv, table_optimum;
  if (table && n_objectives == 2) {
    std::vector<double> all, lo(2, std::numeric_limits<double>::infinity());
    reference.assign(2, -std::numeric_limits<double>::infinity());
    for (const auto& [k, v] : table->values) {
      const auto l = to_losses(v, directions);
      all.insert(all.end(), l.begin(), l.end());
      for (size_t j = 0; j < 2; ++j) {
        reference[j] = std::max(reference[j], l[j]);
        lo[j] = std::min(lo[j], l[j]);
      }
    }
    for (size_t j = 0; j < 2; ++j) reference[j] += 1e-9 + 0.1 * (reference[j] - lo[j]);
    table_front_hv = hypervolume(all, 2, reference);
  }
  if (table && n_objectives == 1) {
    for (const auto& [k, v] : table->values)
      table_optimum = !table_optimum ? v[0]
                      : directions[0] == StudyDirection::Maximize ? std::max(*table_optimum, v[0])
                                                                  : std::min(*table_optimum, v[0]);
  }
  const bool maximize = n_objectives == 1 && directions[0] == StudyDirection::Maximize;
  double best = maximize ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  const auto t0 = std::chrono::steady_clock::now();
  double timed = 0.0;
  for (int64_t i = 0; i < n_trials; ++i) {
    const auto s = std::chrono::steady_clock::now();
    auto trial = study.try_ask();
    if (!trial) break;
    FrozenTrialPtr done;
    try {
      done = study.tell(*trial, objective(*trial));
    } catch (const std::exception& e) {
      done = study.tell(*trial, TrialState::Fail, {}, e.what());
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count();
    timed += ms;
    trial_ms.push_back(ms);
    if (done->state == TrialState::Complete) {
      if (n_objectives == 1) {
        best = maximize ? std::max(best, done->values[0]) : std::min(best, done->values[0]);
      } else {
        const auto l = to_losses(done->values, directions);
        front.insert(front.end(), l.begin(), l.end());
        const auto ranks = non_domination_ranks(front, 2);
        std::vector<double> kept;
        for (size_t p = 0; p < ranks.size(); ++p)
          if (ranks[p] == 0) kept.insert(kept.end(), front.begin() + static_cast<long>(2 * p), front.begin() + static_cast<long>(2 * p + 2));
        front = std::move(kept);
        best = hypervolume(front, 2, reference);
      }
    }
    best_curve.push_back(best);
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto mean_ms = [&](size_t from, size_t to) -> nlohmann::json {
    to = std::min(to, trial_ms.size());
    if (from >= to) return nullptr;
    double s = 0.0;
    for (size_t i = from; i < to; ++i) s += trial_ms[i];
    return s / static_cast<double>(to - from);
  };
  nlohmann::json out;
  out["sampler"] = bench.sampler;
  if (!bench.sampler_options.empty()) out["sampler_options"] = bench.sampler_options;
  out["n_trials"] = static_cast<int64_t>(trial_ms.size());
  out["n_objectives"] = n_objectives;
  nlohmann::json dirs = nlohmann::json::array();
  for (auto d : directions) dirs.push_back(d == StudyDirection::Maximize ? "maximize" : "minimize");
  out["directions"] = dirs;
  out["dedup"] = options.dedup;
  out["exhausted"] = study.exhausted();
  out["seed"] = bench.seed;
  out["space"] = table_path ? *table_path : bench.space;
  out["total_seconds"] = total;
  out["trial_seconds"] = timed / 1000.0;
  out["ms_per_trial"] = {{"1-100", mean_ms(0, 100)},
                         {"101-500", mean_ms(100, 500)},
                         {"501-N", mean_ms(500, trial_ms.size())},
                         {"all", mean_ms(0, trial_ms.size())}};
  if (n_objectives == 2) out["reference"] = reference;
  if (table_optimum) out["optimum"] = *table_optimum;
  if (zdt1 || table_front_hv) {
    const double truth = zdt1 ? zdt1_true_hypervolume(reference[0], reference[1]) : *table_front_hv;
    out["true_front_hypervolume"] = truth;
    out["hypervolume_ratio"] = best_curve.empty() || !std::isfinite(best_curve.back()) ? 0.0 : best_curve.back() / truth;
  }
  nlohmann::json curve = nlohmann::json::array();
  for (double b : best_curve) curve.push_back(std::isfinite(b) ? nlohmann::json(b) : nlohmann::json(nullptr));
  out["best"] = curve;
  return out;
}

}  // namespace chop::search
