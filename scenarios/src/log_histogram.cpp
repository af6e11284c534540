#include "gpusoak/scenarios/log_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace gpusoak::scenarios {
namespace {

const double log_gamma = std::log(log_histogram::gamma);

}  // namespace

std::int32_t log_histogram::index_of(double value) noexcept {
  return static_cast<std::int32_t>(std::ceil(std::log(value) / log_gamma));
}

double log_histogram::lower_bound(std::int32_t index) noexcept {
  return std::exp(static_cast<double>(index - 1) * log_gamma);
}

double log_histogram::upper_bound(std::int32_t index) noexcept {
  return std::exp(static_cast<double>(index) * log_gamma);
}

void log_histogram::add(double value, std::uint64_t count) {
  if (count == 0) return;
  count_ += count;
  // !(value >= min_value) also sends NaN to the zero bucket.
  if (!(value >= min_value)) {
    zero_ += count;
    return;
  }
  buckets_[index_of(std::min(value, 1e300))] += count;
}

void log_histogram::merge(const log_histogram& other) {
  for (const auto& [index, n] : other.buckets_) buckets_[index] += n;
  zero_ += other.zero_;
  count_ += other.count_;
}

void log_histogram::set_bucket(std::int32_t index, std::uint64_t count) {
  const auto it = buckets_.find(index);
  if (it != buckets_.end()) {
    count_ -= it->second;
    buckets_.erase(it);
  }
  if (count == 0) return;
  buckets_[index] = count;
  count_ += count;
}

void log_histogram::set_zero_count(std::uint64_t count) {
  count_ = count_ - zero_ + count;
  zero_ = count;
}

std::optional<log_histogram::estimate> log_histogram::quantile(double q) const {
  if (count_ == 0) return std::nullopt;
  const double clamped = std::isnan(q) ? 0.0 : std::clamp(q, 0.0, 1.0);
  // The rank from 0; the observation at it lies in the first bucket whose running count passes it.
  const auto rank = static_cast<std::uint64_t>(std::floor(clamped * static_cast<double>(count_ - 1)));
  std::uint64_t seen = zero_;
  if (seen > rank) return estimate{.value = 0, .low = 0, .high = min_value};
  for (const auto& [index, n] : buckets_) {
    seen += n;
    if (seen > rank) {
      // 2 gamma^i / (gamma + 1): the point of (gamma^(i-1), gamma^i] within a relative a of both ends.
      return estimate{
          .value = 2 * upper_bound(index) / (gamma + 1), .low = lower_bound(index), .high = upper_bound(index)};
    }
  }
  return std::nullopt;  // unreachable: the counts add up to count_
}

}  // namespace gpusoak::scenarios
