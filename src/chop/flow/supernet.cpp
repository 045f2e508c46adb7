// The supernet strategy's last step: stand-alone retraining and the fidelity of the scores.
#include "chop/flow/supernet.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <random>

#include "chop/results/metric_info.h"
#include "chop/support/parallel.h"
#include "chop/support/progress.h"

namespace chop::flow {

double kendall_tau(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = std::min(x.size(), y.size());
  int64_t concordant = 0, discordant = 0, ties_x = 0, ties_y = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      const double dx = x[i] - x[j], dy = y[i] - y[j];
      if (dx == 0 && dy == 0) continue;  // tied in both: in neither count
      if (dx == 0) ++ties_x;
      else if (dy == 0) ++ties_y;
      else if ((dx > 0) == (dy > 0)) ++concordant;
      else ++discordant;
    }
  const double denominator = std::sqrt(static_cast<double>(concordant + discordant + ties_x) *
                                       static_cast<double>(concordant + discordant + ties_y));
  if (n < 2 || denominator == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(concordant - discordant) / denominator;
}

namespace {

/// The metric fidelity compares: the first software metric among the objectives, else accuracy.
std::string fidelity_metric(const SearchConfig& cfg) {
  const auto software = results::metric_names(/*hardware=*/false);
  for (const auto& m : cfg.metrics)
    if (std::find(software.begin(), software.end(), m.name) != software.end()) return m.name;
  return "accuracy";
}

nlohmann::ordered_json params_json(const search::FrozenTrial& t) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [k, v] : t.external_params())
    out[k] = std::visit([](const auto& x) { return nlohmann::ordered_json(x); }, v);
  return out;
}

}  // namespace

nlohmann::ordered_json retrain_candidates(TrialRunner& runner, search::Study& study, const SearchConfig& cfg,
                                          const std::string& dir, bool progress,
                                          const std::function<bool()>& stop) {
  auto complete = study.trials(std::vector<search::TrialState>{search::TrialState::Complete});
  // A candidate's supernet score, oriented so that higher is better.
  const std::string score = cfg.supernet.score;
  const double score_sign = results::find_metric(score)->higher_is_better ? 1.0 : -1.0;
  auto supernet_value = [](const search::FrozenTrial& t, const std::string& name) {
    return t.user_attrs.at("software_metrics").at(name).get<double>();
  };
  // Best first by the score; ties by trial number (deterministic).
  std::stable_sort(complete.begin(), complete.end(), [&](const auto& a, const auto& b) {
    return score_sign * supernet_value(*a, score) > score_sign * supernet_value(*b, score);
  });
  const size_t n_best = std::min<size_t>(complete.size(), static_cast<size_t>(cfg.supernet.retrain));
  std::vector<search::FrozenTrialPtr> rest(complete.begin() + static_cast<std::ptrdiff_t>(n_best), complete.end());
  std::sort(rest.begin(), rest.end(), [](const auto& a, const auto& b) { return a->number < b->number; });
  std::mt19937_64 rng(runner.seed() ^ 0xf1de1177ull);
  for (size_t i = 0; i + 1 < rest.size(); ++i)  // Fisher-Yates: the same sample on every platform
    std::swap(rest[i], rest[i + std::uniform_int_distribution<size_t>(0, rest.size() - 1 - i)(rng)]);
  rest.resize(std::min(rest.size(), static_cast<size_t>(cfg.supernet.fidelity_samples)));
  std::vector<search::FrozenTrialPtr> chosen(complete.begin(), complete.begin() + static_cast<std::ptrdiff_t>(n_best));
  chosen.insert(chosen.end(), rest.begin(), rest.end());

  const std::string metric = fidelity_metric(cfg);
  const bool higher_better = results::find_metric(metric)->higher_is_better;
  const double sign = higher_better ? 1.0 : -1.0;
  std::filesystem::create_directories(dir);
  std::unique_ptr<ProgressBar> bar;
  if (progress) bar = std::make_unique<ProgressBar>("retrain", static_cast<int64_t>(chosen.size()), "it", 5);
  // The trainings are independent: on every core unless dropout's global generator would make
  // their results depend on each other's timing.
  const bool concurrent = runner.parallel_jobs() > 1 && TrialRunner::trains_deterministically_in_parallel(runner.base());
  std::vector<std::optional<TrialRunner::Evaluation>> trained(chosen.size());
  std::vector<std::string> ckpts(chosen.size());  // the best ones' models
  for (size_t i = 0; i < n_best; ++i) ckpts[i] = fmt::format("{}/trial_{}.ckpt", dir, chosen[i]->number);
  std::mutex bar_mutex;
  int64_t n_done = 0;
  auto start = std::chrono::steady_clock::now();
  parallel_for_each(static_cast<int64_t>(chosen.size()), concurrent ? runner.parallel_jobs() : 1, [&](int64_t i) {
    const auto& t = *chosen[static_cast<size_t>(i)];
    trained[static_cast<size_t>(i)] = runner.train_standalone(t.external_params(), ckpts[static_cast<size_t>(i)], concurrent);
    std::lock_guard<std::mutex> lock(bar_mutex);
    ++n_done;
    if (bar) bar->update(n_done, fmt::format("trial {}: {} {:.4f} (supernet {:.4f})", t.number, metric,
                                             trained[static_cast<size_t>(i)]->software.at(metric).get<double>(),
                                             supernet_value(t, metric)));
  }, stop);
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  std::vector<double> scored, standalone;
  for (size_t i = 0; i < chosen.size(); ++i) {
    if (!trained[i]) continue;  // stopped before it
    const auto& t = *chosen[i];
    const TrialRunner::Evaluation& e = *trained[i];
    const bool best = i < n_best;
    const std::string& ckpt = ckpts[i];
    const double own = e.software.at(metric).get<double>();
    scored.push_back(score_sign * supernet_value(t, score));
    standalone.push_back(sign * own);
    rows.push_back({{"trial", t.number},
                    {"role", best ? "best" : "sample"},
                    {"params", params_json(t)},
                    {"score", supernet_value(t, score)},
                    {"supernet", supernet_value(t, metric)},
                    {"standalone", own},
                    {"software_metrics", e.software},
                    {"values", e.values},
                    {"ckpt", ckpt.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(ckpt)}});
  }
  if (bar) bar->finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Both lists hold higher-is-better values: the top k are the largest.
  auto top = [&](const std::vector<double>& v, size_t k) {
    std::vector<size_t> idx(v.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] > v[b]; });
    idx.resize(std::min(k, idx.size()));
    std::sort(idx.begin(), idx.end());
    return idx;
  };
  const size_t k = std::min(n_best, scored.size());
  auto a = top(scored, k), b = top(standalone, k);
  std::vector<size_t> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  const double tau = kendall_tau(scored, standalone);
  nlohmann::ordered_json fidelity = {{"configs", scored.size()},
                                     {"kendall_tau", std::isnan(tau) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(tau)},
                                     {"top_k", k},
                                     {"top_k_overlap", both.size()}};
  if (std::isnan(tau) || tau < kFidelityWarnTau)
    fidelity["warning"] = std::isnan(tau)
        ? std::string("too few stand-alone configurations to rank (raise fidelity_samples)")
        : fmt::format("Kendall's tau {:.2f} < {}: the supernet's scores rank these configurations poorly; "
                      "prefer a stand-alone search (strategy \"optuna\") or train the supernet longer",
                      tau, kFidelityWarnTau);

  nlohmann::ordered_json out = {{"metric", metric},
                                {"score", score},
                                {"retrain_seconds", seconds},
                                {"standalone", rows},
                                {"fidelity", fidelity}};
  // The best retrained configuration by its own value of the metric.
  for (const auto& r : rows) {
    if (r["role"] != "best") continue;
    if (!out.contains("best") || (higher_better ? r["standalone"] > out["best"]["standalone"]
                                                : r["standalone"] < out["best"]["standalone"]))
      out["best"] = r;
  }
  return out;
}

std::string supernet_summary(const nlohmann::ordered_json& doc) {
  const auto& sn = doc.at("supernet");
  const std::string metric = doc.at("metric").get<std::string>();
  std::string out = fmt::format(
      "supernet: trained in {:.1f} s ({} epochs, sandwich rule); {} candidates scored in {:.1f} s; "
      "{} configurations trained stand-alone in {:.1f} s\n",
      sn.at("train_seconds").get<double>(), sn.at("max_epochs").get<int64_t>(), sn.at("candidates_scored").get<int64_t>(),
      sn.at("scoring_seconds").get<double>(), doc.at("standalone").size(), doc.at("retrain_seconds").get<double>());
  const std::string score = doc.value("score", metric);
  for (const auto& r : doc.at("standalone"))
    if (r.at("role") == "best")
      out += fmt::format("  retrained trial {}: {} {:.4f} stand-alone (supernet {} {:.4f}{}){}\n", r.at("trial").get<int64_t>(),
                         metric, r.at("standalone").get<double>(), score, r.value("score", r.at("supernet").get<double>()),
                         score == metric ? "" : fmt::format(", {} {:.4f}", metric, r.at("supernet").get<double>()),
                         doc.contains("best") && doc["best"]["trial"] == r["trial"] ? "  <- best" : "");
  const auto& f = doc.at("fidelity");
  out += fmt::format("fidelity of the supernet's {} over {} stand-alone configurations: Kendall's tau {}, top-{} overlap {}/{}\n",
                     score, f.at("configs").get<int64_t>(),
                     f.at("kendall_tau").is_null() ? std::string("n/a") : fmt::format("{:.3f}", f.at("kendall_tau").get<double>()),
                     f.at("top_k").get<int64_t>(), f.at("top_k_overlap").get<int64_t>(), f.at("top_k").get<int64_t>());
  return out;
}

}  // namespace chop::flow
