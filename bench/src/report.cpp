#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>

#include "producer.hpp"

namespace gpusoak::bench::detail {
namespace {

std::string us(double value) {
  return fmt::format("{:.2f}", value);
}
std::string us(const std::optional<double>& value) {
  return value ? us(*value) : "n/a";
}

// GB/s (10^9 bytes per second) of `bytes` moved in `micros`.
std::optional<double> gbps(std::uint64_t bytes, std::optional<double> micros) {
  if (!micros || *micros <= 0) return std::nullopt;
  return static_cast<double>(bytes) / (*micros * 1e3);
}

// GB/s from a GPU timer's microseconds; none below 1 us: llvmpipe's timer does not see compute
// dispatches (~1 ns), and a rate from it would be nonsense.
std::optional<double> gpu_rate(std::uint64_t bytes, std::optional<double> micros) {
  return micros && *micros >= 1 ? gbps(bytes, micros) : std::nullopt;
}

std::string rate(const std::optional<double>& value) {
  return value ? fmt::format("{:.3f}", *value) : "n/a";
}
std::string count(const std::optional<double>& value) {
  return value ? fmt::format("{:g}", *value) : "n/a";
}

// Short names for the wide summary table, in the order of the sweep.
std::string short_name(const std::string& path) {
  if (path == "persistent_coherent") return "coherent";
  if (path == "persistent_flush") return "flush";
  if (path == "pinned_host") return "pinned";
  if (path == "device_local_staged") return "device_local";
  if (path == "staging_copy") return "staging";
  if (path == map_write_unmap_path) return "map_unmap";
  return path;
}

bool usable(const cell_result& c) {
  return c.measured() && c.checksum_failures == 0;
}

// The usable cell of `size` with the smallest value of `key`, or nullptr.
template <class Key>
const cell_result* fastest(const std::vector<cell_result>& cells, std::uint64_t size, Key key) {
  const cell_result* best = nullptr;
  for (const cell_result& c : cells) {
    if (c.size != size || !usable(c) || !key(c)) continue;
    if (best == nullptr || *key(c) < *key(*best)) best = &c;
  }
  return best;
}
std::optional<double> sync_median(const cell_result& c) {
  return c.e2e_sync_us.median;
}
std::optional<double> pipelined(const cell_result& c) {
  return c.pipelined_us_per_iter;
}

std::vector<std::uint64_t> sizes_of(const std::vector<cell_result>& cells) {
  std::vector<std::uint64_t> sizes;
  for (const cell_result& c : cells) {
    if (std::ranges::find(sizes, c.size) == sizes.end()) sizes.push_back(c.size);
  }
  return sizes;
}

std::string notes(const cell_result& c) {
  std::string text = c.pipelined_via;
  if (c.pipelined_via == "persistent_ring") text += fmt::format(" ({} blocked)", c.ring_blocked_acquisitions);
  if (c.checksum_failures > 0) {
    text += fmt::format("  CHECKSUM MISMATCH {}/{}", c.checksum_failures, c.checksum_checks);
  }
  return text;
}

// Whether the matrix's pick was the fastest e2e sync path; "tie" within tie_margin of it. A
// margin, not the winner's p99: with 5 trials one stall makes p99 huge and everything a tie.
constexpr double tie_margin = 0.05;
std::string verdict(const cell_result* pick, const cell_result* best) {
  if (pick == nullptr || best == nullptr) return "n/a";
  if (pick == best) return "yes";
  const double slower = pick->e2e_sync_us.median / best->e2e_sync_us.median - 1;
  return fmt::format("{}, +{:.0f}%", slower <= tie_margin ? "tie" : "no", slower * 100);
}

void print_header(std::ostream& out, const machine_info& m, const upload_bench_options& o) {
  out << "gpusoak upload benchmark\n"
      << fmt::format("renderer:     {}\n", m.renderer) << fmt::format("GL version:   {}\n", m.version)
      << fmt::format("vendor class: {} ({}; GL_VENDOR {})\n", m.vendor_class, m.uma ? "UMA" : "discrete", m.vendor)
      << fmt::format("backend:      {}{}\n", m.backend, m.masked.empty() ? "" : ", masked: " + m.masked)
      << fmt::format("date:         {}{}\n", m.date, m.load_average.empty() ? "" : "   load average: " + m.load_average)
      << fmt::format(
             "trials:       {} per cell, {} for sizes >= {}; pipelined: 2 x trials uploads back to back, "
             "depth {}, median of {} runs (1 run of {} for sizes >= {})\n",
             o.trials, std::min(o.trials, large_cell_trials), format_size(large_cell_bytes), o.pipeline_depth,
             pipelined_runs, large_cell_pipelined_uploads, format_size(large_cell_bytes))
      << fmt::format("matrix:       stream_to_gpu -> {} (rows marked *); persistent_ring uses {}\n", m.matrix_choice,
                     m.ring_strategy.empty() ? "nothing (no buffer storage)" : m.ring_strategy)
      << "times:        microseconds. api = producer writes the bytes in place + make visible to the GPU;\n"
         "              e2e = api + compute shader reading every byte + fence wait; pipe/iter = back to back.\n"
         "              GB/s from the e2e median, pipe = GB/s pipelined; copies = the layer's counted copies per\n"
         "              upload (n/a for raw GL: what the driver copies is invisible to us).\n"
         "              read GB/s = size / GPU time of the read shader alone (timer query): the bus's share of\n"
         "              e2e for mapped paths (the shader reads host memory), VRAM for the copying ones.\n"
      << fmt::format(
             "              pread GB/s = the same inside the pipelined run (sizes >= {}), while the\n"
             "              producer writes the next upload: below read when the writers slow the GPU.\n",
             format_size(large_cell_bytes))
      << fmt::format(
             "producer:     {} thread(s) per upload from {}; stores: bypass_cache in sync trials, {} in\n"
             "              pipelined runs (through_cache from 8 threads: see bench/src/producer.hpp)\n\n",
             o.producer_threads, format_size(parallel_produce_min_bytes), to_string(stream_stores(o.producer_threads)));
}

void print_cells(std::ostream& out, const std::vector<cell_result>& cells) {
  const std::string header = fmt::format(
      "{:<21} {:>7} {:>9} {:>9} {:>10} {:>10} {:>10} {:>7} {:>7} {:>7} {:>7} {:>6}  {}", "path", "size", "api med",
      "api p99", "e2e med", "e2e p99", "pipe/iter", "GB/s", "pipe", "read", "pread", "copies", "pipelined via");
  out << header << '\n' << std::string(header.size() + 8, '-') << '\n';
  for (const std::uint64_t size : sizes_of(cells)) {
    for (const cell_result& c : cells) {
      if (c.size != size) continue;
      const std::string path = (c.matrix_choice ? "*" : " ") + c.path;
      if (!c.measured()) {
        out << fmt::format("{:<21} {:>7}   {}\n", path, format_size(c.size), c.skipped_reason);
        continue;
      }
      const auto sync_rate = gbps(c.size, c.e2e_sync_us.median);
      const auto pipe_rate = gbps(c.size, c.pipelined_us_per_iter);
      const auto read_rate = gpu_rate(c.size, c.gpu_read_us);
      const auto pipelined_read_rate = gpu_rate(c.size, c.pipelined_gpu_read_us);
      out << fmt::format("{:<21} {:>7} {:>9} {:>9} {:>10} {:>10} {:>10} {:>7} {:>7} {:>7} {:>7} {:>6}  {}\n", path,
                         format_size(c.size), us(c.api_us.median), us(c.api_us.p99), us(c.e2e_sync_us.median),
                         us(c.e2e_sync_us.p99), us(c.pipelined_us_per_iter), rate(sync_rate), rate(pipe_rate),
                         rate(read_rate), rate(pipelined_read_rate), count(c.copies_per_iter), notes(c));
    }
    const cell_result* best = fastest(cells, size, sync_median);
    const cell_result* best_pipe = fastest(cells, size, pipelined);
    out << fmt::format("{:>29} fastest e2e sync: {}; fastest pipelined: {}\n\n", "->", best ? best->path : "n/a",
                       best_pipe ? best_pipe->path : "n/a");
  }
}

// The design's measurement table: one line per size, API and end to end per path.
void print_summary(std::ostream& out, const std::vector<cell_result>& cells) {
  std::vector<std::string> paths;
  for (const cell_result& c : cells) {
    if (c.measured() && std::ranges::find(paths, c.path) == paths.end()) paths.push_back(c.path);
  }
  out << "median us per path (API | end to end, sync). matrix: the stream_to_gpu pick; won: yes (fastest e2e sync), "
         "tie (median within 5% of the fastest) or no\n";
  std::string line1 = fmt::format("{:>7} ", "");
  std::string line2 = fmt::format("{:>7} ", "size");
  for (const std::string& path : paths) {
    line1 += fmt::format("| {:^19} ", short_name(path));
    line2 += fmt::format("| {:>9} {:>9} ", "API", "e2e");
  }
  line1 += fmt::format("| {:<12} {:<12} {}", "matrix", "fastest", "matrix won");
  line2 += fmt::format("| {:<12} {:<12} {}", "", "e2e sync", "");
  out << line1 << '\n' << line2 << '\n' << std::string(line1.size(), '-') << '\n';
  for (const std::uint64_t size : sizes_of(cells)) {
    std::string line = fmt::format("{:>7} ", format_size(size));
    const cell_result* pick = nullptr;
    for (const std::string& path : paths) {
      const auto it =
          std::ranges::find_if(cells, [&](const cell_result& c) { return c.size == size && c.path == path; });
      if (it == cells.end() || !it->measured()) {
        line += fmt::format("| {:>9} {:>9} ", "-", "-");
        continue;
      }
      if (it->matrix_choice) pick = &*it;
      line += fmt::format("| {:>9} {:>9} ", us(it->api_us.median), us(it->e2e_sync_us.median));
    }
    const cell_result* best = fastest(cells, size, sync_median);
    line += fmt::format("| {:<12} {:<12} {}", pick ? short_name(pick->path) : "n/a",
                        best ? short_name(best->path) : "n/a", verdict(pick, best));
    out << line << '\n';
  }
}

nlohmann::ordered_json summary_json(const summary& s) {
  return {{"median", s.median}, {"p99", s.p99}, {"min", s.min}, {"max", s.max}};
}

template <class T>
nlohmann::ordered_json optional_json(const std::optional<T>& value) {
  return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

}  // namespace

std::string format_size(std::uint64_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} B", bytes);
}

void print_tables(std::ostream& out, const machine_info& machine, const upload_bench_options& options,
                  const std::vector<cell_result>& cells) {
  print_header(out, machine, options);
  print_cells(out, cells);
  print_summary(out, cells);
}

nlohmann::ordered_json to_json(const machine_info& m, const upload_bench_options& o,
                               const std::vector<cell_result>& cells) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const cell_result& c : cells) {
    nlohmann::ordered_json row = {
        {"path", c.path},
        {"strategy", c.strategy.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(c.strategy)},
        {"size", c.size},
        {"matrix_choice", c.matrix_choice}};
    if (!c.measured()) {
      row["skipped_reason"] = c.skipped_reason;
      rows.push_back(std::move(row));
      continue;
    }
    row["trials"] = c.trials;
    row["api_us"] = summary_json(c.api_us);
    row["e2e_sync_us"] = summary_json(c.e2e_sync_us);
    row["e2e_pipelined_us_per_iter"] = optional_json(c.pipelined_us_per_iter);
    row["pipelined_iterations"] = c.pipelined_iterations;
    row["pipelined_runs_us_per_iter"] = c.pipelined_runs_us_per_iter;
    row["pipelined_via"] = c.pipelined_via;
    if (c.pipelined_via == "persistent_ring") row["ring_blocked_acquisitions"] = c.ring_blocked_acquisitions;
    row["gbps"] = optional_json(gbps(c.size, c.e2e_sync_us.median));
    row["gbps_pipelined"] = optional_json(gbps(c.size, c.pipelined_us_per_iter));
    row["gpu_read_us"] = optional_json(c.gpu_read_us);
    row["pipelined_gpu_read_us"] = optional_json(c.pipelined_gpu_read_us);
    row["copies_per_iter"] = optional_json(c.copies_per_iter);
    row["copied_bytes_per_iter"] = optional_json(c.copied_bytes_per_iter);
    row["checksum_checks"] = c.checksum_checks;
    row["checksum_failures"] = c.checksum_failures;
    rows.push_back(std::move(row));
  }
  nlohmann::ordered_json per_size = nlohmann::ordered_json::array();
  for (const std::uint64_t size : sizes_of(cells)) {
    const cell_result* best = fastest(cells, size, sync_median);
    const cell_result* best_pipe = fastest(cells, size, pipelined);
    per_size.push_back(
        {{"size", size},
         {"fastest_e2e_sync", best ? nlohmann::ordered_json(best->path) : nlohmann::ordered_json(nullptr)},
         {"fastest_pipelined", best_pipe ? nlohmann::ordered_json(best_pipe->path) : nlohmann::ordered_json(nullptr)}});
  }
  return {
      {"machine",
       {{"renderer", m.renderer},
        {"version", m.version},
        {"vendor", m.vendor},
        {"vendor_class", m.vendor_class},
        {"uma", m.uma},
        {"backend", m.backend},
        {"masked", m.masked},
        {"load_average", m.load_average}}},
      {"date", m.date},
      {"options",
       {{"sizes", o.sizes},
        {"paths", o.paths},
        {"trials", o.trials},
        {"large_cell_bytes", large_cell_bytes},
        {"large_cell_trials", large_cell_trials},
        {"pipeline_depth", o.pipeline_depth},
        {"producer_threads", o.producer_threads},
        {"pipelined_runs", pipelined_runs},
        {"large_cell_pipelined_uploads", large_cell_pipelined_uploads},
        {"producer_stores", {{"sync", "bypass_cache"}, {"pipelined", to_string(stream_stores(o.producer_threads))}}},
        {"units", "microseconds; gbps = 1e9 bytes/s"}}},
      {"rows", std::move(rows)},
      {"per_size", std::move(per_size)},
      {"matrix_choice", {{"stream_to_gpu", m.matrix_choice}}},
      {"ring_strategy",
       m.ring_strategy.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(m.ring_strategy)},
  };
}

}  // namespace gpusoak::bench::detail
