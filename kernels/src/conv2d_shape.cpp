#include "gpusoak/kernels/conv2d_shape.hpp"

#include <fmt/format.h>

#include <charconv>
#include <initializer_list>
#include <limits>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

namespace gpusoak::kernels {
namespace {

using gpu::error_kind;
using gpu::make_error;

// a * b, or UINT64_MAX when that does not fit: four 32-bit factors can pass 2^64, and a count
// that wrapped around would look small enough to validate ("N65536 C65536 65536x65536 ...").
std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t product = 0;
  return __builtin_mul_overflow(a, b, &product) ? std::numeric_limits<std::uint64_t>::max() : product;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum) ? std::numeric_limits<std::uint64_t>::max() : sum;
}

std::uint64_t product(std::initializer_list<std::uint64_t> factors) {
  std::uint64_t out = 1;
  for (const std::uint64_t factor : factors) out = saturating_mul(out, factor);
  return out;
}

// in + 2*pad: at most 3 * (2^32 - 1), no overflow in 64 bits; saturating all the same.
std::uint64_t padded_extent(std::uint32_t in, std::uint32_t pad) {
  return saturating_add(in, saturating_mul(2, pad));
}

// dilation*(kernel-1) + 1, the rows (columns) a kernel spans: below 2^64 for 32-bit fields.
std::uint64_t effective_extent(std::uint32_t kernel, std::uint32_t dilation) {
  return kernel == 0 ? 0 : saturating_add(saturating_mul(dilation, kernel - 1), 1);
}

// (in + 2*pad - extent) / stride + 1, in 64 bits: a 32-bit field's extent can pass 2^32
// (p4294967295 on a 4x4 input is 8589934594 rows, not 4). 0 when the kernel does not fit.
std::uint64_t output_extent(std::uint32_t in, std::uint32_t pad, std::uint32_t kernel, std::uint32_t dilation,
                            std::uint32_t stride) {
  const std::uint64_t padded = padded_extent(in, pad);
  const std::uint64_t extent = effective_extent(kernel, dilation);
  if (stride == 0 || kernel == 0 || padded < extent) return 0;
  return (padded - extent) / stride + 1;
}

// "stride_h 3000000000: more than 2143289344, the largest the shaders' 32-bit arithmetic holds".
std::unexpected<gpusoak::error> past_limit(std::string_view name, std::uint64_t value, std::uint64_t bound,
                                           std::string_view why = "") {
  return make_error(
      error_kind::validation,
      fmt::format("{} {}: more than {}, the largest the shaders' 32-bit arithmetic holds{}", name, value, bound, why));
}

// A whole positive number filling all of `text`.
std::optional<std::uint32_t> parse_number(std::string_view text) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "3x5" -> {3, 5}; "3" -> {3, 3} when `square_allowed`.
std::optional<std::pair<std::uint32_t, std::uint32_t>> parse_pair(std::string_view text, bool square_allowed) {
  const auto x = text.find('x');
  if (x == std::string_view::npos) {
    if (!square_allowed) return std::nullopt;
    auto v = parse_number(text);
    if (!v) return std::nullopt;
    return std::pair{*v, *v};
  }
  auto a = parse_number(text.substr(0, x));
  auto b = parse_number(text.substr(x + 1));
  if (!a || !b) return std::nullopt;
  return std::pair{*a, *b};
}

std::vector<std::string_view> tokens_of(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == ',')) ++i;
    std::size_t end = i;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != ',') ++end;
    if (end > i) out.push_back(text.substr(i, end - i));
    i = end;
  }
  return out;
}

std::string pair_text(std::uint32_t a, std::uint32_t b) {
  return a == b ? fmt::format("{}", a) : fmt::format("{}x{}", a, b);
}

}  // namespace

gpu::result<void> conv2d_shape::validate() const {
  const std::pair<const char*, std::uint32_t> positive[] = {{"n", n},
                                                            {"c", c},
                                                            {"h", h},
                                                            {"w", w},
                                                            {"k", k},
                                                            {"r", r},
                                                            {"s", s},
                                                            {"stride_h", stride_h},
                                                            {"stride_w", stride_w},
                                                            {"dilation_h", dilation_h},
                                                            {"dilation_w", dilation_w},
                                                            {"groups", groups}};
  for (const auto& [name, value] : positive) {
    if (value == 0) return make_error(error_kind::validation, fmt::format("{} 0: must be at least 1", name));
  }
  // Each field reaches the shaders as an int (the extents and counts below bound most of them
  // again; stride and dilation only here).
  for (const auto& [name, value] : positive) {
    if (value > shader_index_limit) return past_limit(name, value, shader_index_limit);
  }
  // The rows a shader computes lie in [-pad, H + 2*pad): H + 2*pad must fit.
  const std::tuple<const char*, std::uint32_t, const char*, std::uint32_t> pads[] = {{"pad_h", pad_h, "height", h},
                                                                                     {"pad_w", pad_w, "width", w}};
  for (const auto& [name, pad, extent_name, extent] : pads) {
    const std::uint64_t bound = (shader_index_limit - extent) / 2;
    if (pad > bound) {
      return past_limit(name, pad, bound,
                        fmt::format(" with {} {} ({} + 2 * {} must stay within {})", extent_name, extent, extent_name,
                                    name, shader_index_limit));
    }
  }
  if (c % groups != 0) {
    return make_error(error_kind::validation, fmt::format("groups {} does not divide channels {}", groups, c));
  }
  if (k % groups != 0) {
    return make_error(error_kind::validation, fmt::format("groups {} does not divide output channels {}", groups, k));
  }
  if (p() == 0) {
    return make_error(error_kind::validation,
                      fmt::format("kernel height {} with dilation {} spans {} rows, more than height {} + 2 * pad {}",
                                  r, dilation_h, effective_extent(r, dilation_h), h, pad_h));
  }
  if (q() == 0) {
    return make_error(error_kind::validation,
                      fmt::format("kernel width {} with dilation {} spans {} columns, more than width {} + 2 * pad {}",
                                  s, dilation_w, effective_extent(s, dilation_w), w, pad_w));
  }
  const std::pair<const char*, std::uint64_t> counts[] = {
      {"input", input_elements()}, {"weights", weight_elements()}, {"output", output_elements()}};
  for (const auto& [name, count] : counts) {
    if (count > shader_index_limit) {
      return make_error(error_kind::validation,
                        fmt::format("{} has {} elements, more than the shaders' 32-bit indexing allows ({})", name,
                                    count, shader_index_limit));
    }
  }
  if (const std::uint64_t padded = padded_input_elements(); padded > shader_index_limit) {
    return make_error(error_kind::validation,
                      fmt::format("pad_h {} and pad_w {}: the padded input N*C*(H + 2*pad_h)*(W + 2*pad_w) has {} "
                                  "elements, more than the shaders' 32-bit indexing allows ({})",
                                  pad_h, pad_w, padded, shader_index_limit));
  }
  return {};
}

std::uint64_t conv2d_shape::p() const noexcept {
  return output_extent(h, pad_h, r, dilation_h, stride_h);
}
std::uint64_t conv2d_shape::q() const noexcept {
  return output_extent(w, pad_w, s, dilation_w, stride_w);
}

std::uint64_t conv2d_shape::input_elements() const noexcept {
  return product({n, c, h, w});
}
std::uint64_t conv2d_shape::weight_elements() const noexcept {
  return groups == 0 ? 0 : product({k, c / groups, r, s});
}
std::uint64_t conv2d_shape::bias_elements() const noexcept {
  return bias ? k : 0;
}
std::uint64_t conv2d_shape::output_elements() const noexcept {
  return product({n, k, p(), q()});
}
std::uint64_t conv2d_shape::padded_input_elements() const noexcept {
  return product({n, c, padded_extent(h, pad_h), padded_extent(w, pad_w)});
}
double conv2d_shape::flops() const noexcept {
  return 2.0 * static_cast<double>(output_elements()) * (groups == 0 ? 0 : c / groups) * r * s;
}

std::string conv2d_shape::to_string() const {
  std::string text = fmt::format("N{} C{} {}x{} K{} {}x{}", n, c, h, w, k, r, s);
  if (stride_h != 1 || stride_w != 1) text += " s" + pair_text(stride_h, stride_w);
  if (pad_h != 0 || pad_w != 0) text += " p" + pair_text(pad_h, pad_w);
  if (dilation_h != 1 || dilation_w != 1) text += " d" + pair_text(dilation_h, dilation_w);
  if (groups != 1) text += fmt::format(" g{}", groups);
  if (bias) text += " bias";
  return text;
}

gpu::result<conv2d_shape> parse_conv2d_shape(std::string_view text) {
  conv2d_shape shape;
  bool have_c = false, have_k = false, have_input = false, have_kernel = false;
  const auto bad = [](std::string_view token, std::string_view why) {
    return make_error(error_kind::validation, fmt::format("token '{}': {}", token, why));
  };
  for (const std::string_view token : tokens_of(text)) {
    const char lead = token.front();
    const std::string_view rest = token.substr(1);
    if (token == "bias") {
      shape.bias = true;
    } else if (lead >= '0' && lead <= '9') {
      auto dims = parse_pair(token, false);
      if (!dims) return bad(token, "expected HxW (input) or RxS (kernel), e.g. 32x32");
      if (!have_input) {
        std::tie(shape.h, shape.w) = *dims;
        have_input = true;
      } else if (!have_kernel) {
        std::tie(shape.r, shape.s) = *dims;
        have_kernel = true;
      } else {
        return bad(token, "a third HxW: input and kernel sizes are already given");
      }
    } else if (lead == 'N' || lead == 'C' || lead == 'K' || lead == 'g') {
      auto value = parse_number(rest);
      if (!value) return bad(token, fmt::format("expected {}<whole number>", lead));
      if (lead == 'N') shape.n = *value;
      if (lead == 'g') shape.groups = *value;
      if (lead == 'C') {
        shape.c = *value;
        have_c = true;
      }
      if (lead == 'K') {
        shape.k = *value;
        have_k = true;
      }
    } else if (lead == 's' || lead == 'p' || lead == 'd') {
      auto value = parse_pair(rest, true);
      if (!value) return bad(token, fmt::format("expected {0}<n> or {0}<h>x<w>", lead));
      if (lead == 's') std::tie(shape.stride_h, shape.stride_w) = *value;
      if (lead == 'p') std::tie(shape.pad_h, shape.pad_w) = *value;
      if (lead == 'd') std::tie(shape.dilation_h, shape.dilation_w) = *value;
    } else {
      return bad(token, "unknown (use N, C, HxW, K, RxS, s, p, d, g, bias)");
    }
  }
  const std::pair<bool, const char*> required[] = {
      {have_c, "C<channels>"}, {have_input, "HxW"}, {have_k, "K<output channels>"}, {have_kernel, "RxS"}};
  for (const auto& [present, what] : required) {
    if (!present) {
      return make_error(error_kind::validation,
                        fmt::format("shape '{}': {} is missing (e.g. 'N1 C3 32x32 K16 3x3')", text, what));
    }
  }
  if (auto valid = shape.validate(); !valid) {
    return make_error(error_kind::validation, fmt::format("shape '{}': {}", text, valid.error().message));
  }
  return shape;
}

}  // namespace gpusoak::kernels
