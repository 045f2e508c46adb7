// `chop bench sampler`: sampler overhead and search progress without training.
#include <iostream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "chop/search/bench.h"
#include "chop/support/error.h"
#include "commands.h"

namespace chop::cli {

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Benchmarks that need no data");
  cmd->require_subcommand(1);
  auto* sampler = cmd->add_subcommand(
      "sampler", "Run a sampler on the standard 8-parameter space or a lookup table; prints one JSON line");
  auto a = std::make_shared<search::SamplerBenchOptions>();
  auto table = std::make_shared<std::string>();
  auto sampler_options = std::make_shared<std::string>();
  sampler->add_option("--sampler", a->sampler, "Sampler (see `chop list samplers`)")->capture_default_str();
  sampler->add_option("--sampler-options", *sampler_options,
                      "Sampler options as a JSON object, e.g. '{\"population_size\": 20}'");
  sampler->add_option("--trials", a->n_trials, "Number of trials")->capture_default_str()->check(CLI::PositiveNumber);
  sampler->add_option("--objectives", a->n_objectives, "1 or 2")->capture_default_str()->check(CLI::Range(1, 2));
  sampler->add_option("--seed", a->seed, "Sampler seed")->capture_default_str();
  sampler->add_option("--space", a->space, "synthetic8 (1 or 2 objectives) or zdt1 (2 objectives)")
      ->capture_default_str();
  sampler->add_option("--table", *table, "Lookup-table CSV to replay (last K columns: objectives)");
  auto directions = std::make_shared<std::string>();
  sampler->add_option("--directions", *directions,
                      "Direction of each objective, comma-separated, e.g. maximize,minimize for a table of "
                      "accuracy and size (default: minimize every objective)");
  auto dedup = std::make_shared<std::string>();
  sampler->add_option("--dedup", *dedup,
                      "true: distinct proposals, repeats reuse their result (default for --table, as chop "
                      "search); false: Optuna's behaviour (default for the synthetic spaces)")
      ->check(CLI::IsMember({"true", "false"}));
  sampler->callback([a, table, sampler_options, directions, dedup] {
    if (!table->empty()) a->table_path = *table;
    if (!dedup->empty()) a->dedup = *dedup == "true";
    std::stringstream list(*directions);
    for (std::string d; std::getline(list, d, ',');) {
      try {
        a->directions.push_back(search::parse_direction(d));
      } catch (const ConfigError& e) {
        throw ConfigError(fmt::format("--directions: {}", e.what()));
      }
    }
    if (!sampler_options->empty()) {
      try {
        a->sampler_options = nlohmann::json::parse(*sampler_options);
      } catch (const nlohmann::json::parse_error& e) {
        throw ConfigError(fmt::format("--sampler-options is not valid JSON: {}", e.what()));
      }
      CHOP_CHECK(a->sampler_options.is_object(), ConfigError, "--sampler-options must be a JSON object, but got {}",
                 *sampler_options);
    }
    std::cout << search::run_sampler_bench(*a).dump() << "\n";
  });
}

}  // namespace chop::cli
