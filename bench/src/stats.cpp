#include "stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace gpusoak::bench::detail {

summary summarize(std::vector<double> samples) {
  summary s;
  if (samples.empty()) {
    return s;
  }
  std::ranges::sort(samples);
  const std::size_t n = samples.size();
  s.count = static_cast<int>(n);
  s.min = samples.front();
  s.max = samples.back();
  s.median = n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  // Nearest-rank p99: the smallest sample with at least 99% of samples at or below it.
  const auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(n)));
  s.p99 = samples[std::clamp<std::size_t>(rank, 1, n) - 1];
  return s;
}

}  // namespace gpusoak::bench::detail
