// The unit converters read plan values, thresholds and command-line flags. The first byte picks the
// converter, the rest is its text. Properties: no crash; a duration that parses formats back to
// itself (units.hpp: parse_duration(format_duration(d)) == d); a byte size formats without a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "gpusoak/scenarios/units.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace gpusoak::scenarios;
  if (size == 0) {
    return 0;
  }
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      const auto bytes = parse_bytes(text);
      if (bytes) {
        GPUSOAK_FUZZ_CHECK(!format_bytes(*bytes).empty(), "no text for %llu", static_cast<unsigned long long>(*bytes));
      }
      break;
    }
    case 1: {
      (void)parse_byte_list(text);
      break;
    }
    case 2: {
      const auto zero = data[0] & 0x80 ? zero_duration::allowed : zero_duration::rejected;
      const auto duration = parse_duration(text, zero);
      if (duration) {
        GPUSOAK_FUZZ_CHECK(duration->count() >= 0, "negative duration");
        const std::string formatted = format_duration(*duration);
        const auto again = parse_duration(formatted, zero_duration::allowed);
        GPUSOAK_FUZZ_CHECK(again && *again == *duration, "'%s' does not read back", formatted.c_str());
      }
      break;
    }
  }
  return 0;
}
