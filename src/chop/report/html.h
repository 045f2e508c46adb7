// The self-contained, offline HTML report: charts, tables, inlined vega JavaScript.
#pragma once

#include <string>
#include <vector>

#include "chop/results/study_results.h"

namespace chop::report {

using namespace chop::results;  // the report shows the search's own result types

/// The minified vega, vega-lite and vega-embed builds inlined into every report.
struct JsBundle {
  std::string vega;
  std::string vega_lite;
  std::string vega_embed;
  std::string dir;  ///< where they were found
};

/// Directories searched for the JavaScript, in order: $CHOP_JS_DIR, the source tree's
/// node_modules (compile definition), node_modules next to the executable, the executable's dir.
/// Each may hold node_modules layout (vega/build/vega.min.js, ...) or the three files flat.
std::vector<std::string> js_search_dirs();

/// Reads the three builds from the first directory of js_search_dirs() that has all of them.
/// Throws DataError listing the places looked in and saying to run scripts/setup.
JsBundle load_js_bundle();

/// Text with &, <, >, " escaped for HTML.
std::string html_escape(const std::string& text);

/// The best trials (StudyResults::best_numbers, or the computed front when empty) as an HTML
/// table: number, objective values, params, software and hardware metrics.
std::string best_trials_table_html(const StudyResults& study);

/// The whole page. Every chart's spec is embedded with vegaEmbed; a script fills
/// <div id="chop-status"> with "rendered N of M charts, K marks, E errors" once all have
/// rendered (or "error: ..."), which the browser test reads.
std::string render_html(const StudyResults& study, const JsBundle& js);

/// Loads `results_dir` (see load_results_dir), writes the report to `out_path` (empty:
/// <results dir>/report.html) and returns the path written. Throws DataError for missing or
/// corrupt results and for missing JavaScript.
std::string write_report(const std::string& results_dir, const std::string& out_path = "");
/// Writes the report of results already in memory (a search's, or a study read from storage).
void write_report(const StudyResults& study, const std::string& out_path);

}  // namespace chop::report
