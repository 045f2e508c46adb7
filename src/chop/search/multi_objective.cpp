// Multi-objective utilities: domination, non-dominated sorting, Pareto front, hypervolume, crowding.
#include "chop/search/multi_objective.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace chop::search {

std::vector<double> to_losses(const std::vector<double>& values,
                              const std::vector<StudyDirection>& directions) {
  std::vector<double> out(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    out[i] = directions[i % directions.size()] == StudyDirection::Maximize ? -values[i] : values[i];
  return out;
}

bool dominates(const double* a, const double* b, int64_t m) {
  bool better = false;
  for (int64_t j = 0; j < m; ++j) {
    if (a[j] > b[j]) return false;
    better = better || a[j] < b[j];
  }
  return better;
}

namespace {

std::vector<int64_t> ranks_2d(const std::vector<double>& l, int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    if (l[2 * a] != l[2 * b]) return l[2 * a] < l[2 * b];
    return l[2 * a + 1] < l[2 * b + 1];
  });
  std::vector<int64_t> rank(static_cast<size_t>(n), 0);
  std::vector<double> front_min_y;  // non-decreasing over fronts
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    const double x = l[2 * order[i]], y = l[2 * order[i] + 1];
    while (j < order.size() && l[2 * order[j]] == x && l[2 * order[j] + 1] == y) ++j;
    const auto r = static_cast<int64_t>(
        std::upper_bound(front_min_y.begin(), front_min_y.end(), y) - front_min_y.begin());
    if (r == static_cast<int64_t>(front_min_y.size())) front_min_y.push_back(y);
    front_min_y[static_cast<size_t>(r)] = y;
    for (size_t k = i; k < j; ++k) rank[static_cast<size_t>(order[k])] = r;
    i = j;
  }
  return rank;
}

double hv_2d(std::vector<std::pair<double, double>> pts, double rx, double ry) {
  std::sort(pts.begin(), pts.end());
  double area = 0.0, cur_y = ry;
  for (const auto& [x, y] : pts) {
    if (x >= rx || y >= cur_y) continue;
    area += (rx - x) * (cur_y - y);
    cur_y = y;
  }
  return area;
}

double hv_rec(std::vector<std::vector<double>> pts, const std::vector<double>& ref) {
  const size_t m = ref.size();
  if (pts.empty()) return 0.0;
  if (m == 1) {
    double best = ref[0];
    for (const auto& p : pts) best = std::min(best, p[0]);
    return ref[0] - best;
  }
  if (m == 2) {
    std::vector<std::pair<double, double>> p2;
    for (const auto& p : pts) p2.emplace_back(p[0], p[1]);
    return hv_2d(std::move(p2), ref[0], ref[1]);
  }
  // Slice along the last objective: between consecutive levels the cross-section is the
  // (m-1)-dimensional hypervolume of the points at or below the level.
  std::sort(pts.begin(), pts.end(),
            [m](const auto& a, const auto& b) { return a[m - 1] < b[m - 1]; });
  std::vector<double> sub_ref(ref.begin(), ref.end() - 1);
  std::vector<std::vector<double>> below;
  double volume = 0.0;
  for (size_t i = 0; i < pts.size(); ++i) {
    below.emplace_back(pts[i].begin(), pts[i].end() - 1);
    const double next = i + 1 < pts.size() ? pts[i + 1][m - 1] : ref[m - 1];
    const double height = next - pts[i][m - 1];
    if (height > 0) volume += height * hv_rec(below, sub_ref);
  }
  return volume;
}

}  // namespace

std::vector<int64_t> non_domination_ranks(const std::vector<double>& losses, int64_t m) {
  const int64_t n = m == 0 ? 0 : static_cast<int64_t>(losses.size()) / m;
  if (m == 2) return ranks_2d(losses, n);
  // Deb's fast non-dominated sort.
  std::vector<std::vector<int64_t>> dominated(static_cast<size_t>(n));
  std::vector<int64_t> count(static_cast<size_t>(n), 0), rank(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      if (dominates(&losses[i * m], &losses[j * m], m)) {
        dominated[i].push_back(j);
        ++count[j];
      } else if (dominates(&losses[j * m], &losses[i * m], m)) {
        dominated[j].push_back(i);
        ++count[i];
      }
    }
  std::vector<int64_t> front;
  for (int64_t i = 0; i < n; ++i)
    if (count[i] == 0) front.push_back(i);
  for (int64_t r = 0; !front.empty(); ++r) {
    std::vector<int64_t> next;
    for (int64_t i : front) {
      rank[i] = r;
      for (int64_t j : dominated[i])
        if (--count[j] == 0) next.push_back(j);
    }
    front = std::move(next);
  }
  return rank;
}

double hypervolume(const std::vector<double>& losses, int64_t m,
                   const std::vector<double>& reference) {
  std::vector<std::vector<double>> pts;
  const int64_t n = static_cast<int64_t>(losses.size()) / m;
  for (int64_t i = 0; i < n; ++i) {
    bool inside = true;
    for (int64_t j = 0; j < m; ++j) inside = inside && losses[i * m + j] < reference[j];
    if (inside) pts.emplace_back(losses.begin() + i * m, losses.begin() + (i + 1) * m);
  }
  return hv_rec(std::move(pts), reference);
}

std::vector<double> crowding_distance(const std::vector<double>& losses, int64_t m) {
  const int64_t n = static_cast<int64_t>(losses.size()) / m;
  std::vector<double> dist(static_cast<size_t>(n), 0.0);
  if (n <= 2) return std::vector<double>(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t j = 0; j < m; ++j) {
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return losses[a * m + j] < losses[b * m + j]; });
    const double lo = losses[order.front() * m + j], hi = losses[order.back() * m + j];
    dist[order.front()] = dist[order.back()] = std::numeric_limits<double>::infinity();
    if (!(hi > lo)) continue;
    for (int64_t k = 1; k + 1 < n; ++k)
      dist[order[k]] += (losses[order[k + 1] * m + j] - losses[order[k - 1] * m + j]) / (hi - lo);
  }
  return dist;
}

std::vector<FrozenTrialPtr> pareto_front(const std::vector<FrozenTrialPtr>& trials,
                                         const std::vector<StudyDirection>& directions) {
  const auto m = static_cast<int64_t>(directions.size());
  std::vector<FrozenTrialPtr> candidates;
  std::vector<double> losses;
  for (const auto& t : trials) {
    if (t->state != TrialState::Complete || !t->feasible()) continue;
    if (static_cast<int64_t>(t->values.size()) != m) continue;
    candidates.push_back(t);
    const auto l = to_losses(t->values, directions);
    losses.insert(losses.end(), l.begin(), l.end());
  }
  const auto ranks = non_domination_ranks(losses, m);
  std::vector<FrozenTrialPtr> front;
  for (size_t i = 0; i < candidates.size(); ++i)
    if (ranks[i] == 0) front.push_back(candidates[i]);
  return front;
}

}  // namespace chop::search
