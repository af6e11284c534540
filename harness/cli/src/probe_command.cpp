// `gpusoak probe`: capabilities, the whole decision matrix, and this machine's choice per usage.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <ostream>

#include "gpusoak/buffers/strategy.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/context_flags.hpp"
#include "gpusoak/scenarios/units.hpp"

namespace gpusoak::harness {
namespace {

nlohmann::json strategies_json(std::span<const gpu::strategy> list) {
  auto out = nlohmann::json::array();
  for (auto s : list) out.push_back(gpu::to_string(s));
  return out;
}

nlohmann::json probe_json(const gpu::context& ctx) {
  const auto& c = ctx.caps();
  nlohmann::json j;
  j["context"] = {{"backend", gpu::to_string(ctx.which())}, {"budget_bytes", ctx.budget().limit()}};
  j["driver"] = {{"vendor", c.vendor},
                 {"renderer", c.renderer},
                 {"version", c.version},
                 {"glsl_version", c.glsl_version},
                 {"vendor_class", gpu::to_string(c.vendor_kind)},
                 {"uma", c.uma}};
  j["limits"] = {{"gl_version", fmt::format("{}.{}", c.limit.gl_major, c.limit.gl_minor)},
                 {"min_map_buffer_alignment", c.limit.min_map_buffer_alignment},
                 {"ssbo_offset_alignment", c.limit.ssbo_offset_alignment},
                 {"ubo_offset_alignment", c.limit.ubo_offset_alignment},
                 {"max_ssbo_bytes", c.limit.max_ssbo_size},
                 {"max_compute_invocations", c.limit.max_compute_invocations},
                 {"max_compute_shared_bytes", c.limit.max_compute_shared_memory}};
  j["extensions"] = {{"GL_ARB_buffer_storage", c.ext.ARB_buffer_storage},
                     {"GL_AMD_pinned_memory", c.ext.AMD_pinned_memory},
                     {"GL_NVX_gpu_memory_info", c.ext.NVX_gpu_memory_info},
                     {"GL_ATI_meminfo", c.ext.ATI_meminfo},
                     {"GL_KHR_debug", c.ext.KHR_debug},
                     {"GL_KHR_robustness", c.ext.KHR_robustness}};
  j["coherent_mapping"] = c.coherent_mapping;
  j["quirks"] = {
      {"explicit_flush_broken", c.quirk.explicit_flush_broken},
      {"pinned_memory_unreliable", c.quirk.pinned_memory_unreliable},
      {"client_storage_is_host", c.quirk.client_storage_is_host},
      {"max_loop_iterations", c.quirk.max_loop_iterations ? nlohmann::json(*c.quirk.max_loop_iterations) : nullptr}};
  j["memory"] = {{"dedicated_bytes", c.memory.dedicated_bytes ? nlohmann::json(*c.memory.dedicated_bytes) : nullptr},
                 {"available_bytes", c.memory.available_bytes ? nlohmann::json(*c.memory.available_bytes) : nullptr}};
  j["masked"] = c.masked;
  for (auto u : gpu::all_usages) {
    j["chosen"][std::string(gpu::to_string(u))] = {{"strategy", gpu::to_string(gpu::choose_strategy(c, u))},
                                                   {"candidates", strategies_json(gpu::candidates(c, u))}};
  }
  for (auto v : gpu::all_vendor_classes) {
    for (auto u : gpu::all_usages) {
      j["matrix"][std::string(gpu::to_string(v))][std::string(gpu::to_string(u))] =
          strategies_json(gpu::preferences(v, u));
    }
  }
  return j;
}

std::string join(std::span<const gpu::strategy> list) {
  std::string text;
  for (auto s : list) text += (text.empty() ? "" : " > ") + std::string(gpu::to_string(s));
  return text;
}

void print_text(const gpu::context& ctx, std::ostream& out) {
  const auto& c = ctx.caps();
  const auto yes = [](bool b) { return b ? "yes" : "no"; };
  out << fmt::format("Driver\n  renderer      {}\n  version       {}\n  vendor        {} ({}{})\n  backend       {}\n",
                     c.renderer, c.version, c.vendor, gpu::to_string(c.vendor_kind), c.uma ? ", UMA" : ", discrete",
                     gpu::to_string(ctx.which()));
  out << fmt::format(
      "Limits\n  GL            {}.{}\n  map align     {} B\n  SSBO align    {} B\n  UBO align     {} B\n"
      "  max SSBO      {}\n  shared mem    {}\n",
      c.limit.gl_major, c.limit.gl_minor, c.limit.min_map_buffer_alignment, c.limit.ssbo_offset_alignment,
      c.limit.ubo_offset_alignment, scenarios::format_bytes(static_cast<std::uint64_t>(c.limit.max_ssbo_size)),
      scenarios::format_bytes(static_cast<std::uint64_t>(c.limit.max_compute_shared_memory)));
  out << fmt::format(
      "Extensions\n  GL_ARB_buffer_storage   {}\n  GL_AMD_pinned_memory    {}\n"
      "  GL_NVX_gpu_memory_info  {}\n  GL_ATI_meminfo          {}\n  GL_KHR_debug            {}\n"
      "  GL_KHR_robustness       {}\n  coherent mapping        {}\n",
      yes(c.ext.ARB_buffer_storage), yes(c.ext.AMD_pinned_memory), yes(c.ext.NVX_gpu_memory_info),
      yes(c.ext.ATI_meminfo), yes(c.ext.KHR_debug), yes(c.ext.KHR_robustness), yes(c.coherent_mapping));
  out << fmt::format(
      "Quirks\n  explicit_flush_broken     {}\n  pinned_memory_unreliable  {}\n"
      "  client_storage_is_host    {}\n  max_loop_iterations       {}\n",
      yes(c.quirk.explicit_flush_broken), yes(c.quirk.pinned_memory_unreliable), yes(c.quirk.client_storage_is_host),
      c.quirk.max_loop_iterations ? fmt::format("{}", *c.quirk.max_loop_iterations) : "none known");
  out << fmt::format("Memory\n  dedicated     {}\n  available     {}\n  budget        {}\n",
                     c.memory.dedicated_bytes ? scenarios::format_bytes(*c.memory.dedicated_bytes) : "not reported",
                     c.memory.available_bytes ? scenarios::format_bytes(*c.memory.available_bytes) : "not reported",
                     scenarios::format_bytes(ctx.budget().limit()));
  if (!c.masked.empty()) out << "Masked\n  " << c.masked << "\n";
  out << "\nDecision matrix (preference order per vendor class; quirks and support filter it at run time)\n";
  out << fmt::format("  {:<14} {:<15} {}\n", "vendor", "usage", "preferences");
  for (auto v : gpu::all_vendor_classes) {
    for (auto u : gpu::all_usages) {
      out << fmt::format("  {:<14} {:<15} {}{}\n", gpu::to_string(v), gpu::to_string(u), join(gpu::preferences(v, u)),
                         v == c.vendor_kind ? "   <- this machine's row" : "");
    }
  }
  out << "\nChosen here\n";
  for (auto u : gpu::all_usages) {
    const auto order = gpu::candidates(c, u);
    out << fmt::format("  {:<15} {:<20} (candidates: {})\n", gpu::to_string(u),
                       gpu::to_string(gpu::choose_strategy(c, u)), join(order));
  }
}

}  // namespace

int probe_command(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  auto specs = context_flag_specs();
  specs.push_back({"json", "", "print JSON instead of text"});
  auto parsed = parse_command_line(
      {.usage = "probe",
       .summary = "Prints the GPU's capabilities, the whole decision matrix and the strategy chosen per usage.",
       .flags = specs},
      args, out, err);
  if (!parsed) return parsed.error();
  auto options = context_options_from(*parsed);
  if (!options) {
    err << "gpusoak probe: " << options.error().message << "\n";
    return exit_could_not_run;
  }
  options->debug_output = false;
  if (parsed->has("json")) spdlog::set_level(spdlog::level::warn);  // keep stdout pure JSON
  auto ctx = gpu::context::create(*options);
  if (!ctx) {
    err << "gpusoak probe: no GL 4.5 context: " << ctx.error().message << "\n";
    return exit_could_not_run;
  }
  if (parsed->has("json")) {
    out << probe_json(**ctx).dump(2) << "\n";
  } else {
    print_text(**ctx, out);
  }
  return exit_pass;
}

}  // namespace gpusoak::harness
