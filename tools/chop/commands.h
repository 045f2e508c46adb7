// The chop CLI's subcommands: each file adds one to the app.
#pragma once

#include <CLI/CLI.hpp>

#include "chop/ir/graph.h"

namespace chop::cli {

void add_list_command(CLI::App& app);
void add_graph_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_test_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_transform_command(CLI::App& app);
void add_describe_pass_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_search_command(CLI::App& app);
/// Remembers argv so `chop search --n-workers` can start copies of this command.
void set_process_args(int argc, char** argv);
void add_report_command(CLI::App& app);
void add_export_command(CLI::App& app);

/// An --input-shape: "16", "1,28,28" or "1x28x28"; ConfigError for anything else.
ir::Shape parse_shape(const std::string& text);

}  // namespace chop::cli
