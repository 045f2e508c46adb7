// `chop bench sampler`: sampler overhead and search progress without training.
#include <iostream>
#include <optional>

#include "chop/search/bench.h"
#include "commands.h"

namespace chop::cli {

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Benchmarks that need no data");
  cmd->require_subcommand(1);
  auto* sampler = cmd->add_subcommand(
      "sampler", "Run a sampler on the standard 8-parameter space or a lookup table; prints one JSON line");
  struct Args {
    std::string sampler = "tpe", table;
    int64_t trials = 1000, objectives = 1;
    uint64_t seed = 0;
  };
  auto a = std::make_shared<Args>();
  sampler->add_option("--sampler", a->sampler, "Sampler (see `chop list samplers`)")->capture_default_str();
  sampler->add_option("--trials", a->trials, "Number of trials")->capture_default_str()->check(CLI::PositiveNumber);
  sampler->add_option("--objectives", a->objectives, "1 or 2")->capture_default_str()->check(CLI::Range(1, 2));
  sampler->add_option("--seed", a->seed, "Sampler seed")->capture_default_str();
  sampler->add_option("--table", a->table, "Lookup-table CSV to replay (last K columns: objectives)");
  sampler->callback([a] {
    std::optional<std::string> table;
    if (!a->table.empty()) table = a->table;
    std::cout << search::run_sampler_bench(a->sampler, a->trials, a->objectives, a->seed, table).dump()
              << "\n";
  });
}

}  // namespace chop::cli
