// `gpusoak bench upload`: the upload benchmark (bench/), driven from flags.
#include <charconv>
#include <ostream>

#include "gpusoak/bench/conv2d_bench.hpp"
#include "gpusoak/bench/upload_bench.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/context_flags.hpp"
#include "gpusoak/scenarios/units.hpp"

namespace gpusoak::harness {
namespace {

result<int> parse_count(const cli_args& args, std::string_view name, int fallback, int minimum) {
  auto text = args.value(name);
  if (!text) return fallback;
  int value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || value < minimum) {
    return make_error(error_kind::validation,
                      "--" + std::string(name) + " '" + *text + "': use a whole number >= " + std::to_string(minimum));
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
  specs.push_back({"producer-threads", "N", "threads writing each upload of 4 MiB or more (default 1)"});
  specs.push_back({"json", "FILE", "also write the results as JSON"});
  auto parsed = parse_command_line(
      {.usage = "bench upload",
       .summary = "Upload benchmark: CPU-side API time and end-to-end time (upload, a shader reading every byte,\n"
                  "fence), synchronous and pipelined, per strategy and for map/write/unmap; median and p99.",
       .flags = specs},
      args, out, err);
  if (!parsed) return parsed.error();
  bench::upload_bench_options options;
  auto context = context_options_from(*parsed);
  auto trials = parse_count(*parsed, "trials", options.trials, 1);
  auto depth = parse_count(*parsed, "depth", options.pipeline_depth, 2);
  auto producers = parse_count(*parsed, "producer-threads", options.producer_threads, 1);
  for (const auto* failed : {context ? nullptr : &context.error(), trials ? nullptr : &trials.error(),
                             depth ? nullptr : &depth.error(), producers ? nullptr : &producers.error()}) {
    if (failed != nullptr) {
      err << "gpusoak bench upload: " << failed->message << "\n";
      return exit_could_not_run;
    }
  }
  options.context = *context;
  options.context.debug_output = false;
  options.trials = *trials;
  options.pipeline_depth = *depth;
  options.producer_threads = *producers;
  if (auto sizes = parsed->value("sizes")) {
    auto list = scenarios::parse_byte_list(*sizes);
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

// Splits on ';' (shapes contain spaces and commas): "N1 C3 32x32 K16 3x3;N1 C256 14x14 K256 1x1".
// Parts of only blanks are no shape and are dropped.
std::vector<std::string> split_shapes(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto semicolon = std::min(text.find(';', start), text.size());
    const std::string part = text.substr(start, semicolon - start);
    if (part.find_first_not_of(" \t,") != std::string::npos) out.push_back(part);
    start = semicolon + 1;
  }
  return out;
}

int conv2d(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  auto specs = context_flag_specs();
  specs.push_back({"shape", "LIST",
                   "shapes separated by ';', e.g. 'N1 C3 32x32 K16 3x3 p1;N1 C8 9x9 K8 5x5 s2 g4 bias' (default: 7)"});
  specs.push_back({"path", "LIST", "zero-copy, staging or both (default: zero-copy,staging)"});
  specs.push_back({"mode", "LIST", "sync, pipelined or both (default: sync,pipelined)"});
  specs.push_back({"kernel", "NAME",
                   "auto (default: the dispatcher's pick per shape and path), direct, tiled, gemm, gemm_wide or "
                   "winograd (3x3 stride 1 only)"});
  specs.push_back({"iterations", "N", "timed batches per cell (default 5)"});
  specs.push_back({"warmup", "N", "untimed batches per cell first (default 1)"});
  specs.push_back({"depth", "N", "slots in pipelined mode (default 3)"});
  specs.push_back({"producer-threads", "N", "threads writing each input of 4 MiB or more (default 1)"});
  specs.push_back({"cell-seconds", "N", "stop adding batches to a cell past N seconds, >= 1 batch (default 10)"});
  specs.push_back({"json", "FILE", "also write the results as JSON"});
  auto parsed = parse_command_line(
      {.usage = "bench conv2d",
       .summary = "conv2d benchmark: the same kernels on the zero-copy and the staging path, synchronous and\n"
                  "pipelined; end-to-end latency (input written .. output readable) median and p99, GFLOP/s,\n"
                  "copies per batch.",
       .flags = specs},
      args, out, err);
  if (!parsed) return parsed.error();
  bench::conv2d_bench_options options;
  auto context = context_options_from(*parsed);
  auto iterations = parse_count(*parsed, "iterations", options.iterations, 1);
  auto warmup = parse_count(*parsed, "warmup", options.warmup, 0);
  auto depth = parse_count(*parsed, "depth", options.pipeline_depth, 2);
  auto cell_seconds = parse_count(*parsed, "cell-seconds", static_cast<int>(options.cell_seconds), 1);
  auto producers = parse_count(*parsed, "producer-threads", options.producer_threads, 1);
  for (const auto* failed :
       {context ? nullptr : &context.error(), iterations ? nullptr : &iterations.error(),
        warmup ? nullptr : &warmup.error(), depth ? nullptr : &depth.error(),
        cell_seconds ? nullptr : &cell_seconds.error(), producers ? nullptr : &producers.error()}) {
    if (failed != nullptr) {
      err << "gpusoak bench conv2d: " << failed->message << "\n";
      return exit_could_not_run;
    }
  }
  options.context = *context;
  options.context.debug_output = false;
  options.iterations = *iterations;
  options.warmup = *warmup;
  options.pipeline_depth = *depth;
  options.cell_seconds = *cell_seconds;
  options.producer_threads = *producers;
  if (auto shapes = parsed->value("shape")) {
    options.shapes = split_shapes(*shapes);
    // An empty list would mean the default shapes to the bench: a --shape that names none is a mistake.
    if (options.shapes.empty()) {
      err << "gpusoak bench conv2d: --shape '" << *shapes
          << "': no shape given; name one or more separated by ';', e.g. 'N1 C3 32x32 K16 3x3 p1', or leave the "
             "flag out for the default shapes\n";
      return exit_could_not_run;
    }
  }
  for (const std::string& name : split(parsed->value("path").value_or(""))) {
    if (name.empty()) continue;
    auto path = kernels::parse_conv2d_path(name);
    if (!path) {
      err << "gpusoak bench conv2d: --path: " << path.error().message << "\n";
      return exit_could_not_run;
    }
    options.paths.push_back(*path);
  }
  for (const std::string& name : split(parsed->value("mode").value_or(""))) {
    if (name.empty()) continue;
    auto mode = bench::parse_conv2d_mode(name);
    if (!mode) {
      err << "gpusoak bench conv2d: --mode: " << mode.error().message << "\n";
      return exit_could_not_run;
    }
    options.modes.push_back(*mode);
  }
  if (auto name = parsed->value("kernel")) {
    auto kernel = kernels::parse_conv2d_kernel(*name);
    if (!kernel) {
      err << "gpusoak bench conv2d: --kernel: " << kernel.error().message << "\n";
      return exit_could_not_run;
    }
    options.kernel = *kernel;
  }
  options.json_path = parsed->value("json").value_or("");
  return bench::run_conv2d_bench(options, out, err);
}

}  // namespace

int bench_command(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out)
        << "Usage: gpusoak bench <benchmark> [flags]\n\nBenchmarks:\n"
           "  upload    upload paths per strategy: API and end-to-end time (--help for flags)\n"
           "  conv2d    conv2d kernels, zero-copy vs staging, sync and pipelined (--help for flags)\n";
    return args.empty() ? exit_could_not_run : exit_pass;
  }
  if (args[0] == "upload") return upload(args.subspan(1), out, err);
  if (args[0] == "conv2d") return conv2d(args.subspan(1), out, err);
  err << "gpusoak bench: unknown benchmark '" << args[0] << "'; available: upload, conv2d\n";
  return exit_could_not_run;
}

}  // namespace gpusoak::harness
