// Latencies in logarithmic buckets with a bounded relative error, for quantiles the gate can judge
// (a p99 read to within 1% of the true p99, not as a 1-2-5 bucket's upper bound).
//
// The bucket mapping is DDSketch's (Masson, Rim and Lee, "DDSketch: A Fast and Fully-Mergeable
// Quantile Sketch with Relative-Error Guarantees", PVLDB 12(12): 2195-2205, 2019,
// https://www.vldb.org/pvldb/vol12/p2195-masson.pdf, section 2.1 and Algorithm 2): with
// gamma = (1 + a) / (1 - a), a value x > 0 goes into bucket i = ceil(log_gamma(x)), which holds
// (gamma^(i-1), gamma^i]; the estimate 2 gamma^i / (gamma + 1) of any value in that bucket is within
// a relative error a of it. Buckets are never collapsed (the paper's bounded-size variant is not
// needed: a latency spread over 9 decades is about 1000 buckets, and a run's are far fewer), so
// the bound holds for every quantile, and two histograms merge exactly by adding their counts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace gpusoak::scenarios {

class log_histogram {
 public:
  // The relative accuracy a: every quantile estimate is within a * (true value) of the true value.
  static constexpr double relative_accuracy = 0.01;
  static constexpr double gamma = (1 + relative_accuracy) / (1 - relative_accuracy);
  // Values below this (and zero, negative or NaN values) count in the zero bucket, read as 0.
  static constexpr double min_value = 1e-9;

  // Adds `count` observations of `value`.
  void add(double value, std::uint64_t count = 1);
  // Adds other's counts bucket by bucket: the result is the histogram of both sets of values.
  void merge(const log_histogram& other);

  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  // Non-empty buckets only, by index (bucket i holds (gamma^(i-1), gamma^i]).
  [[nodiscard]] const std::map<std::int32_t, std::uint64_t>& buckets() const noexcept { return buckets_; }
  [[nodiscard]] std::uint64_t zero_count() const noexcept { return zero_; }
  // Sets a bucket's count (reading a stored histogram back); a count of 0 removes the bucket.
  void set_bucket(std::int32_t index, std::uint64_t count);
  void set_zero_count(std::uint64_t count);

  [[nodiscard]] static std::int32_t index_of(double value) noexcept;  // for value >= min_value
  [[nodiscard]] static double lower_bound(std::int32_t index) noexcept;
  [[nodiscard]] static double upper_bound(std::int32_t index) noexcept;

  struct estimate {
    double value = 0;  // within relative_accuracy of the true quantile
    double low = 0;    // the bucket holding it: the true quantile lies in (low, high]
    double high = 0;   // ([0, min_value) for the zero bucket)
  };
  // The q-quantile (q in [0, 1], clamped) as the value of rank floor(q * (count - 1)) (from 0) in
  // the sorted observations, the paper's definition; nullopt when empty.
  [[nodiscard]] std::optional<estimate> quantile(double q) const;

  friend bool operator==(const log_histogram&, const log_histogram&) = default;

 private:
  std::map<std::int32_t, std::uint64_t> buckets_;
  std::uint64_t zero_ = 0;
  std::uint64_t count_ = 0;
};

}  // namespace gpusoak::scenarios
