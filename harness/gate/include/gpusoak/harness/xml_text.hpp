// Internal to the harness (namespace detail): text made safe for XML attributes and content (the gate's and the fleet's
// JUnit).
#pragma once

#include <string>
#include <string_view>

namespace gpusoak::harness::detail {

// Escapes & < > " ' and replaces control characters XML 1.0 forbids (all but tab, CR, LF) by a space.
[[nodiscard]] std::string xml_escape(std::string_view text);

}  // namespace gpusoak::harness::detail
