#include "gpusoak/harness/sample_histogram.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace gpusoak::harness {
namespace {

using scenarios::latency_histogram;
using scenarios::log_histogram;

std::unexpected<error> bad(std::string_view what) {
  return make_error(error_kind::validation, fmt::format("stored log histogram: {}", what));
}

// The 1-2-5 form: the upper bound of the bucket holding the quantile (at most the maximum seen),
// with the bucket's lower bound.
quantile_reading bucket_quantile(const merged_histogram& m, double q) {
  const auto& bounds = latency_histogram::bounds;
  const auto rank =
      static_cast<std::uint64_t>(std::floor(std::clamp(q, 0.0, 1.0) * static_cast<double>(m.h.count - 1)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < m.h.buckets.size(); ++i) {
    seen += m.h.buckets[i];
    if (seen <= rank) continue;
    const double low = i == 0 ? 0.0 : bounds[i - 1];
    const double high = i < bounds.size() ? std::min(bounds[i], m.h.max_seconds) : m.h.max_seconds;
    return {.value = high, .low = std::min(low, high), .high = high};
  }
  return {.value = m.h.max_seconds, .low = 0, .high = m.h.max_seconds};
}

}  // namespace

nlohmann::json log_histogram_json(const log_histogram& h) {
  auto counts = nlohmann::json::array();
  for (const auto& [index, n] : h.buckets()) counts.push_back({index, n});
  return {{"relative_accuracy", log_histogram::relative_accuracy}, {"zero", h.zero_count()}, {"counts", counts}};
}

result<log_histogram> read_log_histogram_json(const nlohmann::json& j) {
  if (!j.is_object()) return bad("not an object");
  const auto accuracy = j.find("relative_accuracy");
  if (accuracy == j.end() || !accuracy->is_number() || accuracy->get<double>() != log_histogram::relative_accuracy) {
    return bad(fmt::format("relative_accuracy {} is not this build's {}",
                           accuracy == j.end() ? "(none)" : accuracy->dump(), log_histogram::relative_accuracy));
  }
  log_histogram h;
  const auto zero = j.find("zero");
  if (zero != j.end()) {
    if (!zero->is_number_unsigned()) return bad(fmt::format("zero {} is not a count", zero->dump()));
    h.set_zero_count(zero->get<std::uint64_t>());
  }
  const auto counts = j.find("counts");
  if (counts == j.end() || !counts->is_array()) return bad("no counts array");
  for (const auto& pair : *counts) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_integer() || !pair[1].is_number_unsigned()) {
      return bad(fmt::format("bucket {} is not [index, count]", pair.dump()));
    }
    const auto index = pair[0].get<std::int64_t>();
    if (index < std::numeric_limits<std::int32_t>::min() || index > std::numeric_limits<std::int32_t>::max()) {
      return bad(fmt::format("bucket index {} is out of range", index));
    }
    const auto i = static_cast<std::int32_t>(index);
    if (h.buckets().contains(i)) return bad(fmt::format("bucket {} is listed twice", i));
    h.set_bucket(i, pair[1].get<std::uint64_t>());
  }
  return h;
}

std::optional<quantile_reading> merged_histogram::quantile(double q) const {
  if (h.count == 0) return std::nullopt;
  if (kind == form::buckets) return bucket_quantile(*this, q);
  const auto e = h.fine.quantile(q);
  if (!e) return std::nullopt;
  // Never above the largest value seen: that only brings the estimate closer to the truth.
  const double value = std::min(e->value, h.max_seconds);
  return quantile_reading{.value = value,
                          .low = std::min(e->low, value),
                          .high = std::min(e->high, h.max_seconds),
                          .relative_error = log_histogram::relative_accuracy};
}

std::optional<merged_histogram> merge_sample_histograms(std::span<const sample* const> rows, std::string_view key) {
  const std::string hist_key = fmt::format("{}_hist", key);
  const std::string buckets_key = fmt::format("{}_buckets", key);
  std::optional<merged_histogram> merged;
  for (const auto* s : rows) {
    const auto j = nlohmann::json::parse(s->extra_json, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;
    latency_histogram h;
    merged_histogram::form kind{};
    if (const auto it = j.find(hist_key); it != j.end()) {
      auto read = read_log_histogram_json(*it);
      if (!read) return std::nullopt;
      h.fine = std::move(*read);
      h.count = h.fine.count();
      kind = merged_histogram::form::log;
    } else if (const auto old = j.find(buckets_key);
               old != j.end() && old->is_array() && old->size() == h.buckets.size()) {
      for (std::size_t i = 0; i < h.buckets.size(); ++i) {
        if (!(*old)[i].is_number_unsigned()) return std::nullopt;
        h.buckets[i] = (*old)[i].get<std::uint64_t>();
        h.count += h.buckets[i];
      }
      kind = merged_histogram::form::buckets;
    } else {
      return std::nullopt;
    }
    if (!merged) merged = merged_histogram{.kind = kind};
    if (merged->kind != kind) return std::nullopt;
    h.sum_seconds = j.value(fmt::format("{}_sum_seconds", key), 0.0);
    h.max_seconds = j.value(fmt::format("{}_max_seconds", key), 0.0);
    merged->h.merge(h);
  }
  return merged;
}

}  // namespace gpusoak::harness
