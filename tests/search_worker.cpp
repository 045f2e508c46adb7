// search_worker: one worker process of a shared study, for the multi-process storage tests.
//   search_worker STORAGE_URL STUDY N_TRIALS [--total] [--seed S] [--sleep-ms M]
//                 [--heartbeat SECONDS] [--grace SECONDS] [--hang-at K --marker FILE]
//                 [--grid POINTS]
// Runs N_TRIALS trials (--total: until the study holds N_TRIALS COMPLETE trials) of a cheap
// objective with TPE; --grid: the grid sampler over x = 0 .. POINTS-1 instead (tests/soak).
// --hang-at K: the K-th trial of this process writes FILE and then sleeps forever inside the
// objective (to be killed with -9). Exit 0 on success, 1 with a message.
#include "chop/search/storage/storage_url.h"
#include "chop/search/study.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

int main(int argc, char** argv) {
  using namespace chop::search;
  if (argc < 4) {
    std::fprintf(stderr, "usage: search_worker URL STUDY N_TRIALS [options]\n");
    return 2;
  }
  const std::string url = argv[1];
  const std::string study_name = argv[2];
  OptimizeOptions run;
  run.n_trials = std::stoll(argv[3]);
  uint64_t seed = 0;
  int sleep_ms = 0;
  int64_t hang_at = -1;
  int64_t grid = 0;
  std::string marker;
  StudyOptions options;
  for (int i = 4; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return std::string(argv[++i]); };
    if (a == "--total") run.until_study_total = true;
    else if (a == "--seed") seed = std::stoull(next());
    else if (a == "--sleep-ms") sleep_ms = std::stoi(next());
    else if (a == "--heartbeat") options.heartbeat_interval_seconds = std::stod(next());
    else if (a == "--grace") options.grace_period_seconds = std::stod(next());
    else if (a == "--hang-at") hang_at = std::stoll(next());
    else if (a == "--marker") marker = next();
    else if (a == "--grid") grid = std::stoll(next());
    else {
      std::fprintf(stderr, "search_worker: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  try {
    options.name = study_name;
    options.storage = make_storage(url);
    options.sampler = make_sampler(grid > 0 ? "grid" : "tpe", seed);
    options.load_if_exists = true;
    Study study(options);
    int64_t n_started = 0;
    study.optimize(
        [&](Trial& t) {
          if (grid > 0) {
            const auto x = t.suggest_int("x", 0, grid - 1);
            t.set_user_attr("pid", static_cast<int64_t>(::getpid()));
            if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
            return std::vector<double>{static_cast<double>(x)};
          }
          const double x = t.suggest_float("x", -3, 3);
          const auto k = t.suggest_int("k", 0, 8);
          t.report(0, x);
          t.set_user_attr("pid", static_cast<int64_t>(::getpid()));
          if (++n_started == hang_at) {
            std::ofstream(marker) << t.number() << "\n";
            for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
          }
          if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
          return std::vector<double>{x * x + static_cast<double>(k)};
        },
        run);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "search_worker: %s\n", e.what());
    return 1;
  }
}
