// Interop with the real Optuna (Debian python3-optuna 3.1): it reads chop's studies; chop continues its.
#include "chop/search/storage/sqlite_storage.h"
#include "chop/search/study.h"
#include "storage_test_support.h"

#include <gtest/gtest.h>

#include <fstream>

namespace chop::search {
namespace {

using testing::run_command;
using testing::TempDir;

/// A Python that imports optuna: $CHOP_PYTHON, python3 on PATH, or Debian's /usr/bin/python3
/// (python3-optuna installs there; a pyenv python3 first on PATH would not see it). "" if none.
const std::string& python() {
  static const std::string found = [] {
    std::vector<std::string> candidates = {"python3", "/usr/bin/python3"};
    if (const char* env = std::getenv("CHOP_PYTHON")) candidates.insert(candidates.begin(), env);
    for (const auto& p : candidates)
      if (run_command(fmt::format("'{}' -c 'import optuna' >/dev/null 2>&1", p)).first == 0)
        return p;
    return std::string();
  }();
  return found;
}

bool have_optuna() { return !python().empty(); }

/// Dumps a study as Optuna sees it: JSON with directions and trials (inf as strings).
const char* const kDumpScript = R"PY(
import json, math, sys
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
s = optuna.load_study(storage=sys.argv[1], study_name=sys.argv[2])
def num(v):
    return v if math.isfinite(v) else repr(v)
out = {"directions": [d.name for d in s.directions], "trials": []}
for t in s.trials:
    out["trials"].append({
        "number": t.number, "state": t.state.name, "params": t.params,
        "values": None if t.values is None else [num(v) for v in t.values],
        "intermediate": {str(k): num(v) for k, v in t.intermediate_values.items()},
        "user_attrs": t.user_attrs,
        "distributions": {k: optuna.distributions.distribution_to_json(d)
                          for k, d in t.distributions.items()},
    })
json.dump(out, open(sys.argv[3], "w"))
)PY";

/// Creates a study with Optuna: 4 trials, one of them pruned.
const char* const kCreateScript = R"PY(
import sys
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
s = optuna.create_study(storage=sys.argv[1], study_name=sys.argv[2], direction="minimize",
                        sampler=optuna.samplers.RandomSampler(seed=3))
def objective(t):
    x = t.suggest_float("x", -3, 3)
    opt = t.suggest_categorical("opt", ["adam", "sgd"])
    w = t.suggest_int("w", 8, 64, step=8)
    t.set_user_attr("software_metrics", {"accuracy": 0.5, "loss": 1.2})
    t.report(x * x, 0)
    if t.number == 2:
        raise optuna.TrialPruned()
    return x * x + (opt == "sgd") + w / 64
s.optimize(objective, n_trials=4)
)PY";

nlohmann::json run_python(const TempDir& dir, const char* script, const std::string& args) {
  const std::string path = dir.file("script.py");
  std::ofstream(path) << script;
  const auto [rc, out] = run_command(fmt::format("'{}' '{}' {} 2>&1", python(), path, args));
  EXPECT_EQ(rc, 0) << out;
  if (rc != 0) return {};
  std::ifstream in(dir.file("dump.json"));
  if (!in) return {};
  return nlohmann::json::parse(in);
}

nlohmann::json dump_with_optuna(const TempDir& dir, const std::string& url,
                                const std::string& study) {
  return run_python(dir, kDumpScript,
                    fmt::format("'{}' '{}' '{}'", url, study, dir.file("dump.json")));
}

nlohmann::json number_json(double v) {
  if (std::isfinite(v)) return v;
  return v > 0 ? "inf" : "-inf";
}

TEST(OptunaInterop, OptunaReadsWhatChopWrites) {
  if (!have_optuna()) GTEST_SKIP() << "python3 with optuna is not installed";
  TempDir dir("interop");
  const std::string path = dir.file("chop.db");
  const std::string url = "sqlite:///" + path;
  {
    StudyOptions o;
    o.name = "chop-written";
    o.directions = {StudyDirection::Maximize, StudyDirection::Minimize};
    o.storage = std::make_shared<SqliteStorage>(path);
    o.sampler = make_sampler("random", 7);
    Study study(o);
    for (int i = 0; i < 5; ++i) {
      Trial t = study.ask();
      const double x = t.suggest_float("x", -1.5, 2.5);
      const double lr = t.suggest_float("lr", 1e-4, 1e-1, /*log=*/true);
      const double q = t.suggest_float("q", 0.0, 1.0, false, 0.25);
      const int64_t w = t.suggest_int("w", 2, 8, false, 2);
      const int64_t n = t.suggest_int("n", 1, 1024, /*log=*/true);
      t.suggest_categorical("act", {std::string("relu"), std::string("gelu")});
      t.suggest_categorical("seq_blocks_2/channel_multiplier",
                            {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{4}});
      t.suggest_categorical("mixed", {true, 0.5, std::string("s")});
      for (int step = 0; step < 3; ++step) t.report(step, x * step + q);
      t.set_user_attr("software_metrics", {{"accuracy", 0.5 + 0.1 * i}, {"loss", 1.2}});
      t.set_user_attr("config", {{"w", w}, {"n", n}, {"note", "é ünïcode"}});
      if (i == 1) {
        study.tell(t, TrialState::Fail, {}, "out of memory");
      } else if (i == 2) {
        study.tell(t, TrialState::Pruned);
      } else if (i == 4) {
        study.tell(t, {INFINITY, lr});
      } else {
        study.tell(t, {x, lr + static_cast<double>(w)});
      }
    }
    study.ask();  // one left RUNNING
  }
  const nlohmann::json got = dump_with_optuna(dir, url, "chop-written");
  ASSERT_TRUE(got.is_object());
  EXPECT_EQ(got["directions"], nlohmann::json::array({"MAXIMIZE", "MINIMIZE"}));

  SqliteStorage storage(path);
  const auto trials = storage.get_all_trials(storage.get_study_id("chop-written"), std::nullopt);
  ASSERT_EQ(got["trials"].size(), trials.size());
  ASSERT_EQ(trials.size(), 6u);
  const char* states[] = {"COMPLETE", "FAIL", "PRUNED", "COMPLETE", "COMPLETE", "RUNNING"};
  for (size_t i = 0; i < trials.size(); ++i) {
    const FrozenTrial& mine = *trials[i];
    const nlohmann::json& theirs = got["trials"][i];
    SCOPED_TRACE(theirs.dump());
    EXPECT_EQ(theirs["number"], mine.number);
    EXPECT_EQ(theirs["state"], states[i]);
    EXPECT_EQ(theirs["state"], to_string(mine.state));
    nlohmann::json params = nlohmann::json::object();
    for (const auto& [name, v] : mine.external_params()) params[name] = to_json(v);
    EXPECT_EQ(theirs["params"], params);
    for (const auto& [name, d] : mine.distributions)
      EXPECT_EQ(nlohmann::json::parse(theirs["distributions"][name].get<std::string>()),
                d.to_json());
    if (mine.state == TrialState::Complete) {
      nlohmann::json values = nlohmann::json::array();
      for (double v : mine.values) values.push_back(number_json(v));
      EXPECT_EQ(theirs["values"], values);
    } else {
      EXPECT_TRUE(theirs["values"].is_null());
    }
    nlohmann::json inter = nlohmann::json::object();
    for (const auto& [step, v] : mine.intermediate_values) inter[std::to_string(step)] = v;
    EXPECT_EQ(theirs["intermediate"], inter);
    EXPECT_EQ(theirs["user_attrs"], nlohmann::json(mine.user_attrs));
  }
  EXPECT_EQ(got["trials"][4]["values"][0], "inf");
  EXPECT_EQ(got["trials"][0]["params"]["seq_blocks_2/channel_multiplier"].is_number_integer(),
            true);
}

TEST(OptunaInterop, ChopContinuesAStudyOptunaStarted) {
  if (!have_optuna()) GTEST_SKIP() << "python3 with optuna is not installed";
  TempDir dir("interop");
  const std::string path = dir.file("optuna.db");
  const std::string url = "sqlite:///" + path;
  {
    const std::string script = dir.file("create.py");
    std::ofstream(script) << kCreateScript;
    const auto [rc, out] =
        run_command(fmt::format("'{}' '{}' '{}' optuna-started 2>&1", python(), script, url));
    ASSERT_EQ(rc, 0) << out;
  }
  const nlohmann::json before = dump_with_optuna(dir, url, "optuna-started");
  ASSERT_EQ(before["trials"].size(), 4u);

  StudyOptions o;
  o.name = "optuna-started";
  o.storage = std::make_shared<SqliteStorage>(path);
  o.load_if_exists = true;
  Study study(o);
  const auto theirs = study.trials();
  ASSERT_EQ(theirs.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    nlohmann::json params = nlohmann::json::object();
    for (const auto& [name, v] : theirs[i]->external_params()) params[name] = to_json(v);
    EXPECT_EQ(params, before["trials"][i]["params"]);
    EXPECT_EQ(to_string(theirs[i]->state), before["trials"][i]["state"]);
    EXPECT_EQ(nlohmann::json(theirs[i]->user_attrs), before["trials"][i]["user_attrs"]);
  }
  EXPECT_EQ(theirs[2]->state, TrialState::Pruned);
  OptimizeOptions run;
  run.n_trials = 7;
  run.until_study_total = true;
  study.optimize(
      [](Trial& t) {
        const double x = t.suggest_float("x", -3, 3);
        const auto opt = std::get<std::string>(
            t.suggest_categorical("opt", {std::string("adam"), std::string("sgd")}));
        const int64_t w = t.suggest_int("w", 8, 64, false, 8);
        t.set_user_attr("software_metrics", {{"accuracy", 0.6}, {"loss", 1.0}});
        return std::vector<double>{x * x + (opt == "sgd") + static_cast<double>(w) / 64};
      },
      run);
  EXPECT_EQ(study.n_complete(), 7);

  const nlohmann::json after = dump_with_optuna(dir, url, "optuna-started");
  ASSERT_EQ(after["trials"].size(), 8u);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(after["trials"][i]["number"], i);
    EXPECT_EQ(after["trials"][i]["state"], i == 2 ? "PRUNED" : "COMPLETE");
    EXPECT_EQ(after["trials"][i]["params"].size(), 3u);
  }
  // Optuna can keep going on the same file after chop.
  const std::string more = dir.file("more.py");
  std::ofstream(more) << "import optuna, sys\n"
                         "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
                         "s = optuna.load_study(storage=sys.argv[1], study_name='optuna-started')\n"
                         "s.optimize(lambda t: t.suggest_float('x', -3, 3) ** 2, n_trials=2)\n"
                         "assert len(s.trials) == 10, len(s.trials)\n"
                         "print(s.best_trial.number)\n";
  const auto [rc, out] = run_command(fmt::format("'{}' '{}' '{}' 2>&1", python(), more, url));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(study.trials().size(), 10u);
}

}  // namespace
}  // namespace chop::search
