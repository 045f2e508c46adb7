// chop: the command-line entry point; turns every error into one line and a non-zero exit.
#include <c10/util/Exception.h>

#include <iostream>

#include "chop/runtime/module.h"
#include "chop/support/error.h"
#include "commands.h"

#ifndef CHOP_VERSION
#define CHOP_VERSION "0.0.0"
#endif

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

int main(int argc, char** argv) {
  chop::runtime::keep_freed_memory();
  CLI::App app{"chop: hardware-aware neural architecture and quantization search (MASE's chop "
               "flow in C++)"};
  app.set_version_flag("--version", std::string("chop ") + CHOP_VERSION);
  app.require_subcommand(1);
  chop::cli::add_list_command(app);
  chop::cli::add_graph_command(app);
  chop::cli::add_train_command(app);
  chop::cli::add_test_command(app);
  chop::cli::add_data_command(app);
  chop::cli::add_transform_command(app);
  chop::cli::add_describe_pass_command(app);
  chop::cli::add_search_command(app);
  chop::cli::add_bench_command(app);
  chop::cli::add_report_command(app);
  chop::cli::add_export_command(app);
  chop::cli::set_process_args(argc, argv);
  try {
    app.parse(argc, argv);
    return 0;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const chop::Error& e) {
    std::cerr << "chop: error: " << e.what() << "\n";
    return 1;
  } catch (const chop::InternalError& e) {
    std::cerr << "chop: " << e.what() << "\n";
    return 70;
  } catch (const c10::Error& e) {
    std::cerr << "chop: error from LibTorch: " << first_line(e.what_without_backtrace()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "chop: error: " << first_line(e.what()) << "\n";
    return 1;
  }
}
