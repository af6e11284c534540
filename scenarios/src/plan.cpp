#include "gpusoak/scenarios/plan.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "gpusoak/scenarios/scenario.hpp"  // check_scenario_params
#include "gpusoak/scenarios/units.hpp"

namespace gpusoak::scenarios {
namespace {

// Thrown inside this file only, by a check that cannot go on within its part of the plan (a phase
// that is not a mapping, a duration that does not parse), and caught by checker::attempt around
// that part, which records it: the rest of the plan is still checked, so every problem is listed.
struct plan_error {
  int line;
  std::string message;
};

using key_list = std::initializer_list<std::string_view>;

constexpr std::chrono::microseconds max_plan_duration = std::chrono::hours(100'000);
// EGL device indices a plan may name at all; the devices present bound them further where a run
// starts (check_plan_devices).
constexpr int max_device_index = 255;

std::string join(key_list names) {
  std::string out;
  for (const auto name : names) {
    out += out.empty() ? "" : ", ";
    out += name;
  }
  return out;
}

std::string scenario_list() {
  std::string out;
  for (const auto name : known_scenarios) {
    out += out.empty() ? "" : ", ";
    out += name;
  }
  return out;
}

std::string child_path(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

std::string item_path(std::string_view parent, std::size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

std::string_view describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "nothing";
}

class checker {
 public:
  explicit checker(std::string source) : source_(std::move(source)) {}

  // 1-based line of node; fallback where yaml-cpp has no mark for it (a missing key). An empty
  // value ("weight:" and nothing after it) is reported on its key's line: yaml-cpp marks it at
  // the next token, which may be lines further down.
  int line_of(const YAML::Node& node, int fallback) const {
    if (!node.IsDefined()) {
      return fallback;
    }
    if (node.IsNull()) {
      for (const auto& [empty, key_line] : empty_values_) {
        if (empty.is(node)) {
          return key_line;
        }
      }
    }
    const YAML::Mark mark = node.Mark();
    return mark.is_null() ? fallback : mark.line + 1;
  }

  // Remembers the key line of each empty value in map, for line_of.
  void note_empty_values(const YAML::Node& map) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (it->second.IsNull()) {
        empty_values_.emplace_back(it->second, line_of(it->first, 1));
      }
    }
  }

  [[noreturn]] void fail(int line, std::string_view path, std::string_view what) const {
    throw plan_error{line, fmt::format("{}:{}: {}: {}", source_, line, path, what)};
  }
  [[noreturn]] void fail(const YAML::Node& node, std::string_view path, std::string_view what) const {
    fail(line_of(node, 1), path, what);
  }

  // Records a problem and goes on.
  void report(int line, std::string_view path, std::string_view what) {
    problems_.push_back({line, fmt::format("{}:{}: {}: {}", source_, line, path, what)});
  }
  void report(const YAML::Node& node, std::string_view path, std::string_view what) {
    report(line_of(node, 1), path, what);
  }

  // Runs one part's checks; a problem that ends that part is recorded and the caller goes on with
  // the next part. Returns whether the part got through without such a problem.
  template <typename F>
  bool attempt(F&& check) {
    try {
      check();
      return true;
    } catch (const plan_error& e) {
      problems_.push_back({e.line, e.message});
      return false;
    }
  }

  // Every problem recorded, ordered by line (stable: those of one line keep their order), one a
  // line; empty when there are none.
  std::string problems_text() {
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string out;
    for (const auto& [line, text] : problems_) {
      out += out.empty() ? "" : "\n";
      out += text;
    }
    return out;
  }

  // node must be a mapping (else throws); each key not in allowed, or given twice, is a problem.
  void check_map(const YAML::Node& node, std::string_view path, key_list allowed, std::string_view what) {
    if (!node.IsMap()) {
      fail(node, path.empty() ? "plan" : path,
           fmt::format("expected {} (keys {}), got {}", what, join(allowed), describe(node)));
    }
    std::set<std::string, std::less<>> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        report(key, path.empty() ? "plan" : path, fmt::format("keys must be plain names; allowed: {}", join(allowed)));
        continue;
      }
      const std::string& name = key.Scalar();
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        report(key, child_path(path, name), fmt::format("unknown key; allowed: {}", join(allowed)));
      } else if (!seen.insert(name).second) {
        report(key, child_path(path, name), "appears twice");
      }
    }
    note_empty_values(node);
  }

  // The child of a mapping checked by check_map; absent children fail when required.
  YAML::Node required(const YAML::Node& map, std::string_view path, const std::string& key,
                      std::string_view hint) const {
    const YAML::Node child = map[key];
    if (!child.IsDefined() || child.IsNull()) {
      fail(line_of(child, line_of(map, 1)), child_path(path, key), fmt::format("missing; required ({})", hint));
    }
    return child;
  }

  std::string scalar(const YAML::Node& node, std::string_view path, std::string_view hint) const {
    if (!node.IsScalar()) {
      fail(node, path, fmt::format("expected {}, got {}", hint, describe(node)));
    }
    return node.Scalar();
  }

  std::chrono::microseconds duration(const YAML::Node& node, std::string_view path) const {
    const std::string text = scalar(node, path, "a duration (e.g. 30s, 2h)");
    auto value = parse_duration(text);
    if (!value) {
      fail(node, path, value.error().message);
    }
    return *value;
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::vector<std::pair<YAML::Node, int>> empty_values_;  // (empty value, its key's line)
  std::vector<std::pair<int, std::string>> problems_;     // (line, "source:line: path: what")
};

std::string check_name(checker& c, const YAML::Node& node, std::string_view path, std::string_view example) {
  const std::string name = c.scalar(node, path, fmt::format("a name (e.g. {})", example));
  if (!is_valid_plan_name(name)) {
    c.fail(node, path,
           fmt::format("'{}' is not a valid name; use letters, digits, '_' and '-' only (e.g. {})", name, example));
  }
  return name;
}

double check_weight(checker& c, const YAML::Node& node, std::string_view path) {
  const std::string text = c.scalar(node, path, "a number > 0 (e.g. 1, 2.5)");
  double weight = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), weight);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(weight) || weight <= 0) {
    c.fail(node, path, fmt::format("'{}' is not allowed; use a number > 0 (e.g. 1, 2.5)", text));
  }
  return weight;
}

std::map<std::string, param_value, std::less<>> check_params(checker& c, const YAML::Node& node,
                                                             std::string_view path) {
  std::map<std::string, param_value, std::less<>> out;
  constexpr std::string_view hint = "a scalar or a list of scalars";
  if (!node.IsMap()) {
    c.fail(node, path, fmt::format("expected a mapping of parameter names to values, got {}", describe(node)));
  }
  c.note_empty_values(node);
  for (auto it = node.begin(); it != node.end(); ++it) {
    c.attempt([&] {
      const std::string key = c.scalar(it->first, path, "a parameter name");
      const std::string key_path = child_path(path, key);
      const YAML::Node value = it->second;
      param_value param{.line = c.line_of(value, c.line_of(it->first, 1))};
      if (value.IsSequence()) {
        param.is_list = true;
        for (std::size_t i = 0; i < value.size(); ++i) {
          param.items.push_back(c.scalar(value[i], item_path(key_path, i), hint));
        }
      } else {
        param.items.push_back(c.scalar(value, key_path, hint));
      }
      if (!out.emplace(key, std::move(param)).second) {
        c.fail(it->first, key_path, "appears twice");
      }
    });
  }
  return out;
}

scenario_entry check_scenario(checker& c, const YAML::Node& node, std::string_view path) {
  c.check_map(node, path, {"name", "weight", "params"}, "a scenario");
  scenario_entry out{.line = c.line_of(node, 1)};
  const YAML::Node name = c.required(node, path, "name", fmt::format("one of {}", scenario_list()));
  const std::string name_path = child_path(path, "name");
  out.name = c.scalar(name, name_path, "a scenario name");
  if (!is_known_scenario(out.name)) {
    c.fail(name, name_path, fmt::format("unknown scenario '{}'; known: {}", out.name, scenario_list()));
  }
  if (const YAML::Node weight = node["weight"]; weight.IsDefined()) {
    c.attempt([&] { out.weight = check_weight(c, weight, child_path(path, "weight")); });
  }
  if (const YAML::Node params = node["params"]; params.IsDefined() && !params.IsNull()) {
    const std::string params_path = child_path(path, "params");
    c.attempt([&] { out.params = check_params(c, params, params_path); });
    // The scenario's own checks (names, types, units, ranges, shapes), without a GL context: what
    // make_scenario would refuse when the phase starts is refused now.
    for (const auto& problem : check_scenario_params(out.name, out.params)) {
      c.report(problem.line > 0 ? problem.line : out.line, child_path(params_path, problem.param), problem.what);
    }
  }
  return out;
}

phase check_phase(checker& c, const YAML::Node& node, std::string_view path) {
  c.check_map(node, path, {"name", "duration", "scenarios"}, "a phase");
  phase out{.line = c.line_of(node, 1)};
  c.attempt([&] {
    out.name = check_name(c, c.required(node, path, "name", "e.g. warmup"), child_path(path, "name"), "warmup");
  });
  c.attempt([&] {
    out.duration = c.duration(c.required(node, path, "duration", "a positive duration, e.g. 30s, 2h"),
                              child_path(path, "duration"));
  });
  const std::string list_path = child_path(path, "scenarios");
  const YAML::Node list = c.required(node, path, "scenarios", "a list of at least one scenario");
  if (!list.IsSequence() || list.size() == 0) {
    c.fail(list, list_path,
           fmt::format("expected a list of at least one scenario (keys name, weight, params), got {}",
                       list.IsSequence() ? "an empty list" : describe(list)));
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    c.attempt([&] { out.scenarios.push_back(check_scenario(c, list[i], item_path(list_path, i))); });
  }
  return out;
}

std::vector<int> check_devices(checker& c, const YAML::Node& node) {
  constexpr std::string_view hint = "a list of EGL device indices, e.g. [0] or [0, 1]";
  if (!node.IsSequence() || node.size() == 0) {
    c.fail(node, "devices",
           fmt::format("expected {}, got {}", hint, node.IsSequence() ? "an empty list" : describe(node)));
  }
  std::vector<int> out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string path = item_path("devices", i);
    const std::string text = c.scalar(node[i], path, "a device index >= 0");
    int device = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), device);
    if (ec != std::errc{} || end != text.data() + text.size() || device < 0 || device > max_device_index) {
      c.fail(node[i], path,
             fmt::format("'{}' is not a device index; use an integer from 0 to {} (gpusoak devices lists them)", text,
                         max_device_index));
    }
    if (std::find(out.begin(), out.end(), device) != out.end()) {
      c.fail(node[i], path, fmt::format("device {} is listed twice", device));
    }
    out.push_back(device);
  }
  return out;
}

// Checks of the plan as a whole, after its parts: the one place such checks go, each one more
// source of problems. They see every part that parsed (a phase whose duration did not parse is
// left out of the sums). Threshold coverage waits until every threshold parsed, so that
// thresholds[i] in its messages is the plan's own i-th threshold.
void check_whole_plan(checker& c, const plan& p, bool thresholds_parsed) {
  if (thresholds_parsed) {
    for (const auto& problem : check_threshold_coverage(p)) {
      c.report(p.threshold_lines.at(problem.index), item_path("thresholds", problem.index), problem.what);
    }
  }
  // Each phase is at most 100000h; so is the whole plan, so that adding the phases up cannot
  // overflow however many a plan from a request has.
  std::chrono::microseconds total{0};
  for (const auto& ph : p.phases) {
    total += ph.duration;
    if (total > max_plan_duration) {
      c.report(ph.line, "phases",
               fmt::format("the phases up to '{}' last over {}, the longest plan allowed", ph.name,
                           format_duration(max_plan_duration)));
      break;
    }
  }
}

plan check_plan(checker& c, const YAML::Node& root) {
  c.check_map(root, "", {"name", "description", "devices", "sample_interval", "phases", "thresholds"}, "a plan");
  plan out;
  out.source = c.source();
  c.attempt([&] { out.name = check_name(c, c.required(root, "", "name", "e.g. nightly"), "name", "nightly"); });
  if (const YAML::Node description = root["description"]; description.IsDefined() && !description.IsNull()) {
    c.attempt([&] { out.description = c.scalar(description, "description", "text"); });
  }
  if (const YAML::Node devices = root["devices"]; devices.IsDefined()) {
    c.attempt([&] { out.devices = check_devices(c, devices); });
  }
  if (const YAML::Node interval = root["sample_interval"]; interval.IsDefined()) {
    c.attempt([&] { out.sample_interval = c.duration(interval, "sample_interval"); });
  }
  c.attempt([&] {
    const YAML::Node phases =
        c.required(root, "", "phases", "a list of at least one phase with keys name, duration, scenarios");
    if (!phases.IsSequence() || phases.size() == 0) {
      c.fail(phases, "phases",
             fmt::format("expected a list of at least one phase (keys name, duration, scenarios), got {}",
                         phases.IsSequence() ? "an empty list" : describe(phases)));
    }
    for (std::size_t i = 0; i < phases.size(); ++i) {
      const std::string path = item_path("phases", i);
      c.attempt([&] {
        phase p = check_phase(c, phases[i], path);
        for (const auto& earlier : out.phases) {
          if (!p.name.empty() && earlier.name == p.name) {
            c.report(c.line_of(phases[i]["name"], p.line), child_path(path, "name"),
                     fmt::format("phase name '{}' is already used on line {}; phase names must be unique", p.name,
                                 earlier.line));
          }
        }
        out.phases.push_back(std::move(p));
      });
    }
  });
  bool thresholds_parsed = true;
  if (const YAML::Node thresholds = root["thresholds"]; thresholds.IsDefined() && !thresholds.IsNull()) {
    c.attempt([&] {
      if (!thresholds.IsSequence()) {
        c.fail(thresholds, "thresholds",
               fmt::format("expected a list of quoted thresholds (e.g. - \"errors_total == 0\"), got {}",
                           describe(thresholds)));
      }
      for (std::size_t i = 0; i < thresholds.size(); ++i) {
        thresholds_parsed &= c.attempt([&] {
          const std::string path = item_path("thresholds", i);
          const std::string text =
              c.scalar(thresholds[i], path, "a quoted threshold such as \"p99(op_latency_seconds) < 200us\"");
          auto parsed = parse_threshold(text);
          if (!parsed) {
            c.fail(thresholds[i], path, parsed.error().message);
          }
          out.thresholds.push_back(std::move(*parsed));
          out.threshold_lines.push_back(c.line_of(thresholds[i], 1));
        });
      }
    });
  }
  check_whole_plan(c, out, thresholds_parsed);
  return out;
}

std::unexpected<error> invalid(std::string message) {
  return make_error(error_kind::validation, std::move(message));
}

}  // namespace

std::chrono::microseconds plan::total_duration() const {
  std::chrono::microseconds total{0};
  for (const auto& p : phases) {
    total += p.duration;
  }
  return total;
}

result<plan> plan::scaled(double factor) const {
  if (!std::isfinite(factor) || factor <= 0) {
    return invalid(
        fmt::format("time scale {} is not allowed; use a number > 0 (e.g. 0.01 to run 1% of each phase)", factor));
  }
  constexpr double longest = static_cast<double>(std::numeric_limits<std::int64_t>::max() / 2);
  plan out = *this;
  double total_us = 0;  // each phase may fit while their sum does not: total_duration() adds them up
  for (auto& p : out.phases) {
    const double us = std::round(static_cast<double>(p.duration.count()) * factor);
    total_us += us;
    if (us > longest || total_us > longest) {
      return invalid(
          us > longest
              ? fmt::format("time scale {} makes phase '{}' ({}) too long", factor, p.name, format_duration(p.duration))
              : fmt::format("time scale {} makes the plan ({}) too long", factor, format_duration(total_duration())));
    }
    p.duration = std::chrono::microseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(us)));
  }
  const double sample_us = std::round(static_cast<double>(sample_interval.count()) * factor);
  const std::chrono::microseconds floor = std::min(sample_interval, std::chrono::microseconds(100'000));
  out.sample_interval =
      std::max(floor, std::chrono::microseconds(static_cast<std::int64_t>(std::min(sample_us, longest))));
  return out;
}

std::vector<std::string> problem_lines(std::string_view message) {
  std::vector<std::string> out;
  while (!message.empty()) {
    const auto end = message.find('\n');
    if (const auto line = message.substr(0, end); !line.empty()) out.emplace_back(line);
    if (end == std::string_view::npos) break;
    message.remove_prefix(end + 1);
  }
  return out;
}

namespace {

// x rounded up to two significant digits (0.01234 -> 0.013), so a suggested time scale is short
// to type and still enough.
double round_up_2(double x) {
  const double unit = std::pow(10.0, std::floor(std::log10(x)) - 1);
  return std::ceil(x / unit * (1 - 1e-12)) * unit;
}

// Whether `duration` spans min_samples_per_phase sample intervals. Divided, not multiplied: a plan
// scaled far up carries intervals near 2^62us, whose triple overflows.
bool spans_samples(std::chrono::microseconds duration, std::chrono::microseconds interval) {
  return duration / min_samples_per_phase >= interval;
}

// Whether every phase of `scaled` spans min_samples_per_phase sample intervals.
bool enough_samples(const plan& scaled) {
  return std::ranges::all_of(scaled.phases,
                             [&](const phase& ph) { return spans_samples(ph.duration, scaled.sample_interval); });
}

}  // namespace

result<plan> scale_for_run(const plan& p, double factor) {
  auto scaled = p.scaled(factor);
  if (!scaled) return scaled;
  std::vector<std::string> problems;
  const double total_h = std::chrono::duration<double, std::ratio<3600>>(p.total_duration()).count();
  if (scaled->total_duration() > max_run_duration) {
    problems.push_back(
        fmt::format("time scale {:g} makes the plan last {:.0f}h ({} x {:g}); a run lasts at most {}h: "
                    "use a time scale <= {:.6g}",
                    factor, total_h * factor, format_duration(p.total_duration()), factor, max_run_duration.count(),
                    static_cast<double>(max_run_duration.count()) / total_h));
  }
  if (!enough_samples(*scaled)) {
    // The sample interval scales too, but not below min(its own value, 100ms) (plan::scaled): a
    // phase that spans 3 intervals unscaled keeps doing so down to the time scale where its
    // interval meets that floor; below it, only a larger time scale helps.
    const auto floor = std::min(p.sample_interval, std::chrono::microseconds(100'000));
    double needed = 0;
    for (const auto& ph : p.phases) {
      needed = std::max(needed, min_samples_per_phase * static_cast<double>(floor.count()) /
                                    static_cast<double>(ph.duration.count()));
    }
    double suggest = round_up_2(std::max(needed, std::numeric_limits<double>::min()));
    for (int i = 0; i < 4; ++i) {  // durations round to microseconds: nudge up until it works
      auto tried = p.scaled(suggest);
      if (tried && enough_samples(*tried)) break;
      suggest = round_up_2(suggest * 1.05);
    }
    const auto fits = p.scaled(suggest);
    const bool any_scale_works = fits && enough_samples(*fits);
    for (std::size_t i = 0; i < scaled->phases.size(); ++i) {
      const auto& ph = scaled->phases[i];
      if (spans_samples(ph.duration, scaled->sample_interval)) continue;
      const auto& orig = p.phases[i];
      if (!spans_samples(orig.duration, p.sample_interval) || !any_scale_works) {
        problems.push_back(fmt::format(
            "{}:{}: phases[{}].duration: phase '{}' lasts {}, less than {} samples of sample_interval {}; each "
            "scenario needs at least {} samples in each phase to be gated: make the phase at least {} or "
            "sample_interval at most {}",
            p.source, orig.line, i, orig.name, format_duration(orig.duration), min_samples_per_phase,
            format_duration(p.sample_interval), min_samples_per_phase,
            format_duration(p.sample_interval > std::chrono::microseconds::max() / min_samples_per_phase
                                ? std::chrono::microseconds::max()
                                : min_samples_per_phase * p.sample_interval),
            format_duration(std::max(std::chrono::microseconds(1), orig.duration / min_samples_per_phase))));
        continue;
      }
      problems.push_back(
          fmt::format("phases[{}] ({}) lasts {} at time scale {:g}; each scenario needs at least {} "
                      "samples of {} in each phase to be gated: use a time scale >= {:.2g}",
                      i, ph.name, format_duration(ph.duration), factor, min_samples_per_phase,
                      format_duration(scaled->sample_interval), suggest));
    }
  }
  if (problems.empty()) return scaled;
  return invalid(fmt::format("{}", fmt::join(problems, "\n")));
}

result<void> check_plan_devices(const plan& p, std::size_t present) {
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < p.devices.size(); ++i) {
    if (p.devices[i] >= 0 && static_cast<std::size_t>(p.devices[i]) < present) continue;
    problems.push_back(
        fmt::format("{}: devices[{}]: EGL device {} is not present; {} EGL device{} here ({}); "
                    "gpusoak devices lists them",
                    p.source, i, p.devices[i], present, present == 1 ? " is" : "s are",
                    present == 0   ? std::string("none")
                    : present == 1 ? std::string("index 0")
                                   : fmt::format("index 0 to {}", present - 1)));
  }
  if (problems.empty()) return {};
  return invalid(fmt::format("{}", fmt::join(problems, "\n")));
}

bool is_valid_plan_name(std::string_view name) noexcept {
  if (name.empty()) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
  });
}

result<plan> parse_plan(std::string_view text, std::string_view source_name) {
  checker c{std::string(source_name)};
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsDefined() || root.IsNull()) {
      return invalid(
          fmt::format("{}:1: plan: the document is empty; a plan needs at least name and phases", source_name));
    }
    plan out = check_plan(c, root);
    if (std::string problems = c.problems_text(); !problems.empty()) {
      return invalid(std::move(problems));
    }
    return out;
  } catch (const plan_error& e) {  // the root is not a mapping
    return invalid(e.message);
  } catch (const YAML::Exception& e) {
    return invalid(fmt::format("{}:{}: plan: malformed YAML at column {}: {}", source_name,
                               e.mark.is_null() ? 1 : e.mark.line + 1, e.mark.is_null() ? 1 : e.mark.column + 1,
                               e.msg));
  } catch (const std::exception& e) {
    return make_error(error_kind::internal, fmt::format("{}: reading the plan failed: {}", source_name, e.what()));
  }
}

result<plan> load_plan_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return make_error(error_kind::io, fmt::format("{}: cannot read the plan: it is a directory", path.string()));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    const int why = errno;
    return make_error(why == ENOENT ? error_kind::not_found : error_kind::io,
                      fmt::format("{}: cannot read the plan: {}", path.string(), std::strerror(why)));
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return make_error(error_kind::io, fmt::format("{}: reading the plan failed", path.string()));
  }
  return parse_plan(text.str(), path.string());
}

result<std::filesystem::path> find_named_plan(std::span<const std::filesystem::path> plans_dirs,
                                              std::string_view name) {
  if (!is_valid_plan_name(name)) {
    return invalid(
        fmt::format("plan name '{}' is not allowed; use letters, digits, '_' and '-' only "
                    "(e.g. smoke, nightly), or give a file path",
                    name));
  }
  std::error_code ec;
  for (const auto& dir : plans_dirs) {
    const std::filesystem::path file = dir / fmt::format("{}.yaml", name);
    if (std::filesystem::is_regular_file(file, ec)) return file;
  }
  std::set<std::string> available;  // sorted, each name once however many folders hold it
  std::vector<std::string> searched;
  for (const auto& dir : plans_dirs) {
    searched.push_back(dir.string());
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".yaml" && is_valid_plan_name(entry.path().stem().string())) {
        available.insert(entry.path().stem().string());
      }
    }
  }
  return make_error(
      error_kind::not_found,
      fmt::format("no plan named '{}' in {}; available: {}", name, fmt::join(searched, " or "),
                  available.empty() ? std::string("none") : fmt::format("{}", fmt::join(available, ", "))));
}

result<plan> load_named_plan(const std::filesystem::path& plans_dir, std::string_view name) {
  GPUSOAK_TRY_ASSIGN(auto file, find_named_plan(std::span(&plans_dir, 1), name));
  return load_plan_file(file);
}

}  // namespace gpusoak::scenarios
