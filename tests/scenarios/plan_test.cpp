#include "gpusoak/scenarios/plan.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

namespace gpusoak::scenarios {
namespace {

using namespace std::chrono_literals;

const std::filesystem::path plans_dir = GPUSOAK_PLANS_DIR;

// checks that a plan using every field parses, with values in base units and parameters kept as text
TEST(PlanTest, ParsesEveryField) {
  const auto p = parse_plan(R"(name: full
description: every field
devices: [0, 1]
sample_interval: 250ms
phases:
  - name: warmup
    duration: 2m
    scenarios:
      - name: conv2d_steady
        weight: 1
        params: {shapes: ["N1 C3 32x32 K16 3x3 p1"], path: zero-copy}
      - name: fragmentation
        weight: 2.5
        params: {pool_chunk: 64MiB, max_block: 1MiB}
thresholds:
  - "p99(conv2d_latency_seconds) < 50ms"
  - "errors_total == 0"
)",
                            "full.yaml");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->name, "full");
  EXPECT_EQ(p->description, "every field");
  EXPECT_EQ(p->devices, (std::vector<int>{0, 1}));
  EXPECT_EQ(p->sample_interval, 250ms);
  EXPECT_EQ(p->source, "full.yaml");
  ASSERT_EQ(p->phases.size(), 1u);
  const phase& warmup = p->phases[0];
  EXPECT_EQ(warmup.name, "warmup");
  EXPECT_EQ(warmup.duration, 2min);
  EXPECT_EQ(warmup.line, 6);
  ASSERT_EQ(warmup.scenarios.size(), 2u);
  EXPECT_EQ(warmup.scenarios[0].name, "conv2d_steady");
  EXPECT_EQ(warmup.scenarios[0].line, 9);
  const param_value& shapes = warmup.scenarios[0].params.at("shapes");
  EXPECT_TRUE(shapes.is_list);
  EXPECT_EQ(shapes.items, (std::vector<std::string>{"N1 C3 32x32 K16 3x3 p1"}));
  EXPECT_EQ(shapes.line, 11);
  EXPECT_EQ(warmup.scenarios[0].params.at("path").items, (std::vector<std::string>{"zero-copy"}));
  EXPECT_FALSE(warmup.scenarios[0].params.at("path").is_list);
  EXPECT_DOUBLE_EQ(warmup.scenarios[1].weight, 2.5);
  EXPECT_EQ(warmup.scenarios[1].params.at("pool_chunk").items[0], "64MiB");
  ASSERT_EQ(p->thresholds.size(), 2u);
  EXPECT_EQ(to_string(p->thresholds[1]), "errors_total == 0");
}

// checks that optional fields take their documented defaults
TEST(PlanTest, AppliesDefaults) {
  const auto p =
      parse_plan("name: tiny\nphases: [{name: only, duration: 1s, scenarios: [{name: oom}]}]\n", "tiny.yaml");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->devices, (std::vector<int>{0}));
  EXPECT_EQ(p->sample_interval, 5s);
  EXPECT_DOUBLE_EQ(p->phases[0].scenarios[0].weight, 1.0);
  EXPECT_TRUE(p->phases[0].scenarios[0].params.empty());
  EXPECT_TRUE(p->thresholds.empty());
  EXPECT_EQ(p->total_duration(), 1s);
}

// checks that the shipped plans load by name, last 2m/1h/24h, and each covers all six scenarios
TEST(PlanTest, ShippedPlansLoad) {
  const std::vector<std::pair<std::string, std::chrono::microseconds>> shipped{
      {"smoke", 2min}, {"nightly", 1h}, {"release", 24h}};
  for (const auto& [name, total] : shipped) {
    const auto p = load_named_plan(plans_dir, name);
    ASSERT_TRUE(p) << name << ": " << p.error().message;
    EXPECT_EQ(p->name, name);
    EXPECT_EQ(p->total_duration(), total) << name;
    std::set<std::string> covered;
    for (const auto& ph : p->phases) {
      for (const auto& s : ph.scenarios) covered.insert(s.name);
    }
    EXPECT_EQ(covered.size(), known_scenarios.size()) << name;
    EXPECT_FALSE(p->thresholds.empty()) << name;
    EXPECT_NE(p->source.find(name + ".yaml"), std::string::npos);
  }
}

// checks that scaling shrinks every phase, keeps a sane sample interval and rejects factors <= 0
TEST(PlanTest, TimeScaleShrinksDurations) {
  const auto nightly = load_named_plan(plans_dir, "nightly");
  ASSERT_TRUE(nightly) << nightly.error().message;
  const auto fast = nightly->scaled(1.0 / 30);
  ASSERT_TRUE(fast) << fast.error().message;
  EXPECT_EQ(fast->total_duration(), 2min);
  EXPECT_EQ(fast->phases[0].duration, 10s);
  EXPECT_EQ(fast->sample_interval, std::chrono::microseconds(166'667));
  EXPECT_EQ(nightly->total_duration(), 1h);  // the original is unchanged

  const auto release = load_named_plan(plans_dir, "release");
  ASSERT_TRUE(release) << release.error().message;
  EXPECT_EQ(release->scaled(1.0 / 720).value().total_duration(), 2min);
  const auto tiny = release->scaled(1e-12).value();
  for (const auto& ph : tiny.phases) EXPECT_EQ(ph.duration, 1us) << ph.name;
  EXPECT_EQ(tiny.sample_interval, 100ms);
  EXPECT_EQ(release->scaled(2).value().total_duration(), 48h);

  for (const double bad : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    const auto scaled = nightly->scaled(bad);
    ASSERT_FALSE(scaled) << bad;
    EXPECT_NE(scaled.error().message.find("use a number > 0"), std::string::npos) << scaled.error().message;
  }
}

// checks that a plan's phases add up to 100000h at most, and that a time scale whose phases each
// fit but whose sum does not is refused (regression: total_duration() overflowed int64, undefined
// behaviour, for plans of three 33000h phases scaled by 38000; found writing fuzz/fuzz_plan)
TEST(PlanTest, TotalDurationCannotOverflow) {
  const auto phases = [](int count, std::string_view each) {
    std::string text = "name: long\nphases:\n";
    for (int i = 0; i < count; ++i) {
      text += fmt::format("  - {{name: p{}, duration: {}, scenarios: [{{name: oom}}]}}\n", i, each);
    }
    return text;
  };
  const auto too_long = parse_plan(phases(2, "60000h"), "long.yaml");
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message.find("long.yaml:4: phases: the phases up to 'p1' last over 100000h"),
            std::string::npos)
      << too_long.error().message;

  const auto three = parse_plan(phases(3, "33000h"), "long.yaml");
  ASSERT_TRUE(three) << three.error().message;
  const auto scaled = three->scaled(38'000);  // each phase 4.5e18us fits in 2^62; the sum does not
  ASSERT_FALSE(scaled) << scaled->total_duration().count();
  EXPECT_NE(scaled.error().message.find("makes the plan (99000h) too long"), std::string::npos)
      << scaled.error().message;
  EXPECT_TRUE(three->scaled(10'000));
}

struct bad_plan {
  std::string what;
  std::string yaml;
  std::string where;     // "t.yaml:LINE: PATH:" expected at the start of the message
  std::string expected;  // what the message must also say
};

// checks that each bad plan is rejected naming the file, the 1-based line, the field path and what is allowed
TEST(PlanTest, RejectsBadPlansWithLineAndField) {
  const std::string head = "name: t\nphases:\n  - name: a\n";  // lines 1-3
  const std::vector<bad_plan> cases{
      {"bad duration", head + "    duration: soon\n    scenarios: [{name: oom}]\n", "t.yaml:4: phases[0].duration:",
       "'soon' is not a duration; use a positive number with us, ms, s, m or h (e.g. 30s, 2h)"},
      {"negative duration",
       head + "    duration: 30s\n    scenarios: [{name: oom}]\n  - name: b\n    duration: -5m\n"
              "    scenarios: [{name: oom}]\n",
       "t.yaml:7: phases[1].duration:",
       "'-5m' is not a duration; use a positive number with us, ms, s, m or h (e.g. 30s, 2h)"},
      {"zero duration", head + "    duration: 0s\n    scenarios: [{name: oom}]\n",
       "t.yaml:4: phases[0].duration:", "'0s' is zero; use a positive duration"},
      {"unknown unit", head + "    duration: 5d\n    scenarios: [{name: oom}]\n",
       "t.yaml:4: phases[0].duration:", "unknown unit 'd'; use us, ms, s, m or h"},
      {"unknown scenario", head + "    duration: 5s\n    scenarios:\n      - name: oom\n      - name: memtest\n",
       "t.yaml:7: phases[0].scenarios[1].name:",
       "unknown scenario 'memtest'; known: memory_pressure, fragmentation, multi_context, oom, leak_cycle, "
       "conv2d_steady"},
      {"unknown key", head + "    durration: 5s\n    scenarios: [{name: oom}]\n",
       "t.yaml:4: phases[0].durration:", "unknown key; allowed: name, duration, scenarios"},
      {"unknown top-level key", "name: t\nphase: []\n",
       "t.yaml:2: phase:", "unknown key; allowed: name, description, devices, sample_interval, phases, thresholds"},
      {"zero weight", head + "    duration: 5s\n    scenarios:\n      - name: oom\n        weight: 0\n",
       "t.yaml:7: phases[0].scenarios[0].weight:", "'0' is not allowed; use a number > 0"},
      {"negative weight", head + "    duration: 5s\n    scenarios:\n      - name: oom\n        weight: -2\n",
       "t.yaml:7: phases[0].scenarios[0].weight:", "use a number > 0"},
      {"malformed YAML", head + "    duration: 5s\n    scenarios: [{name: oom}\n", "t.yaml:6: plan:", "malformed YAML"},
      {"malformed YAML, bad indent", "name: t\nphases:\n  - name: a\n   duration: 5s\n",
       "t.yaml:4: plan:", "malformed YAML"},
      {"unknown metric in threshold",
       head + "    duration: 5s\n    scenarios: [{name: oom}]\nthresholds:\n  - \"errors_total == 0\"\n"
              "  - \"p99(conv2d_latency) < 50ms\"\n",
       "t.yaml:8: thresholds[1]:", "unknown metric 'conv2d_latency'; known: op_latency_seconds"},
      {"bad operator",
       head + "    duration: 5s\n    scenarios: [{name: oom}]\nthresholds:\n  - \"errors_total => 0\"\n",
       "t.yaml:7: thresholds[0]:", "'=>' is not a comparison; use <, <=, >, >=, == or !="},
      {"empty weight", head + "    duration: 5s\n    scenarios:\n      - name: oom\n        weight:\n",
       "t.yaml:7: phases[0].scenarios[0].weight:", "expected a number > 0 (e.g. 1, 2.5), got nothing"},
      {"empty duration", head + "    duration:\n    scenarios: [{name: oom}]\n",
       "t.yaml:4: phases[0].duration:", "missing; required"},
      {"missing phases", "name: t\ndescription: nothing to run\n", "t.yaml:1: phases:", "missing; required"},
      {"empty phases", "name: t\nphases: []\n", "t.yaml:2: phases:", "at least one phase"},
      {"missing duration", head + "    scenarios: [{name: oom}]\n",
       "t.yaml:3: phases[0].duration:", "missing; required"},
      {"empty scenarios", head + "    duration: 5s\n    scenarios: []\n",
       "t.yaml:5: phases[0].scenarios:", "at least one scenario"},
      {"duplicate phase",
       head + "    duration: 5s\n    scenarios: [{name: oom}]\n  - name: a\n    duration: 5s\n"
              "    scenarios: [{name: oom}]\n",
       "t.yaml:6: phases[1].name:", "already used on line 3"},
      {"bad device", "name: t\ndevices: [0, -1]\nphases: [{name: a, duration: 1s, scenarios: [{name: oom}]}]\n",
       "t.yaml:2: devices[1]:", "use an integer >= 0"},
      {"nested params",
       head + "    duration: 5s\n    scenarios:\n      - name: oom\n        params: {step: {size: 1MiB}}\n",
       "t.yaml:7: phases[0].scenarios[0].params.step:", "expected a scalar or a list of scalars"},
      {"bad plan name", "name: ../x\nphases: [{name: a, duration: 1s, scenarios: [{name: oom}]}]\n",
       "t.yaml:1: name:", "use letters, digits, '_' and '-' only"},
      {"bad sample interval",
       "name: t\nsample_interval: 5\nphases: [{name: a, duration: 1s, scenarios: [{name: oom}]}]\n",
       "t.yaml:2: sample_interval:", "has no unit"},
      {"not a mapping", "- just\n- a list\n", "t.yaml:1: plan:", "expected a plan (keys name"},
      {"empty document", "", "t.yaml:1: plan:", "empty"},
  };
  for (const auto& c : cases) {
    const auto p = parse_plan(c.yaml, "t.yaml");
    ASSERT_FALSE(p) << c.what;
    EXPECT_EQ(p.error().kind, gpu::error_kind::validation) << c.what;
    const std::string& message = p.error().message;
    EXPECT_TRUE(message.starts_with(c.where)) << c.what << ": " << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.what << ": " << message;
  }
}

// checks that plan names that could leave the plans folder are rejected before any file is read
TEST(PlanTest, NamedPlansStayInTheirFolder) {
  for (const std::string bad : {"../etc/passwd", "a/b", "", "..", "smoke.yaml", "/etc/passwd", "smoke\\x", "a b"}) {
    EXPECT_FALSE(is_valid_plan_name(bad)) << bad;
    const auto p = load_named_plan(plans_dir, bad);
    ASSERT_FALSE(p) << bad;
    EXPECT_NE(p.error().message.find("is not allowed; use letters, digits, '_' and '-' only"), std::string::npos)
        << p.error().message;
  }
  EXPECT_TRUE(is_valid_plan_name("nightly-2_b"));
  const auto missing = load_named_plan(plans_dir, "weekly");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no plan named 'weekly'"), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find("available: nightly, release, smoke"), std::string::npos)
      << missing.error().message;
}

// checks that a plan file that cannot be read is an error naming the path
TEST(PlanTest, UnreadableFileIsAnError) {
  const auto p = load_plan_file(plans_dir / "does-not-exist.yaml");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("does-not-exist.yaml: cannot read the plan"), std::string::npos)
      << p.error().message;
}

// checks that a threshold naming a series no scenario of the plan produces (or a scenario no phase
// runs) is a load-time error naming the scenarios that would, with line and field; and that the
// same thresholds load where the plan runs those scenarios
TEST(PlanTest, ThresholdsMustNameSeriesTheirPlanProduces) {
  const std::string head = "name: t\nphases:\n  - name: a\n    duration: 5s\n";  // lines 1-4
  const auto oom_only = parse_plan(head +
                                       "    scenarios: [{name: oom}]\nthresholds:\n  - \"errors_total == 0\"\n"
                                       "  - \"max(fragmentation_ratio) < 0.5\"\n"
                                       "  - \"p99(op_latency_seconds{scenario=\\\"leak_cycle\\\"}) < 1s\"\n"
                                       "  - \"p99(conv2d_latency_seconds) < 1s\"\n",
                                   "t.yaml");
  ASSERT_FALSE(oom_only);
  const std::string& message = oom_only.error().message;
  EXPECT_NE(message.find("t.yaml:8: thresholds[1]: fragmentation_ratio is produced only by fragmentation, which no "
                         "phase of this plan runs"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("t.yaml:9: thresholds[2]: op_latency_seconds{scenario=\"leak_cycle\"} selects scenario "
                         "leak_cycle, which no phase of this plan runs"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("t.yaml:10: thresholds[3]: conv2d_latency_seconds is produced only by conv2d_steady"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find("thresholds[0]"), std::string::npos) << "errors_total is every scenario's: " << message;

  const auto wrong_scenario = parse_plan(head +
                                             "    scenarios: [{name: oom}, {name: fragmentation}]\nthresholds:\n"
                                             "  - \"max(fragmentation_ratio{scenario=\\\"oom\\\"}) < 0.5\"\n",
                                         "t.yaml");
  ASSERT_FALSE(wrong_scenario);
  EXPECT_NE(wrong_scenario.error().message.find("fragmentation_ratio is produced only by fragmentation, not by oom"),
            std::string::npos)
      << wrong_scenario.error().message;

  const auto covered = parse_plan(head +
                                      "    scenarios: [{name: oom}, {name: fragmentation}, {name: leak_cycle}]\n"
                                      "thresholds:\n  - \"max(fragmentation_ratio) < 0.99\"\n"
                                      "  - \"p99(op_latency_seconds{scenario=\\\"leak_cycle\\\"}) < 1s\"\n",
                                  "t.yaml");
  ASSERT_TRUE(covered) << covered.error().message;
  EXPECT_EQ(covered->threshold_lines, (std::vector<int>{7, 8}));
  EXPECT_TRUE(check_threshold_coverage(*covered).empty());
}

}  // namespace
}  // namespace gpusoak::scenarios
