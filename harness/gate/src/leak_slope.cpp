#include "gpusoak/harness/leak_slope.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

namespace gpusoak::harness {
namespace {

bool all_finite(std::span<const point> points) {
  return std::ranges::all_of(points, [](const point& p) { return std::isfinite(p.x) && std::isfinite(p.y); });
}

// Every k-th point so that at most max_points remain, always keeping the last one.
std::vector<point> subsample(std::span<const point> points, std::size_t max_points) {
  if (max_points < 2) max_points = 2;
  if (points.size() <= max_points) return {points.begin(), points.end()};
  std::vector<point> out;
  out.reserve(max_points);
  const double step = static_cast<double>(points.size() - 1) / static_cast<double>(max_points - 1);
  for (std::size_t i = 0; i < max_points; ++i) {
    const auto index = static_cast<std::size_t>(std::llround(static_cast<double>(i) * step));
    out.push_back(points[std::min(index, points.size() - 1)]);
  }
  return out;
}

}  // namespace

std::optional<double> theil_sen_slope(std::span<const point> points, std::size_t max_points) {
  if (points.size() < 2 || !all_finite(points)) return std::nullopt;
  const auto used = subsample(points, max_points);
  std::vector<double> slopes;
  slopes.reserve(used.size() * (used.size() - 1) / 2);
  for (std::size_t i = 0; i < used.size(); ++i) {
    for (std::size_t j = i + 1; j < used.size(); ++j) {
      const double dx = used[j].x - used[i].x;
      if (dx == 0) continue;
      slopes.push_back((used[j].y - used[i].y) / dx);
    }
  }
  if (slopes.empty()) return std::nullopt;
  const std::size_t mid = slopes.size() / 2;
  std::ranges::nth_element(slopes, slopes.begin() + static_cast<std::ptrdiff_t>(mid));
  const double upper = slopes[mid];
  if (slopes.size() % 2 == 1) return upper;
  const double lower = *std::max_element(slopes.begin(), slopes.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

std::optional<double> least_squares_slope(std::span<const point> points) {
  if (points.size() < 2 || !all_finite(points)) return std::nullopt;
  double mean_x = 0, mean_y = 0;
  for (const auto& p : points) {
    mean_x += p.x;
    mean_y += p.y;
  }
  mean_x /= static_cast<double>(points.size());
  mean_y /= static_cast<double>(points.size());
  double sxy = 0, sxx = 0;
  for (const auto& p : points) {
    sxy += (p.x - mean_x) * (p.y - mean_y);
    sxx += (p.x - mean_x) * (p.x - mean_x);
  }
  if (sxx == 0) return std::nullopt;
  return sxy / sxx;
}

bool thinned_series::add(point p) {
  // Points held are those whose offer index is a multiple of the stride; halving keeps the even
  // ones among them, the multiples of the doubled stride, so the rule holds across halvings.
  if (offered_++ % stride_ != 0) return false;
  points_.push_back(p);
  if (points_.size() < 2 * max_points_) return true;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < points_.size(); i += 2) points_[kept++] = points_[i];
  points_.resize(kept);
  stride_ *= 2;
  return true;
}

void thinned_series::clear() {
  points_.clear();
  stride_ = 1;
  offered_ = 0;
}

namespace {

// The series' value in one sample; empty when the sample does not carry it.
std::optional<double> series_value(const sample& s, std::string_view key) {
  if (key == "live_bytes") return static_cast<double>(s.live_bytes);
  if (key == "rss_bytes") return static_cast<double>(s.rss_bytes);
  const auto j = nlohmann::json::parse(s.extra_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  return std::isfinite(v) ? std::optional(v) : std::nullopt;
}

// The Theil-Sen slope of one phase's instants (by time) after its warm-up.
leak_fit fit_after_warmup(const std::map<double, double>& by_t, double warmup_fraction) {
  leak_fit fit;
  if (by_t.empty()) return fit;
  const double t0 = by_t.begin()->first;
  const double cut = t0 + warmup_fraction * (by_t.rbegin()->first - t0);
  std::vector<point> points;
  for (const auto& [t, value] : by_t) {
    if (t >= cut) points.push_back({t / 3600.0, value});
  }
  fit.points = points.size();
  if (points.size() >= min_leak_points) fit.slope = theil_sen_slope(points);
  return fit;
}

std::string phase_name(const std::optional<std::int64_t>& phase, std::span<const phase_record> phases) {
  if (!phase) return "the run (its samples carry no phase)";
  const auto it = std::ranges::find(phases, *phase, &phase_record::index);
  if (it == phases.end()) return fmt::format("phase {}", *phase);
  return fmt::format("phase {} '{}'", *phase, it->name);
}

std::string where(const leak_fit& fit, std::span<const phase_record> phases) {
  std::string text = phase_name(fit.phase, phases);
  if (!fit.context.empty()) {
    text += fmt::format(", context {}", fit.context);
  } else if (fit.contexts > 1) {
    text += fmt::format(", {} contexts summed", fit.contexts);
  }
  return text;
}

}  // namespace

std::vector<leak_fit> fit_leak_slopes(std::span<const sample* const> samples, const memory_series& series,
                                      double warmup_fraction) {
  // phase -> context ("" for a per-process series) -> t -> value; the first sample at an instant wins.
  std::map<std::optional<std::int64_t>, std::map<std::string, std::map<double, double>>> grouped;
  for (const auto* s : samples) {
    const auto value = series_value(*s, series.key);
    if (!value) continue;
    grouped[s->phase][series.per_context ? s->context : std::string()].emplace(s->t_seconds, *value);
  }
  std::vector<leak_fit> fits;
  for (const auto& [phase, contexts] : grouped) {
    leak_fit total{.phase = phase, .slope = 0.0, .contexts = 0};
    for (const auto& [context, by_t] : contexts) {
      leak_fit fit = fit_after_warmup(by_t, warmup_fraction);
      fit.phase = phase;
      fit.context = context;
      if (fit.slope) {
        *total.slope += *fit.slope;
        total.points = std::max(total.points, fit.points);
        ++total.contexts;
      }
      fits.push_back(std::move(fit));
    }
    // Several contexts each growing a little can add up to a leak none of them shows alone.
    if (total.contexts > 1) fits.push_back(std::move(total));
  }
  return fits;
}

const leak_fit* worst_leak_fit(std::span<const leak_fit> fits) {
  const leak_fit* worst = nullptr;
  for (const auto& fit : fits) {
    if (fit.slope && (worst == nullptr || *fit.slope > *worst->slope)) worst = &fit;
  }
  return worst;
}

std::string describe_leak_fits(std::span<const leak_fit> fits, const leak_fit& worst,
                               std::span<const phase_record> phases, std::string_view key, double warmup_fraction) {
  std::string text =
      fmt::format("worst: {}: {}, Theil-Sen slope of {} over {} samples after the phase's {:.0f}% warm-up",
                  where(worst, phases), format_slope(*worst.slope), key, worst.points, warmup_fraction * 100);
  // Every other phase's worst fit, so a reader sees what the worst was judged against.
  std::map<std::optional<std::int64_t>, const leak_fit*> others;
  std::vector<const leak_fit*> short_phases;
  for (const auto& fit : fits) {
    if (!fit.slope) {
      short_phases.push_back(&fit);
      continue;
    }
    if (fit.phase == worst.phase) continue;
    auto& best = others[fit.phase];
    if (best == nullptr || *fit.slope > *best->slope) best = &fit;
  }
  if (!others.empty()) {
    text += "; other phases:";
    for (const auto& [phase, fit] : others) {
      text += fmt::format(" {}: {} ({} samples),", where(*fit, phases), format_slope(*fit->slope), fit->points);
    }
    text.pop_back();
  }
  for (const auto* fit : short_phases) {
    text += fmt::format("; {}: {} samples after its warm-up, too few to judge alone (needs {})", where(*fit, phases),
                        fit->points, min_leak_points);
  }
  return text;
}

std::string format_slope(double bytes_per_hour) {
  constexpr std::array<const char*, 5> units{"B", "KiB", "MiB", "GiB", "TiB"};
  double v = std::fabs(bytes_per_hour);
  std::size_t i = 0;
  for (; v >= 1024 && i + 1 < units.size(); ++i) v /= 1024;
  return fmt::format("{}{:.4g}{}/h", bytes_per_hour < 0 ? "-" : "+", v, units[i]);
}

}  // namespace gpusoak::harness
