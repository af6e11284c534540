// `gpusoak devices`: the EGL devices a plan or --device can name.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <ostream>

#include "gpusoak/buffers/context.hpp"
#include "gpusoak/harness/cli_args.hpp"
#include "gpusoak/harness/commands.hpp"

namespace gpusoak::harness {

int devices_command(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  const std::vector<flag_spec> specs{{"json", "", "print JSON instead of text"}};
  auto parsed = parse_command_line(
      {.usage = "devices", .summary = "Lists the EGL devices (EGL_EXT_device_enumeration) by index.", .flags = specs},
      args, out, err);
  if (!parsed) return parsed.error();
  auto devices = gpu::list_devices();
  if (!devices) {
    err << "gpusoak devices: " << devices.error().message << "\n";
    return exit_could_not_run;
  }
  if (parsed->has("json")) {
    auto list = nlohmann::json::array();
    for (const auto& d : *devices) {
      list.push_back(
          {{"index", d.index}, {"drm_node", d.drm_node}, {"software", d.software}, {"extensions", d.extensions}});
    }
    out << list.dump(2) << "\n";
    return exit_pass;
  }
  if (devices->empty()) out << "no EGL devices enumerate (surfaceless Mesa is the fallback)\n";
  for (const auto& d : *devices) {
    out << fmt::format("{}  {:<20} {}\n", d.index, d.drm_node.empty() ? "(no DRM node)" : d.drm_node,
                       d.software ? "software (Mesa)" : "hardware");
  }
  return exit_pass;
}

}  // namespace gpusoak::harness
