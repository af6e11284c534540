// How a sample keeps an interval's latency histogram in its extra_json (docs/metrics.md), and the
// histogram a run's samples add up to, for the gate's quantiles.
//
// Samples store, for a histogram series with catalog key KEY (metric_catalog.hpp, `buckets`):
//   KEY_hist         the interval's log_histogram, only its non-empty buckets:
//                    {"relative_accuracy": 0.01, "zero": 0, "counts": [[index, count], ...]}
//   KEY_sum_seconds  the sum of the interval's values
//   KEY_max_seconds  their maximum
// Runs stored before log histograms have KEY_buckets instead of KEY_hist: the interval's counts in
// the 1-2-5 buckets of scenarios::latency_histogram::bounds (20 numbers, the last one > 1s). Both
// forms add up exactly across samples (bucket counts add), so a resumed run's samples merge like
// any others.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "gpusoak/error.hpp"
#include "gpusoak/harness/run_model.hpp"
#include "gpusoak/scenarios/log_histogram.hpp"
#include "gpusoak/scenarios/scenario.hpp"

namespace gpusoak::harness {

// The KEY_hist value for `h`.
[[nodiscard]] nlohmann::json log_histogram_json(const scenarios::log_histogram& h);
// Reads a KEY_hist value back. Errors (validation) say what is wrong: not an object, another
// relative accuracy (its buckets would not line up with ours), a bad bucket.
[[nodiscard]] result<scenarios::log_histogram> read_log_histogram_json(const nlohmann::json& j);

// A quantile read from stored histograms, with where the true value lies.
struct quantile_reading {
  double value = 0;
  double low = 0, high = 0;  // the true quantile lies in [low, high]
  // The log histogram's relative accuracy (value is within this share of the true quantile);
  // unset for the 1-2-5 buckets of old runs, whose value is the bucket's upper bound.
  std::optional<double> relative_error;
};

// The interval histograms of some samples, added up.
struct merged_histogram {
  enum class form {
    log,      // every sample had KEY_hist
    buckets,  // every sample had the old KEY_buckets (a run stored before log histograms)
  };
  form kind = form::log;
  // `fine` filled for form::log, `buckets` for form::buckets; count, sum and max for both.
  scenarios::latency_histogram h;

  // The q-quantile (rank floor(q * (h.count - 1)) from 0); nullopt when h.count is 0.
  [[nodiscard]] std::optional<quantile_reading> quantile(double q) const;
};

// The rows' KEY histograms added up; nullopt when a row has neither form, a bad one, or the rows
// mix the two forms (the gate then falls back to the per-sample quantile columns).
[[nodiscard]] std::optional<merged_histogram> merge_sample_histograms(std::span<const sample* const> rows,
                                                                      std::string_view key);

}  // namespace gpusoak::harness
