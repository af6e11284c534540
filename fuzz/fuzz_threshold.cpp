// Gate thresholds come from plan files and, with the daemon, from HTTP requests. Any text gives a
// threshold or an error with a message, never a crash; a threshold that parses survives its own
// canonical text (the property threshold.hpp promises: parse_threshold(to_string(t)) == t).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "gpusoak/scenarios/threshold.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace gpusoak::scenarios;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_threshold(text);
  if (!parsed) {
    GPUSOAK_FUZZ_CHECK(!parsed.error().message.empty(), "empty error message");
    return 0;
  }
  const std::string canonical = to_string(*parsed);
  const auto again = parse_threshold(canonical);
  GPUSOAK_FUZZ_CHECK(again.has_value(), "'%s' does not parse: %s", canonical.c_str(), again.error().message.c_str());
  GPUSOAK_FUZZ_CHECK(*again == *parsed, "'%s' parses to something else", canonical.c_str());
  return 0;
}
