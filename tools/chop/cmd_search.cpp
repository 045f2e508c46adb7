// `chop search --config f.toml [MODEL DATASET]`: MASE's ch search, resumable and multi-process.
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "chop/flow/search_run.h"
#include "chop/flow/supernet.h"
#include "chop/report/html.h"
#include "chop/support/error.h"
#include "commands.h"
#include "run_flags.h"

extern char** environ;

namespace chop::cli {
namespace {

struct SearchArgs {
  std::string storage, study_name;
  bool resume = false, worker = false;
  int n_workers = 1;
  int64_t report_every = 0;
};

std::vector<std::string> g_argv;  // this process's arguments, for worker processes

volatile std::sig_atomic_t g_signal = 0;  // SIGINT or SIGTERM that stopped the search

void on_stop_signal(int sig) {
  g_signal = sig;
  flow::request_search_stop();  // running trials finish and everything is written
  std::signal(sig, SIG_DFL);    // a second one ends the process at once
}

/// Starts n copies of this command as workers of the same study and waits for them.
void run_workers(int n) {
  std::vector<std::string> args;
  for (size_t i = 0; i < g_argv.size(); ++i) {
    if (g_argv[i] == "--n-workers") {
      ++i;
      continue;
    }
    if (g_argv[i].rfind("--n-workers=", 0) == 0) continue;
    args.push_back(g_argv[i]);
  }
  args.push_back("--worker");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    pid_t pid;
    CHOP_CHECK(posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ) == 0,
               SearchError, "could not start worker process {}", i + 1);
    pids.push_back(pid);
  }
  std::cerr << fmt::format("search: {} worker processes started\n", n);
  int n_failed = 0;
  for (pid_t pid : pids) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    n_failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  CHOP_CHECK(n_failed == 0, SearchError, "{} of {} worker processes failed (see their messages above)",
             n_failed, n);
}

}  // namespace

void add_search_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "search", "Search quantizations and channel widths for the best accuracy / cost trade-off");
  auto flags = add_run_flags(cmd, {"model", "dataset"});
  auto a = std::make_shared<SearchArgs>();
  cmd->add_option("--storage", a->storage,
                  "Study storage: sqlite:///file.db, postgresql://user@host/db or memory "
                  "(default: sqlite:///<search_ckpts>/study.db)");
  cmd->add_option("--study-name", a->study_name, "Study name (default: the project name)");
  cmd->add_flag("--resume", a->resume, "Continue the stored study until it has n_trials COMPLETE trials");
  cmd->add_option("--n-workers", a->n_workers, "Worker processes sharing the study (this machine)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--report-every", a->report_every, "Refresh the outputs and report every N trials");
  // Started by --n-workers, or by hand on other machines sharing a PostgreSQL study.
  cmd->add_flag("--worker", a->worker, "Run as one worker of a shared study (no final outputs)");
  cmd->callback([flags, a] {
    const auto started = std::chrono::steady_clock::now();  // the elapsed time printed: the whole run
    CHOP_CHECK(!flags->config_path.empty(), ConfigError,
               "chop search needs --config FILE.toml with a [search] table (see configs/)");
    flow::SearchRunOptions o;
    o.run = flags->resolve();
    o.toml = flags->toml;
    CHOP_CHECK(o.toml.contains("search"), ConfigError, "{}: no [search] table", flags->config_path);
    CHOP_CHECK(!o.run.dataset.empty(), ConfigError,
               "chop search needs a DATASET (argument or `dataset = ...` in the config)");
    o.search = flow::read_search_config(o.toml["search"]);
    o.storage_url = a->storage;
    o.study_name = a->study_name;
    o.resume = a->resume;
    o.worker = a->worker;
    o.report_every = a->report_every;
    CHOP_CHECK(a->n_workers == 1 || a->storage != "memory", ConfigError,
               "--n-workers needs a shared storage (SQLite or PostgreSQL), not memory");
    CHOP_CHECK(a->n_workers == 1 || o.search.strategy != "supernet", ConfigError,
               "--n-workers: [search.strategy] name = \"supernet\" trains its supernet in one process");
    if (a->n_workers > 1) {
      run_workers(a->n_workers);
      o.resume = true;  // collect what the workers stored: the study is complete
      o.progress = false;
    }
    if (o.worker) o.progress = false;
    std::string report_path;
    o.on_outputs = [&report_path](const results::StudyResults& r, const std::string& dir) {
      report_path = dir + "/report.html";
      report::write_report(r, report_path);
    };
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    auto outcome = flow::run_search(o);
    if (o.worker) return;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << "Best trial(s):\n" << results::best_trials_table(outcome.results);
    std::cout << fmt::format("{} trials in {:.2f} s; results: {}\n", outcome.results.trials.size(), wall,
                             outcome.out_dir);
    if (!outcome.best_ckpt.empty()) std::cout << "best model: " << outcome.best_ckpt << "\n";
    for (const auto& path : outcome.exports) std::cout << "exported: " << path << "\n";
    std::cout << "report: " << report_path << "\n";
    if (outcome.results.supernet.contains("fidelity")) {
      const std::string summary = flow::supernet_summary(outcome.results.supernet);
      std::cout << summary;
      if (outcome.results.supernet["fidelity"].contains("warning"))
        std::cerr << "warning: " << outcome.results.supernet["fidelity"]["warning"].get<std::string>() << "\n";
    }
    if (outcome.space_size >= 0 && !outcome.interrupted)
      std::cout << fmt::format("all {} configurations of the search space are evaluated (n_trials = {}): "
                               "the search is complete\n",
                               outcome.space_size, outcome.n_trials);
    if (outcome.interrupted && g_signal != 0) {
      std::cout.flush();
      if (o.search.strategy == "supernet")  // its supernet lives in this process only
        std::cerr << fmt::format("search: stopped after {} of {} candidates scored; a supernet search cannot be "
                                 "resumed: run it again\n", outcome.n_complete, outcome.n_trials);
      else
        std::cerr << fmt::format("search: stopped after {} of {} trials; continue with --resume\n",
                                 outcome.n_complete, outcome.n_trials > 0 ? std::to_string(outcome.n_trials) : "?");
      std::exit(128 + g_signal);  // 130 after Ctrl-C, 143 after SIGTERM
    }
  });
}

void set_process_args(int argc, char** argv) { g_argv.assign(argv, argv + argc); }

}  // namespace chop::cli
