// The HTML report opened in headless Chromium with the network disabled: every chart must render
// with data (the page's script writes, per chart, its status, the values drawn and the pixels in
// series colours into the DOM, which --dump-dom hands back). Planted faults that must be caught:
// a series without data, the chart library missing. And the real thing: a smoke soak on llvmpipe.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cli_in_process.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/report.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "report_fixture.hpp"
#include "temp_store.hpp"

namespace gpusoak::harness {
namespace {

using test::cli;

namespace fs = std::filesystem;

// What the browser made of one <figure class="chart">.
struct rendered_chart {
  std::string id, status, empty_series;
  long points = -1, ink = -1;
};
struct rendered_page {
  std::string body_state;
  std::vector<rendered_chart> charts;
  std::string dom;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::map<std::string, std::string> attributes(const std::string& tag) {
  std::map<std::string, std::string> out;
  static const std::regex attr(R"(([a-z-]+)="([^"]*)\")");
  for (auto it = std::sregex_iterator(tag.begin(), tag.end(), attr); it != std::sregex_iterator(); ++it) {
    out[(*it)[1]] = (*it)[2];
  }
  return out;
}

// Loads the page in headless Chromium with no network (every host unresolvable, a dead proxy) and
// returns what the page's script reported.
rendered_page render(const fs::path& html, const fs::path& work) {
  const fs::path dom_file = work / "dom.html", log = work / "chromium.log";
  const std::string command =
      // timeout: a browser that hangs fails the test instead of stalling the suite.
      "timeout 120 " + std::string(GPUSOAK_CHROMIUM) +
      " --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check --disable-extensions"
      " --disable-background-networking --disable-sync --proxy-server=127.0.0.1:9"
      " --host-resolver-rules='MAP * ~NOTFOUND' --user-data-dir='" +
      (work / "profile").string() +
      "'"
      " --window-size=1280,2000 --virtual-time-budget=10000 --dump-dom 'file://" +
      html.string() + "' > '" + dom_file.string() + "' 2> '" + log.string() + "'";
  const int rc = std::system(command.c_str());
  rendered_page page;
  page.dom = read_file(dom_file);
  EXPECT_EQ(rc, 0) << command << "\n" << read_file(log);
  std::smatch m;
  if (std::regex_search(page.dom, m, std::regex(R"(<body[^>]*>)")))
    page.body_state = attributes(m.str())["data-report"];
  static const std::regex figure(R"(<figure [^>]*class="chart[^>]*>)");
  for (auto it = std::sregex_iterator(page.dom.begin(), page.dom.end(), figure); it != std::sregex_iterator(); ++it) {
    auto a = attributes(it->str());
    rendered_chart c{.id = a["data-chart"], .status = a["data-status"], .empty_series = a["data-empty-series"]};
    if (a.contains("data-points")) c.points = std::stol(a["data-points"]);
    if (a.contains("data-ink")) c.ink = std::stol(a["data-ink"]);
    page.charts.push_back(c);
  }
  return page;
}

// Everything wrong with a rendered page, one line each; empty when every chart drew all its data.
std::vector<std::string> problems(const rendered_page& page, const run_report& report) {
  std::vector<std::string> out;
  if (page.body_state != "ready") out.push_back("page: data-report='" + page.body_state + "', not ready");
  if (page.charts.size() != report.charts.size()) {
    out.push_back("page: " + std::to_string(page.charts.size()) + " charts, the report has " +
                  std::to_string(report.charts.size()));
    return out;
  }
  for (std::size_t i = 0; i < page.charts.size(); ++i) {
    const auto& c = page.charts[i];
    const auto& expected = report.charts[i];
    if (c.status != "drawn") out.push_back(c.id + ": status " + c.status);
    if (!c.empty_series.empty()) out.push_back(c.id + ": series without data: " + c.empty_series);
    if (c.points != static_cast<long>(expected.points()) || c.points == 0) {
      out.push_back(c.id + ": " + std::to_string(c.points) + " values drawn, the run has " +
                    std::to_string(expected.points()));
    }
    // A line across the plot colours hundreds of pixels; a lone point (a one-sample series) ~20.
    if (c.ink < 10) out.push_back(c.id + ": " + std::to_string(c.ink) + " pixels in series colours");
  }
  return out;
}

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

class ReportBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(GPUSOAK_CHROMIUM)) << "headless Chromium not found (Debian package 'chromium', "
                                                 "scripts/install-deps): "
                                              << GPUSOAK_CHROMIUM;
  }

  std::string db_path() const { return store_.db_path(); }

  run_report load(const std::string& id) {
    auto r = load_report(*store_, id);
    if (!r) throw std::runtime_error(r.error().message);
    return std::move(*r);
  }

  // Writes the page (with `edit` applied) and renders it.
  rendered_page render_page(const run_report& report, const std::function<void(std::string&)>& edit = {}) {
    std::string html = report_html(report);
    if (edit) edit(html);
    const fs::path file = store_.dir() / "report.html";
    std::ofstream(file, std::ios::binary) << html;
    return render(file, store_.dir().path());
  }

  test::temp_store store_{"gpusoak-report-browser"};
};

// checks that every chart of a stored run renders offline with exactly the run's values
TEST_F(ReportBrowserTest, EveryChartRendersWithData) {
  const auto run = test::make_synthetic_run(*store_);
  const auto report = load(run.id);
  const auto page = render_page(report);
  EXPECT_TRUE(problems(page, report).empty()) << join(problems(page, report));
  EXPECT_NE(page.dom.find("errors_total == 0"), std::string::npos) << "gate table in the page";
  EXPECT_NE(page.dom.find("pattern mismatch at byte 4096 &lt;b&gt;"), std::string::npos) << "escaped error event";
}

// checks that a line with one value among many gaps (a scenario sampled once in a long run) is
// still visible: uPlot hides point markers on dense axes, and a single value makes no line
TEST_F(ReportBrowserTest, LoneValueIsDrawn) {
  const auto run = test::make_synthetic_run(*store_);
  auto report = load(run.id);
  for (auto& c : report.charts) {
    if (c.id != "copies_all") continue;
    c.series.resize(1);
    for (std::size_t i = 0; i < c.x.size(); ++i) {
      if (i != c.x.size() / 2) c.series[0].y[i].reset();
    }
    ASSERT_EQ(c.points(), 1u);
  }
  const auto page = render_page(report);
  EXPECT_TRUE(problems(page, report).empty()) << join(problems(page, report));
}

// checks that the page needs nothing from outside: no external src/href, and a policy that forbids it
TEST_F(ReportBrowserTest, PageIsSelfContained) {
  const auto run = test::make_synthetic_run(*store_);
  const std::string html = report_html(load(run.id));
  EXPECT_FALSE(std::regex_search(html, std::regex(R"((src|href)\s*=\s*["']?(https?:|//))", std::regex::icase)));
  EXPECT_NE(html.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(html.find("<script id=\"uplot-js\">"), std::string::npos);
}

// checks that a series with no samples (no hot-path copy figures stored) is caught and visibly
// marked, and that a chart with no data at all shows "no data"
TEST_F(ReportBrowserTest, EmptySeriesIsCaught) {
  const auto run = test::make_synthetic_run(*store_, {.hot_copies_key = false});
  const auto report = load(run.id);
  const auto page = render_page(report);
  const auto found = problems(page, report);
  ASSERT_FALSE(found.empty()) << "the checker must fail a page with an empty chart";
  EXPECT_NE(join(found).find("copies_hot: status no-data"), std::string::npos) << join(found);
  for (const auto& line : found) EXPECT_EQ(line.rfind("copies_hot: ", 0), 0u) << line;  // only that chart
  EXPECT_NE(page.dom.find("no data: the run stored no samples for this chart"), std::string::npos);

  // One empty series beside others with data: drawn, but the legend and the checker say so.
  auto partial = report;
  for (auto& c : partial.charts) {
    if (c.id == "copies_all") c.series[0].y.assign(c.x.size(), std::nullopt);
  }
  const auto partial_page = render_page(partial);
  const auto partial_found = problems(partial_page, partial);
  EXPECT_NE(join(partial_found).find("copies_all: series without data: conv2d_steady"), std::string::npos)
      << join(partial_found);
  EXPECT_NE(partial_page.dom.find("conv2d_steady (no data)"), std::string::npos);
}

// checks that a page whose chart library is missing fails the check on every chart, visibly
TEST_F(ReportBrowserTest, MissingChartLibraryIsCaught) {
  const auto run = test::make_synthetic_run(*store_);
  const auto report = load(run.id);
  const auto page = render_page(report, [](std::string& html) {
    const auto begin = html.find("<script id=\"uplot-js\">");
    const auto end = html.find("</script>", begin);
    ASSERT_NE(begin, std::string::npos);
    html.erase(begin, end + 9 - begin);
  });
  const auto found = problems(page, report);
  for (const auto& c : report.charts) {
    EXPECT_NE(join(found).find(c.id + ": status failed"), std::string::npos) << join(found);
  }
  EXPECT_NE(page.dom.find("the uPlot library is missing"), std::string::npos);
}

// checks the real thing: the smoke plan on llvmpipe (shrunk to 6 s), reported with --html, renders
// every chart with data
TEST_F(ReportBrowserTest, SmokeRunRendersEveryChart) {
  std::string out, err;
  ASSERT_EQ(cli({"soak", "smoke", "--time-scale", "0.05", "--db", db_path()}, &out, &err), 0) << out << err;
  auto runs = store_->list_runs(1);
  ASSERT_TRUE(runs.has_value() && runs->size() == 1);
  const std::string id = runs->front().id;
  const fs::path html = store_.dir() / "smoke.html";
  ASSERT_EQ(cli({"report", id, "--db", db_path(), "--html", html.string()}, &out, &err), 0) << err;
  const auto report = load(id);
  EXPECT_EQ(report.charts.size(), 11u) << "2 memory, 6 latency (one per scenario), 2 copies, 1 failures";
  const auto page = render(html, store_.dir().path());
  EXPECT_TRUE(problems(page, report).empty()) << join(problems(page, report));
}

}  // namespace
}  // namespace gpusoak::harness
