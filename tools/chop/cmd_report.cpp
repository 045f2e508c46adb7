// `chop report RESULTS_DIR [--out report.html]`: the offline HTML report of a search.
#include <iostream>
#include <memory>

#include "chop/report/html.h"
#include "chop/results/study_results.h"
#include "chop/support/error.h"
#include "commands.h"

namespace chop::cli {

void add_report_command(CLI::App& app) {
  struct ReportArgs {
    std::string results_dir;
    std::string out;
    std::string storage, study_name;
  };
  auto a = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand(
      "report", "Write a self-contained HTML report (interactive plots, best trials, resolved config) of a search");
  cmd->add_option("results_dir", a->results_dir,
                  "A search's results directory (<project>/software/search_ckpts) or its project directory");
  cmd->add_option("--out", a->out, "HTML file to write (default: RESULTS_DIR/report.html)");
  cmd->add_option("--storage", a->storage, "Read the study from this storage (sqlite:///f.db, postgresql://...)");
  cmd->add_option("--study-name", a->study_name, "Study to read from --storage");
  cmd->callback([a] {
    CHOP_CHECK(a->results_dir.empty() != a->storage.empty(), ConfigError,
               "chop report takes RESULTS_DIR or --storage URL --study-name NAME (one of them)");
    std::string path;
    if (!a->storage.empty()) {
      CHOP_CHECK(!a->study_name.empty(), ConfigError, "--storage needs --study-name");
      path = a->out.empty() ? a->study_name + "_report.html" : a->out;
      report::write_report(results::load_study(a->storage, a->study_name), path);
    } else {
      path = report::write_report(a->results_dir, a->out);
    }
    std::cout << "report: " << path << "\n";
  });
}

}  // namespace chop::cli
