#include "conv2d_report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <ostream>

#include "producer.hpp"

namespace gpusoak::bench::detail {

bool conv2d_cell::failed() const noexcept {
  return error.empty() && not_available.empty() &&
         (!outputs_finite || (reference_error && *reference_error >= 1e-5) ||
          (sampled_error && !(*sampled_error <= sampled_bound)));
}

namespace {

std::string check_text(const conv2d_cell& c) {
  if (!c.not_available.empty()) return "n/a";
  if (!c.error.empty()) return "error";
  if (!c.outputs_finite) return "NaN!";
  if (c.sampled_error) {
    return fmt::format("{:.1e}{} s", *c.sampled_error, *c.sampled_error <= c.sampled_bound ? "" : "!");
  }
  if (!c.reference_error) return "finite";
  return fmt::format("{:.1e}{}", *c.reference_error, *c.reference_error < 1e-5 ? "" : "!");
}

}  // namespace

void print_conv2d_table(std::ostream& out, const conv2d_machine& machine, const conv2d_bench_options& options,
                        const std::vector<conv2d_cell>& cells) {
  out << fmt::format("conv2d on {} ({}), backend {}\n", machine.renderer, machine.version, machine.backend);
  out << fmt::format("cpu: {}; date {}; load average {}\n", machine.cpu, machine.date, machine.load_average);
  out << fmt::format(
      "up to {} timed batches per cell (fewer past {} s a cell; column n), after {} warm-up batch(es) for shapes up "
      "to {} GFLOP; pipelined depth {}; {} producer thread(s) for inputs from {} MiB\n",
      options.iterations, options.cell_seconds, options.warmup, warmup_max_flops / 1e9, options.pipeline_depth,
      options.producer_threads, detail::parallel_produce_min_bytes >> 20);
  out << fmt::format(
      "latency: producer writes the input .. output readable on the CPU; check (every element of every output is\n"
      "also checked for NaN): up to {} GFLOP the relative L2 error vs the double reference; past that, marked 's',\n"
      "the worst |out - ref| / scale over {} sampled outputs (ref and scale = sum of |w||x| + |bias| in double),\n"
      "which must stay within the bound from the reduction length (gamma of (C/groups)*R*S + 2 terms, x16 for\n"
      "winograd); '!' marks a failed check\n\n",
      reference_check_max_flops / 1e9, sampled_check_points);
  out << fmt::format(
      "kernel ms: median GPU time of the dispatch alone (timer query, sync rows: {} batches of their own, as the\n"
      "end-to-end ones run without queries); b2b ms: median of {} dispatches back to back after them (the GPU at\n"
      "its working clock, as cuDNN's conv alone); kernel GFLOP/s over b2b\n\n",
      kernel_timed_batches, back_to_back_dispatches);
  out << fmt::format("{:<28} {:<9} {:<9} {:<9} {:>3} {:>8} {:>10} {:>10} {:>8} {:>10} {:>9} {:>11} {:>9} {:>8}\n",
                     "shape", "kernel", "path", "mode", "n", "GFLOP", "median ms", "p99 ms", "GFLOP/s", "kernel ms",
                     "b2b ms", "kernel GF/s", "copies/it", "check");
  for (const conv2d_cell& c : cells) {
    if (!c.not_available.empty()) {
      out << fmt::format("{:<28} {:<9} {:<9} {:<9} not available: {}\n", c.shape, c.kernel, c.path, c.mode,
                         c.not_available);
      continue;
    }
    if (!c.error.empty()) {
      out << fmt::format("{:<28} {:<9} {:<9} {:<9} could not run: {}\n", c.shape, c.kernel, c.path, c.mode, c.error);
      continue;
    }
    const auto optional_number = [](std::optional<double> v) { return v ? fmt::format("{:.3f}", *v) : "-"; };
    out << fmt::format(
        "{:<28} {:<9} {:<9} {:<9} {:>3} {:>8.3f} {:>10.3f} {:>10.3f} {:>8.3f} {:>10} {:>9} {:>11} {:>9.1f} {:>8}\n",
        c.shape, c.kernel, c.path, c.mode, c.iterations, c.gflop, c.latency_ms.median, c.latency_ms.p99,
        c.gflops_per_second, optional_number(c.kernel_ms), optional_number(c.kernel_back_to_back_ms),
        optional_number(c.kernel_gflops_per_second), c.copies_per_iter, check_text(c));
  }
  bool split_header = false;
  for (const conv2d_cell& c : cells) {
    if (!c.error.empty() || !c.not_available.empty() || !c.sync_split) continue;
    if (!split_header) {
      out << "\nsync rows, where a batch goes (medians, µs): produce = the producer writes the input;\n"
             "submit = flush or upload, dispatch, fence; finish = fence wait (and the readback on staging);\n"
             "past prod = submit + finish, input in host memory .. output readable (PyTorch's e2e span: its\n"
             "input tensor exists before its clock starts); kernel = the GPU timer (kernel ms)\n\n";
      out << fmt::format("{:<28} {:<9} {:<9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}\n", "shape", "kernel", "path",
                         "batch", "produce", "submit", "finish", "past prod", "kernel");
      split_header = true;
    }
    out << fmt::format("{:<28} {:<9} {:<9} {:>10.1f} {:>10.1f} {:>10.1f} {:>10.1f} {:>10.1f} {:>10}\n", c.shape,
                       c.kernel, c.path, c.latency_ms.median * 1e3, c.sync_split->produce_ms * 1e3,
                       c.sync_split->submit_ms * 1e3, c.sync_split->finish_ms * 1e3,
                       c.sync_split->past_producer_ms * 1e3,
                       c.kernel_ms ? fmt::format("{:.1f}", *c.kernel_ms * 1e3) : "-");
  }
}

nlohmann::ordered_json conv2d_to_json(const conv2d_machine& machine, const conv2d_bench_options& options,
                                      const std::vector<conv2d_cell>& cells) {
  nlohmann::ordered_json j;
  j["benchmark"] = "conv2d";
  j["machine"] = {{"renderer", machine.renderer}, {"gl_version", machine.version},
                  {"cpu", machine.cpu},           {"backend", machine.backend},
                  {"date", machine.date},         {"load_average", machine.load_average}};
  j["options"] = {{"iterations", options.iterations},
                  {"warmup", options.warmup},
                  {"cell_seconds", options.cell_seconds},
                  {"pipeline_depth", options.pipeline_depth},
                  {"producer_threads", options.producer_threads},
                  {"kernel", std::string(kernels::to_string(options.kernel))}};
  j["cells"] = nlohmann::ordered_json::array();
  for (const conv2d_cell& c : cells) {
    nlohmann::ordered_json row{{"shape", c.shape}, {"kernel", c.kernel}, {"path", c.path}, {"mode", c.mode}};
    if (!c.not_available.empty()) {
      row["not_available"] = c.not_available;
    } else if (!c.error.empty()) {
      row["error"] = c.error;
    } else {
      row["strategies"] = {{"input", c.input_strategy}, {"output", c.output_strategy}, {"weights", c.weight_strategy}};
      row["gflop_per_batch"] = c.gflop;
      row["iterations"] = c.iterations;
      row["depth"] = c.depth;
      row["latency_ms"] = {{"median", c.latency_ms.median},
                           {"p99", c.latency_ms.p99},
                           {"min", c.latency_ms.min},
                           {"max", c.latency_ms.max}};
      row["gflops_per_second"] = c.gflops_per_second;
      row["kernel_ms"] = c.kernel_ms ? nlohmann::ordered_json(*c.kernel_ms) : nullptr;
      row["kernel_back_to_back_ms"] =
          c.kernel_back_to_back_ms ? nlohmann::ordered_json(*c.kernel_back_to_back_ms) : nullptr;
      row["kernel_gflops_per_second"] =
          c.kernel_gflops_per_second ? nlohmann::ordered_json(*c.kernel_gflops_per_second) : nullptr;
      if (c.sync_split) {
        row["sync_split_ms"] = {{"produce", c.sync_split->produce_ms},
                                {"submit", c.sync_split->submit_ms},
                                {"finish", c.sync_split->finish_ms},
                                {"past_producer", c.sync_split->past_producer_ms}};
      }
      if (c.mode == "pipelined") row["total_ms"] = c.total_ms;
      row["copies_per_iteration"] = c.copies_per_iter;
      row["copied_bytes_per_iteration"] = c.copied_bytes_per_iter;
      row["outputs_finite"] = c.outputs_finite;
      row["reference_error"] = c.reference_error ? nlohmann::ordered_json(*c.reference_error) : nullptr;
      if (c.sampled_error) {
        // JSON has no infinity: a non-finite sampled output is null with sampled_passed false.
        row["sampled_error"] = std::isfinite(*c.sampled_error) ? nlohmann::ordered_json(*c.sampled_error) : nullptr;
        row["sampled_bound"] = c.sampled_bound;
        row["sampled_points"] = sampled_check_points;
        row["sampled_passed"] = *c.sampled_error <= c.sampled_bound;
      }
    }
    j["cells"].push_back(std::move(row));
  }
  return j;
}

}  // namespace gpusoak::bench::detail
