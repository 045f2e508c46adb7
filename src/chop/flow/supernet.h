// The supernet strategy's last step: the best candidates (and a random sample) trained
// stand-alone, and how well the supernet's scores ranked them (fidelity).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "chop/flow/search_config.h"
#include "chop/flow/trial_runner.h"
#include "chop/search/study.h"

namespace chop::flow {

/// Kendall's tau-b of two paired lists (ties as scipy.stats.kendalltau counts them); NaN for
/// fewer than two pairs or a constant list.
double kendall_tau(const std::vector<double>& x, const std::vector<double>& y);

/// Below this Kendall's tau the supernet's ranking is reported as untrustworthy.
constexpr double kFidelityWarnTau = 0.5;

/// After a supernet study: trains stand-alone the `retrain` best COMPLETE candidates (by the
/// first objective) and `fidelity_samples` others drawn with the search's seed, saving the best
/// ones' checkpoints under dir; compares the supernet's and the stand-alone values of the
/// fidelity metric (the first software metric among the objectives, else accuracy): Kendall's
/// tau and the overlap of their top `retrain`. Returns supernet.json's document:
/// {"metric", "supernet": {...}, "standalone": [per configuration], "fidelity": {...}, "best"}.
nlohmann::ordered_json retrain_candidates(TrialRunner& runner, search::Study& study, const SearchConfig& cfg,
                                          const std::string& dir, bool progress,
                                          const std::function<bool()>& stop);

/// supernet.json as the lines chop search prints: training and scoring time, each retrained
/// configuration (supernet vs stand-alone value), fidelity (its warning is fidelity.warning).
std::string supernet_summary(const nlohmann::ordered_json& doc);

}  // namespace chop::flow
