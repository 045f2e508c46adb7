// The offline HTML report: vega JavaScript found and inlined, charts embedded, tables rendered.
#include "chop/report/html.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "chop/report/analysis.h"
#include "chop/report/plots.h"
#include "chop/support/error.h"
#include "chop/support/files.h"
#include "chop/support/strings.h"

#ifndef CHOP_NODE_MODULES_DIR
#define CHOP_NODE_MODULES_DIR ""
#endif

namespace fs = std::filesystem;

namespace chop::report {
namespace {

struct JsFile {
  const char* package;
  const char* file;
};
constexpr JsFile kJsFiles[] = {{"vega", "vega.min.js"}, {"vega-lite", "vega-lite.min.js"},
                               {"vega-embed", "vega-embed.min.js"}};

/// Where `file` of `package` is under dir (node_modules layout first, then flat), or "".
std::string find_js_file(const fs::path& dir, const JsFile& f) {
  for (const fs::path& p : {dir / f.package / "build" / f.file, dir / f.file})
    if (fs::is_regular_file(p)) return p.string();
  return "";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CHOP_CHECK(in.good(), DataError, "cannot read '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Makes text safe inside <script>: no "</script" (any case) ends the element early, and the
/// source-map comment is dropped so nothing tries to load a file.
std::string script_safe(std::string js) {
  auto pos = js.rfind("//# sourceMappingURL=");
  if (pos != std::string::npos) js.erase(pos);
  std::string out;
  out.reserve(js.size());
  for (size_t i = 0; i < js.size(); ++i) {
    if (js[i] == '<' && i + 1 < js.size() && js[i + 1] == '/') {
      std::string next = js.substr(i + 2, 6);
      std::transform(next.begin(), next.end(), next.begin(), [](unsigned char c) { return std::tolower(c); });
      if (next == "script") {
        out += "<\\/";
        ++i;
        continue;
      }
    }
    out += js[i];
  }
  return out;
}

std::string fmt_number(double v) { return fmt::format("{:.6g}", v); }

std::string cell(const nlohmann::json& v) {
  if (v.is_number_float()) return fmt_number(v.get<double>());
  return html_escape(param_label(v));
}

std::string metrics_cell(const NamedValues& values) {
  std::string out;
  for (const auto& [k, v] : values)
    out += fmt::format("<span class=\"kv\">{}: {}</span> ", html_escape(k), fmt_number(v));
  return out;
}

std::string state_summary(const StudyResults& study) {
  std::vector<std::string> parts;
  for (auto s : {TrialState::Complete, TrialState::Pruned, TrialState::Fail, TrialState::Running,
                 TrialState::Waiting}) {
    auto n = std::count_if(study.trials.begin(), study.trials.end(), [&](const TrialRecord& t) { return t.state == s; });
    if (n > 0) parts.push_back(fmt::format("{} {}", n, to_string(s)));
  }
  return fmt::format("{} trial(s): {}", study.trials.size(), parts.empty() ? "none" : join(parts));
}

std::string objectives_summary(const StudyResults& study) {
  std::vector<std::string> parts;
  for (const auto& o : study.objectives) parts.push_back(o.name + (o.maximize ? " (maximize)" : " (minimize)"));
  return join(parts);
}

const char* const kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px 32px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin: 28px 0 2px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
p.note, p.meta { color: #666; font-size: 13px; margin: 2px 0 8px; }
#chop-status { font-size: 12px; color: #888; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
span.kv { white-space: nowrap; margin-right: 6px; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: 10px; font-size: 12px; overflow: auto; max-height: 480px; }
)";

/// Embeds every chart, then reports on #chop-status how many rendered and with how many marks.
const char* const kEmbedScript = R"(
(function () {
  var errors = [];
  var status = document.getElementById('chop-status');
  window.addEventListener('error', function (e) { errors.push(String(e.message)); });
  var origError = console.error;
  console.error = function () { errors.push(Array.prototype.join.call(arguments, ' ')); origError.apply(console, arguments); };
  function countMarks(node) {
    var n = 0;
    if (!node || !node.items) return 0;
    if (node.marktype && node.marktype !== 'group' && node.role === 'mark') n += node.items.length;
    node.items.forEach(function (it) { n += countMarks(it); });
    return n;
  }
  var charts = JSON.parse(document.getElementById('chop-specs').textContent);
  Promise.all(charts.map(function (c) {
    return vegaEmbed('#' + c.id, c.spec, {actions: false, renderer: 'canvas'}).then(function (r) {
      var marks = countMarks(r.view.scenegraph().root);
      document.getElementById(c.id).setAttribute('data-marks', marks);
      return marks;
    });
  })).then(function (marks) {
    var total = marks.reduce(function (a, b) { return a + b; }, 0);
    var empty = marks.filter(function (m) { return m === 0; }).length;
    status.textContent = 'rendered ' + marks.length + ' of ' + charts.length + ' charts, ' + total +
        ' marks, ' + empty + ' empty, ' + errors.length + ' errors' +
        (errors.length ? ': ' + errors.join(' | ') : '');
  }).catch(function (e) {
    status.textContent = 'error: ' + e;
    console.error(e);
  });
})();
)";

}  // namespace

std::vector<std::string> js_search_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("CHOP_JS_DIR"); env && *env) dirs.push_back(env);
  if (std::string built = CHOP_NODE_MODULES_DIR; !built.empty()) dirs.push_back(built);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back((exe.parent_path() / "node_modules").string());
    dirs.push_back(exe.parent_path().string());
  }
  return dirs;
}

JsBundle load_js_bundle() {
  const auto dirs = js_search_dirs();
  for (const auto& dir : dirs) {
    std::vector<std::string> paths;
    for (const auto& f : kJsFiles) paths.push_back(find_js_file(dir, f));
    if (std::any_of(paths.begin(), paths.end(), [](const std::string& p) { return p.empty(); })) continue;
    return {read_text(paths[0]), read_text(paths[1]), read_text(paths[2]), dir};
  }
  throw DataError(fmt::format(
      "the report's JavaScript (vega.min.js, vega-lite.min.js, vega-embed.min.js) was not found in: {}; "
      "run scripts/setup (npm ci) or set CHOP_JS_DIR to a node_modules directory",
      join(dirs)));
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string best_trials_table_html(const StudyResults& study) {
  std::vector<int64_t> numbers = study.best_numbers.empty() ? pareto_front(study) : study.best_numbers;
  const auto keys = study.param_keys();
  std::string h = "<table class=\"best\">\n<tr><th>trial</th>";
  for (const auto& o : study.objectives) h += "<th>" + html_escape(o.name) + "</th>";
  for (const auto& k : keys) h += "<th>" + html_escape(k) + "</th>";
  h += "<th>software metrics</th><th>hardware metrics</th></tr>\n";
  for (int64_t n : numbers) {
    const TrialRecord* t = study.trial(n);
    if (!t) continue;
    h += fmt::format("<tr><td>{}</td>", t->number);
    for (size_t k = 0; k < study.objectives.size(); ++k)
      h += "<td>" + (k < t->values.size() ? fmt_number(t->values[k]) : std::string()) + "</td>";
    for (const auto& key : keys) h += "<td>" + (t->param(key) ? cell(*t->param(key)) : std::string()) + "</td>";
    h += "<td>" + metrics_cell(t->software_metrics) + "</td><td>" + metrics_cell(t->hardware_metrics) + "</td></tr>\n";
  }
  if (numbers.empty()) h += "<tr><td colspan=\"99\">no complete trial</td></tr>\n";
  return h + "</table>\n";
}

std::string render_html(const StudyResults& study, const JsBundle& js) {
  const auto charts = report_charts(study);
  nlohmann::json embedded = nlohmann::json::array();
  for (const auto& c : charts) embedded.push_back({{"id", c.id}, {"spec", c.spec}});
  std::string title = "chop report: " + study.name;
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>" + html_escape(title) + "</title>\n<style>" + kStyle + "</style>\n";
  h += "<script>" + script_safe(js.vega) + "</script>\n";
  h += "<script>" + script_safe(js.vega_lite) + "</script>\n";
  h += "<script>" + script_safe(js.vega_embed) + "</script>\n";
  h += "</head>\n<body>\n";
  h += "<h1>" + html_escape(title) + "</h1>\n";
  h += "<p class=\"meta\">" + html_escape(fmt::format("results: {} · {} · objectives: {}", study.source,
                                                      state_summary(study), objectives_summary(study))) +
       "</p>\n";
  h += "<div id=\"chop-status\">rendering…</div>\n";
  h += "<h2>Best trials</h2>\n<p class=\"note\">" +
       std::string(study.is_multi_objective() ? "the Pareto front" : "the best trial") + "</p>\n";
  h += best_trials_table_html(study);
  for (const auto& c : charts) {
    h += "<h2>" + html_escape(c.title) + "</h2>\n<p class=\"note\">" + html_escape(c.note) + "</p>\n";
    h += "<div class=\"chart\" id=\"" + c.id + "\"></div>\n";
  }
  h += "<h2>Resolved config</h2>\n<pre>" + html_escape(study.resolved_config.dump(2)) + "</pre>\n";
  // Specs as JSON data, never as script: "</" escaped so no data ends the element.
  std::string specs = embedded.dump();
  std::string safe;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i] == '<' && i + 1 < specs.size() && specs[i + 1] == '/') safe += "<\\";
    else safe += specs[i];
  }
  h += "<script type=\"application/json\" id=\"chop-specs\">" + safe + "</script>\n";
  h += std::string("<script>") + kEmbedScript + "</script>\n</body>\n</html>\n";
  return h;
}

void write_report(const StudyResults& study, const std::string& out_path) {
  write_file_atomically(out_path, render_html(study, load_js_bundle()));
}

std::string write_report(const std::string& results_dir, const std::string& out_path) {
  StudyResults study = load_results_dir(results_dir);
  std::string out = out_path.empty() ? (fs::path(study.source) / "report.html").string() : out_path;
  write_report(study, out);
  return out;
}

}  // namespace chop::report
