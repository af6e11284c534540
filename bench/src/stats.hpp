// Order statistics of timing samples.
#pragma once

#include <vector>

namespace gpusoak::bench::detail {

struct summary {
  double median = 0;  // mean of the two middle samples for an even count
  double p99 = 0;     // nearest rank: with fewer than 100 samples this is the maximum
  double min = 0;
  double max = 0;
  int count = 0;
};

// Summarizes samples (any order; taken by value because it sorts). Empty gives all zeros.
[[nodiscard]] summary summarize(std::vector<double> samples);

}  // namespace gpusoak::bench::detail
