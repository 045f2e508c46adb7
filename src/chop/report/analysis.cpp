// Best so far, Pareto front and the fANOVA-lite parameter importance of a study.
#include "chop/report/analysis.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

namespace chop::report {
namespace {

bool better(double a, double b, bool maximize) { return maximize ? a > b : a < b; }

std::vector<double> ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
    double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) r[order[k]] = avg;
    i = j + 1;
  }
  return r;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx <= 0 || syy <= 0) return 0;
  return sxy / std::sqrt(sxx * syy);
}

}  // namespace

std::vector<const TrialRecord*> complete_trials(const StudyResults& study) {
  std::vector<const TrialRecord*> out;
  for (const auto& t : study.trials)
    if (t.state == TrialState::Complete && t.values.size() == study.objectives.size()) out.push_back(&t);
  return out;
}

std::vector<double> best_so_far(const std::vector<const TrialRecord*>& trials, size_t k, bool maximize) {
  std::vector<double> out;
  for (const auto* t : trials) {
    double v = t->values.at(k);
    out.push_back(out.empty() || better(v, out.back(), maximize) ? v : out.back());
  }
  return out;
}

bool dominates(const std::vector<double>& a, const std::vector<double>& b,
               const std::vector<Objective>& objectives) {
  bool strictly = false;
  for (size_t k = 0; k < objectives.size(); ++k) {
    if (better(b[k], a[k], objectives[k].maximize)) return false;
    if (better(a[k], b[k], objectives[k].maximize)) strictly = true;
  }
  return strictly;
}

std::vector<int64_t> pareto_front(const StudyResults& study) {
  std::vector<const TrialRecord*> pool;
  for (const auto* t : complete_trials(study))
    if (t->feasible()) pool.push_back(t);
  std::vector<int64_t> front;
  for (const auto* a : pool) {
    bool dominated = std::any_of(pool.begin(), pool.end(), [&](const TrialRecord* b) {
      return dominates(b->values, a->values, study.objectives);
    });
    if (!dominated) front.push_back(a->number);
  }
  return front;
}

std::string param_label(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

double correlation_ratio(const std::vector<std::string>& groups, const std::vector<double>& y) {
  if (y.size() < 2) return 0;
  const double mean = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(y.size());
  double total = 0;
  std::map<std::string, std::pair<double, int64_t>> sums;
  for (size_t i = 0; i < y.size(); ++i) {
    total += (y[i] - mean) * (y[i] - mean);
    sums[groups[i]].first += y[i];
    sums[groups[i]].second += 1;
  }
  if (total <= 0) return 0;
  double between = 0;
  for (const auto& [g, s] : sums) {
    double m = s.first / static_cast<double>(s.second);
    between += static_cast<double>(s.second) * (m - mean) * (m - mean);
  }
  return std::clamp(between / total, 0.0, 1.0);
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() < 2) return 0;
  return pearson(ranks(x), ranks(y));
}

std::vector<Importance> param_importance(const StudyResults& study) {
  constexpr size_t kMaxGroups = 10;
  std::vector<Importance> out;
  const auto trials = complete_trials(study);
  const auto keys = study.param_keys();
  for (size_t k = 0; k < study.objectives.size(); ++k)
    for (const auto& key : keys) {
      std::vector<std::string> labels;
      std::vector<double> x, y;
      bool numeric = true;
      for (const auto* t : trials) {
        const nlohmann::json* v = t->param(key);
        if (!v) continue;
        numeric = numeric && v->is_number();
        labels.push_back(param_label(*v));
        x.push_back(v->is_number() ? v->get<double>() : 0.0);
        y.push_back(t->values[k]);
      }
      Importance imp{key, study.objectives[k].name, 0, "eta^2", static_cast<int64_t>(y.size())};
      size_t n_distinct = std::set<std::string>(labels.begin(), labels.end()).size();
      if (numeric && n_distinct > kMaxGroups) {
        double rho = spearman(x, y);
        imp.value = rho * rho;
        imp.method = "spearman rho^2";
      } else {
        imp.value = correlation_ratio(labels, y);
      }
      out.push_back(imp);
    }
  return out;
}

}  // namespace chop::report
