// The HTML page: inlined JavaScript (no network), tables, embedded specs, JS look-up, write_report.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "chop/report/html.h"
#include "chop/report/plots.h"
#include "chop/support/error.h"
#include "unit/report/fixture.h"

using namespace chop;
using namespace chop::report;
using namespace chop::report::testing;
namespace fs = std::filesystem;

namespace {

JsBundle fake_js() { return {"/*VEGA*/ var s = '</script>';", "/*VEGALITE*/", "/*EMBED*/\n//# sourceMappingURL=x.map", "fake"}; }

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A flat directory holding three fake builds, for CHOP_JS_DIR.
std::string fake_js_dir() {
  auto dir = fs::temp_directory_path() / "chop_report_test_js";
  fs::create_directories(dir);
  for (const char* f : {"vega.min.js", "vega-lite.min.js", "vega-embed.min.js"})
    std::ofstream(dir / f) << "/*" << f << "*/";
  return dir.string();
}

}  // namespace

TEST(Html, SelfContainedPage) {
  auto html = render_html(fixture_study(), fake_js());
  EXPECT_NE(html.find("/*VEGA*/ var s = '<\\/script>';"), std::string::npos);
  EXPECT_NE(html.find("/*VEGALITE*/"), std::string::npos);
  EXPECT_NE(html.find("/*EMBED*/"), std::string::npos);
  EXPECT_EQ(html.find("sourceMappingURL"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("cdn"), std::string::npos);
  EXPECT_NE(html.find("<div id=\"chop-status\">"), std::string::npos);
  for (const auto& c : report_charts(fixture_study()))
    EXPECT_NE(html.find("id=\"" + c.id + "\""), std::string::npos) << c.id;
  EXPECT_NE(html.find("<h2>Resolved config</h2>"), std::string::npos);
  EXPECT_NE(html.find("&quot;graph/redefine_linear&quot;"), std::string::npos);
  EXPECT_NE(html.find("7 trial(s): 5 COMPLETE, 1 PRUNED, 1 FAIL"), std::string::npos);
}

TEST(Html, SpecsAreEmbeddedAsJson) {
  auto html = render_html(fixture_study(), fake_js());
  const std::string open = "<script type=\"application/json\" id=\"chop-specs\">";
  auto begin = html.find(open);
  ASSERT_NE(begin, std::string::npos);
  begin += open.size();
  auto end = html.find("</script>", begin);
  auto specs = nlohmann::json::parse(html.substr(begin, end - begin));
  ASSERT_EQ(specs.size(), report_charts(fixture_study()).size());
  EXPECT_EQ(specs[0]["id"], "chart-history");
  EXPECT_EQ(specs[0]["spec"], history_spec(fixture_study()));
}

TEST(Html, BestTrialsTable) {
  auto table = best_trials_table_html(fixture_study());
  auto count = [&](const std::string& s) {
    size_t n = 0;
    for (auto p = table.find(s); p != std::string::npos; p = table.find(s, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<tr>"), 1u + 3u);  // header + trials 0, 1, 6
  EXPECT_NE(table.find("<tr><td>6</td><td>0.75</td><td>8</td><td>4</td><td>minifloat</td>"), std::string::npos)
      << table;
  EXPECT_NE(table.find("bops: 8e+06"), std::string::npos);
}

TEST(Html, EscapesText) { EXPECT_EQ(html_escape("a<b>&\"c\""), "a&lt;b&gt;&amp;&quot;c&quot;"); }

TEST(Html, JsDirFromEnvironmentFirst) {
  auto dir = fake_js_dir();
  setenv("CHOP_JS_DIR", dir.c_str(), 1);
  EXPECT_EQ(js_search_dirs().front(), dir);
  auto js = load_js_bundle();
  EXPECT_EQ(js.dir, dir);
  EXPECT_EQ(js.vega_lite, "/*vega-lite.min.js*/");
  unsetenv("CHOP_JS_DIR");
}

TEST(Html, WriteReportDefaultsIntoTheResultsDir) {
  auto dir = write_fixture_dir("write");
  setenv("CHOP_JS_DIR", fake_js_dir().c_str(), 1);
  auto path = write_report(dir);
  unsetenv("CHOP_JS_DIR");
  EXPECT_EQ(path, (fs::path(dir) / "report.html").string());
  auto html = read(path);
  EXPECT_NE(html.find("<title>chop report: fixture</title>"), std::string::npos);
  EXPECT_NE(html.find("/*vega-embed.min.js*/"), std::string::npos);
}

TEST(Html, WriteReportOfMissingResultsNamesTheFile) {
  auto dir = fs::path(write_fixture_dir("write_missing"));
  fs::remove(dir / "log.json");
  try {
    write_report(dir.string(), (dir / "r.html").string());
    FAIL() << "no DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("log.json' is missing"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "r.html"));
}
