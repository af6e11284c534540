// `gpusoak bench upload`: the upload benchmark (bench/), driven from flags.
#include <charconv>
#include <ostream>

#include "gpusoak/bench/upload_bench.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/context_flags.hpp"
#include "gpusoak/harness/units.hpp"

namespace gpusoak::harness {
namespace {

gpu::result<int> parse_count(const cli_args& args, std::string_view name, int fallback, int minimum) {
  auto text = args.value(name);
  if (!text) return fallback;
  int value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || value < minimum) {
    return gpu::make_error(gpu::error_kind::validation, "--" + std::string(name) + " '" + *text +
                                                            "': use a whole number >= " + std::to_string(minimum));
  }
  return value;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = std::min(text.find(',', start), text.size());
    out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

int upload(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  auto specs = context_flag_specs();
  specs.push_back({"sizes", "LIST", "bytes per upload, e.g. 256,4KiB,1MiB (default 256 B .. 64 MiB, x4)"});
  specs.push_back({"paths", "LIST", "strategies and/or map_write_unmap (default: all)"});
  specs.push_back({"trials", "N", "trials per cell (default 15; at most 5 from 16 MiB)"});
  specs.push_back({"depth", "N", "ring segments for the pipelined mode (default 3)"});
  specs.push_back({"json", "FILE", "also write the results as JSON"});
  auto parsed = cli_args::parse(args, specs);
  if (!parsed) {
    err << "gpusoak bench upload: " << parsed.error().message << "\n";
    return exit_could_not_run;
  }
  if (parsed->help()) {
    out << usage_text("bench upload",
                      "Upload benchmark: CPU-side API time and end-to-end time (upload, a shader reading every byte,\n"
                      "fence), synchronous and pipelined, per strategy and for map/write/unmap; median and p99.",
                      specs);
    return exit_pass;
  }
  bench::upload_bench_options options;
  auto context = context_options_from(*parsed);
  auto trials = parse_count(*parsed, "trials", options.trials, 1);
  auto depth = parse_count(*parsed, "depth", options.pipeline_depth, 2);
  for (const auto* failed :
       {context ? nullptr : &context.error(), trials ? nullptr : &trials.error(), depth ? nullptr : &depth.error()}) {
    if (failed != nullptr) {
      err << "gpusoak bench upload: " << failed->message << "\n";
      return exit_could_not_run;
    }
  }
  options.context = *context;
  options.context.debug_output = false;
  options.trials = *trials;
  options.pipeline_depth = *depth;
  if (auto sizes = parsed->value("sizes")) {
    auto list = parse_byte_list(*sizes);
    if (!list) {
      err << "gpusoak bench upload: --sizes: " << list.error().message << "\n";
      return exit_could_not_run;
    }
    options.sizes = *list;
  }
  if (auto paths = parsed->value("paths")) options.paths = split(*paths);
  options.json_path = parsed->value("json").value_or("");
  return bench::run_upload_bench(options, out, err);
}

}  // namespace

int bench_command(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << "Usage: gpusoak bench <benchmark> [flags]\n\nBenchmarks:\n"
                                  "  upload    upload paths per strategy: API and end-to-end time (--help for flags)\n";
    return args.empty() ? exit_could_not_run : exit_pass;
  }
  if (args[0] == "upload") return upload(args.subspan(1), out, err);
  err << "gpusoak bench: unknown benchmark '" << args[0] << "'; available: upload\n";
  return exit_could_not_run;
}

}  // namespace gpusoak::harness
