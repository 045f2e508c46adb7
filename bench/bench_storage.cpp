// bench_storage: storage overhead per trial (ms) of SQLite and PostgreSQL against in-memory, 1,000 trials.
//   bench_storage [N_TRIALS] [POSTGRES_URL]   (default 1000; PostgreSQL from scripts/start-postgres)
// Each store runs the same study (random sampler, 4 params, 3 reports, 1 user attr); the overhead
// is (time - in-memory time) / N. Also reports TPE on SQLite, where reading history dominates.
#include "chop/search/storage/in_memory_storage.h"
#include "chop/search/storage/postgres_storage.h"
#include "chop/search/storage/sqlite_storage.h"
#include "chop/search/study.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

namespace {

using namespace chop::search;

double run_ms(std::shared_ptr<Storage> storage, int64_t n_trials, const std::string& sampler) {
  StudyOptions o;
  o.name = "bench";
  o.storage = std::move(storage);
  o.sampler = make_sampler(sampler, 0);
  Study study(o);
  const auto start = std::chrono::steady_clock::now();
  study.optimize(
      [](Trial& t) {
        const double x = t.suggest_float("x", -3, 3);
        const double lr = t.suggest_float("lr", 1e-5, 1e-1, true);
        const int64_t w = t.suggest_int("w", 8, 64, false, 8);
        t.suggest_categorical("act", {std::string("relu"), std::string("gelu")});
        for (int step = 0; step < 3; ++step) t.report(step, x * step);
        t.set_user_attr("software_metrics", {{"accuracy", lr}, {"loss", x}});
        return std::vector<double>{x * x + static_cast<double>(w) * lr};
      },
      n_trials);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string start_postgres() {
  FILE* p = ::popen("bash " CHOP_SOURCE_DIR "/scripts/start-postgres 2>/dev/null | tail -1", "r");
  if (!p) return "";
  char buf[512] = {0};
  std::string url = std::fgets(buf, sizeof buf, p) ? buf : "";
  ::pclose(p);
  while (!url.empty() && (url.back() == '\n' || url.back() == ' ')) url.pop_back();
  return url;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::stoll(argv[1]) : 1000;
  std::string admin = argc > 2 ? argv[2] : start_postgres();
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("chop-bench-{}", ::getpid());
  std::filesystem::create_directories(dir);
  try {
    const double mem = run_ms(std::make_shared<InMemoryStorage>(), n, "random");
    const double lite = run_ms(std::make_shared<SqliteStorage>((dir / "r.db").string()), n, "random");
    std::printf("trials: %lld (random sampler, 4 params, 3 reports, 1 user attr per trial)\n",
                static_cast<long long>(n));
    std::printf("%-12s %10s %12s %14s\n", "storage", "total ms", "ms/trial", "overhead ms/trial");
    std::printf("%-12s %10.0f %12.3f %14s\n", "in-memory", mem, mem / n, "-");
    std::printf("%-12s %10.0f %12.3f %14.3f\n", "sqlite", lite, lite / n, (lite - mem) / n);
    if (!admin.empty()) {
      const std::string db = fmt::format("chop_bench_{}", ::getpid());
      postgres_execute(admin, "CREATE DATABASE " + db);
      const double pg =
          run_ms(std::make_shared<PostgresStorage>(postgres_url_with_database(admin, db)), n,
                 "random");
      postgres_execute(admin, "DROP DATABASE " + db + " WITH (FORCE)");
      std::printf("%-12s %10.0f %12.3f %14.3f\n", "postgresql", pg, pg / n, (pg - mem) / n);
    } else {
      std::printf("postgresql: skipped (no server)\n");
    }
    const double tpe_mem = run_ms(std::make_shared<InMemoryStorage>(), n, "tpe");
    const double tpe_lite =
        run_ms(std::make_shared<SqliteStorage>((dir / "t.db").string()), n, "tpe");
    std::printf("tpe in-memory %8.0f ms (%.3f ms/trial); tpe sqlite %8.0f ms (%.3f ms/trial, "
                "overhead %.3f)\n",
                tpe_mem, tpe_mem / n, tpe_lite, tpe_lite / n, (tpe_lite - tpe_mem) / n);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_storage: %s\n", e.what());
    std::filesystem::remove_all(dir);
    return 1;
  }
  std::filesystem::remove_all(dir);
  return 0;
}
