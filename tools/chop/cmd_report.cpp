// `chop report RESULTS_DIR [--out report.html]`: the offline HTML report of a search.
#include <iostream>
#include <memory>

#include "chop/report/html.h"
#include "commands.h"

namespace chop::cli {

void add_report_command(CLI::App& app) {
  struct ReportArgs {
    std::string results_dir;
    std::string out;
  };
  auto a = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand(
      "report", "Write a self-contained HTML report (interactive plots, best trials, resolved config) of a search");
  cmd->add_option("results_dir", a->results_dir,
                  "A search's results directory (<project>/software/search_ckpts) or its project directory")
      ->required();
  cmd->add_option("--out", a->out, "HTML file to write (default: RESULTS_DIR/report.html)");
  cmd->callback([a] {
    std::string path = report::write_report(a->results_dir, a->out);
    std::cout << "report: " << path << "\n";
  });
}

}  // namespace chop::cli
