// The chop CLI's subcommands: each file adds one to the app.
#pragma once

#include <CLI/CLI.hpp>

namespace chop::cli {

void add_list_command(CLI::App& app);
void add_graph_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_test_command(CLI::App& app);
void add_data_command(CLI::App& app);

}  // namespace chop::cli
