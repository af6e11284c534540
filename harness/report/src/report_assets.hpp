// What a report page inlines, embedded at build time (cmake/embed_text.cmake): uPlot as fetched by
// npm from harness/report/web/package-lock.json, and the page's own script and style from harness/report/web/.
#pragma once

#include <string_view>

namespace gpusoak::harness::detail {

extern const std::string_view uPlot_iife_min_js;
extern const std::string_view uPlot_min_css;
extern const std::string_view report_js;
extern const std::string_view report_css;

}  // namespace gpusoak::harness::detail
