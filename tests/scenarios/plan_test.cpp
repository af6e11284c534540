#include "gpusoak/scenarios/plan.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "temp_dir.hpp"

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
       "t.yaml:2: devices[1]:", "use an integer from 0 to 255"},
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
    EXPECT_EQ(p.error().kind, gpusoak::error_kind::validation) << c.what;
    // The problem is one line of the message (a missing key misspelt is also "missing").
    const std::string& message = p.error().message;
    const auto lines = problem_lines(message);
    const auto line = std::ranges::find_if(lines, [&](const std::string& l) { return l.starts_with(c.where); });
    ASSERT_NE(line, lines.end()) << c.what << ": " << message;
    EXPECT_NE(line->find(c.expected), std::string::npos) << c.what << ": " << message;
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
  EXPECT_EQ(missing.error().kind, gpusoak::error_kind::not_found);
  EXPECT_NE(missing.error().message.find("no plan named 'weekly'"), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find("available: nightly, release, smoke"), std::string::npos)
      << missing.error().message;
}

// checks that a name is looked up folder by folder, the first folder holding it winning a clash,
// and that a missing name names every folder and lists each folder's plans once
TEST(PlanTest, NamedPlansAreSearchedInFolderOrder) {
  const test::temp_dir mine("plan_test_mine");
  std::ofstream(mine / "smoke.yaml") << "name: smoke\n";
  std::ofstream(mine / "only_mine.yaml") << "name: only_mine\n";
  const std::vector<std::filesystem::path> user_first{mine.path(), plans_dir};
  const auto smoke = find_named_plan(user_first, "smoke");
  ASSERT_TRUE(smoke) << smoke.error().message;
  EXPECT_EQ(*smoke, mine / "smoke.yaml");
  const auto nightly = find_named_plan(user_first, "nightly");
  ASSERT_TRUE(nightly) << nightly.error().message;
  EXPECT_EQ(*nightly, plans_dir / "nightly.yaml");
  const std::vector<std::filesystem::path> shipped_first{plans_dir, mine.path()};
  const auto shipped_smoke = find_named_plan(shipped_first, "smoke");
  ASSERT_TRUE(shipped_smoke) << shipped_smoke.error().message;
  EXPECT_EQ(*shipped_smoke, plans_dir / "smoke.yaml");

  const auto missing = find_named_plan(user_first, "weekly");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, gpusoak::error_kind::not_found);
  EXPECT_NE(missing.error().message.find(
                fmt::format("no plan named 'weekly' in {} or {}", mine.path().string(), plans_dir.string())),
            std::string::npos)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find("available: nightly, only_mine, release, smoke"), std::string::npos)
      << missing.error().message;
  const auto escaping = find_named_plan(user_first, "../smoke");
  ASSERT_FALSE(escaping);
  EXPECT_NE(escaping.error().message.find("is not allowed"), std::string::npos) << escaping.error().message;
}

// checks that a plan file that cannot be read is an error naming the path, not_found when it does
// not exist and io when it cannot be read (a directory), and that a file that does not parse is a
// validation error
TEST(PlanTest, UnreadableFileIsAnError) {
  const auto p = load_plan_file(plans_dir / "does-not-exist.yaml");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, gpusoak::error_kind::not_found);
  EXPECT_NE(p.error().message.find("does-not-exist.yaml: cannot read the plan"), std::string::npos)
      << p.error().message;
  const auto dir = load_plan_file(plans_dir);
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().kind, gpusoak::error_kind::io) << dir.error().message;
  EXPECT_NE(dir.error().message.find("cannot read the plan"), std::string::npos) << dir.error().message;
  const auto bad = parse_plan("name: [not a plan\n", "bad.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, gpusoak::error_kind::validation) << bad.error().message;
}

// checks that every kind of bad scenario parameter is refused when the plan is loaded, naming the
// file, the parameter's line, its field path and what is allowed
TEST(PlanTest, ScenarioParamsAreCheckedAtLoad) {
  struct param_case {
    std::string scenario;
    std::string params;    // the flow mapping after "params: "
    std::string path;      // field path after "phases[0].scenarios[0].params."
    std::string expected;  // what the message must also say
  };
  const std::vector<param_case> cases{
      {"fragmentation", "{max_blok: 1MiB}", "max_blok",
       "unknown parameter; allowed: pool_chunk, max_block, max_chunks"},
      {"fragmentation", "{pool_chunk: 64MB}", "pool_chunk", "'64MB' is not allowed; use a byte size from 64 KiB"},
      {"fragmentation", "{pool_chunk: 1MiB, max_block: 2MiB}", "max_block", "a byte size from 64 B to 1 MiB"},
      {"memory_pressure", "{hold_percent: 1000000000}", "hold_percent", "a whole number from 1 to 95"},
      {"memory_pressure", "{hold_percent: [50, 60]}", "hold_percent", "'[50, 60]' is not allowed"},
      {"memory_pressure", "{latency_bound: 5}", "latency_bound", "a duration from 1ms to 1h"},
      {"multi_context", "{contexts: 100000}", "contexts", "a whole number from 1 to 16"},
      {"multi_context", "{shapes: [\"N99999 C99999 8x8 K8 3x3\"]}", "shapes",
       "more than the shaders' 32-bit indexing allows"},
      {"conv2d_steady", "{shapes: [\"N64 C256 128x128 K256 3x3 p1\"]}", "shapes",
       "at most 1 GiB in all: use smaller N, C, K or H x W"},
      {"conv2d_steady", "{shapes: [\"N1 C3 banana\"]}", "shapes", "use conv2d shapes like"},
      {"conv2d_steady", "{shapes: [\"N1 C1 4x4 K1 1x1 p4294967295\"]}", "shapes",
       "pad_h 4294967295: more than 1071644670, the largest the shaders' 32-bit arithmetic holds"},
      {"conv2d_steady", "{shapes: []}", "shapes", "a list of 1 to 16 items"},
      {"conv2d_steady", "{path: zero_copy}", "path", "one of zero-copy, staging"},
      {"conv2d_steady", "{fence_timeout: 0s}", "fence_timeout", "a duration from 1ms to 1h"},
      {"leak_cycle", "{buffers_per_cycle: 0}", "buffers_per_cycle", "a whole number from 1 to 4096"},
      {"leak_cycle", "{contexts_per_cycle: 17}", "contexts_per_cycle", "a whole number from 0 to 16"},
      {"oom", "{budget: 128GiB}", "budget", "a byte size from 1 MiB to 64 GiB"},
      {"oom", "{step: 1KiB}", "step", "a byte size from 4 KiB to 256 MiB"},
  };
  for (const auto& c : cases) {
    const std::string yaml = fmt::format(
        "name: t\nphases:\n  - name: a\n    duration: 5s\n    scenarios:\n      - name: {}\n        params: {}\n",
        c.scenario, c.params);
    const auto p = parse_plan(yaml, "t.yaml");
    ASSERT_FALSE(p) << c.scenario << " " << c.params;
    EXPECT_EQ(p.error().kind, gpusoak::error_kind::validation);
    const std::string& message = p.error().message;
    EXPECT_TRUE(message.starts_with("t.yaml:7: phases[0].scenarios[0].params." + c.path + ": "))
        << c.params << ": " << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.params << ": " << message;
    EXPECT_EQ(problem_lines(message).size(), 1u) << message;
  }
  // Each scenario's own limits hold at their edges: these load.
  for (const std::string params :
       {"{hold_percent: 95, latency_bound: 1h}", "{contexts: 16, shapes: [\"N1 C4 12x12 K8 3x3 p1\"]}",
        "{buffers_per_cycle: 4096, contexts_per_cycle: 0}"}) {
    const std::string scenario = params.starts_with("{hold")       ? "memory_pressure"
                                 : params.starts_with("{contexts") ? "multi_context"
                                                                   : "leak_cycle";
    const auto p = parse_plan(fmt::format("name: t\nphases: [{{name: a, duration: 5s, scenarios: [{{name: {}, params: "
                                          "{}}}]}}]\n",
                                          scenario, params),
                              "t.yaml");
    EXPECT_TRUE(p) << params << ": " << p.error().message;
  }
}

// checks that every problem of a plan is listed at once, in line order, each with its line and
// path: typos planted at random entries of a random number of phases are all named, the last
// phase's included
TEST(PlanTest, ListsEveryProblemAtOnce) {
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 20; ++round) {
    const int phases = std::uniform_int_distribution(1, 5)(rng);
    std::string yaml = "name: t\nsample_interval: 1s\nphases:\n";
    int line = 3;
    std::vector<std::string> expected;  // "t.yaml:LINE: PATH: " of each planted problem
    for (int i = 0; i < phases; ++i) {
      yaml += fmt::format("  - name: p{}\n    duration: 10s\n    scenarios:\n", i);
      line += 3;
      const int entries = std::uniform_int_distribution(1, 3)(rng);
      for (int e = 0; e < entries; ++e) {
        const bool typo = std::uniform_int_distribution(0, 2)(rng) == 0 || (i == phases - 1 && e == entries - 1);
        yaml +=
            fmt::format("      - name: fragmentation\n        params: {{{}: 1MiB}}\n", typo ? "max_blok" : "max_block");
        line += 2;
        if (typo) expected.push_back(fmt::format("t.yaml:{}: phases[{}].scenarios[{}].params.max_blok: ", line, i, e));
      }
    }
    // Two typos in one entry of the last phase: both named.
    yaml +=
        "      - name: leak_cycle\n        params:\n          buffer_per_cycle: 8\n          contexts_per_cycl: 1\n";
    const std::size_t last = static_cast<std::size_t>(phases - 1);
    expected.push_back(fmt::format("t.yaml:{}: phases[{}].scenarios", line + 3, last));
    expected.push_back(fmt::format("t.yaml:{}: phases[{}].scenarios", line + 4, last));
    const auto p = parse_plan(yaml, "t.yaml");
    ASSERT_FALSE(p) << yaml;
    const auto lines = problem_lines(p.error().message);
    ASSERT_EQ(lines.size(), expected.size()) << yaml << "\n" << p.error().message;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      EXPECT_TRUE(lines[i].starts_with(expected[i])) << lines[i] << "\nexpected " << expected[i];
    }
    EXPECT_NE(lines[lines.size() - 2].find("params.buffer_per_cycle: unknown parameter"), std::string::npos);
    EXPECT_NE(lines.back().find("params.contexts_per_cycl: unknown parameter"), std::string::npos);
  }
  // Problems of different kinds in different parts, all at once.
  const auto mixed = parse_plan(R"(name: t
devices: [0, 0]
phases:
  - name: a
    duration: soon
    scenarios: [{name: oom, params: {budget: 1TiB}}]
  - name: b
    durration: 5s
    scenarios: [{name: memtest}]
thresholds:
  - "errors_total => 0"
)",
                                "mixed.yaml");
  ASSERT_FALSE(mixed);
  const auto lines = problem_lines(mixed.error().message);
  const std::vector<std::string> expected{
      "mixed.yaml:2: devices[1]: device 0 is listed twice",
      "mixed.yaml:5: phases[0].duration: 'soon' is not a duration",
      "mixed.yaml:6: phases[0].scenarios[0].params.budget: '1TiB' is not allowed",
      "mixed.yaml:7: phases[1].duration: missing",
      "mixed.yaml:8: phases[1].durration: unknown key",
      "mixed.yaml:9: phases[1].scenarios[0].name: unknown scenario 'memtest'",
      "mixed.yaml:11: thresholds[0]: 'errors_total => 0': column 14: '=>' is not a comparison",
  };
  ASSERT_EQ(lines.size(), expected.size()) << mixed.error().message;
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_TRUE(lines[i].starts_with(expected[i])) << lines[i];
}

// checks that a run's time scale keeps the plan within 100000h and every phase long enough for 3
// samples per scenario, saying which time scales work, and that the scales the shipped plans are
// run at in docs, scripts and tests are accepted
TEST(PlanTest, ScaleForRunBoundsTheRun) {
  const auto smoke = load_named_plan(plans_dir, "smoke");
  const auto nightly = load_named_plan(plans_dir, "nightly");
  const auto release = load_named_plan(plans_dir, "release");
  ASSERT_TRUE(smoke && nightly && release);

  const auto huge = scale_for_run(*smoke, 1e7);
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("time scale 1e+07 makes the plan last 333333h"), std::string::npos)
      << huge.error().message;
  EXPECT_NE(huge.error().message.find("use a time scale <= 3e+06"), std::string::npos) << huge.error().message;
  EXPECT_TRUE(scale_for_run(*smoke, 3e6));
  EXPECT_FALSE(scale_for_run(*smoke, 3.1e6));

  const auto tiny = scale_for_run(*smoke, 1e-300);
  ASSERT_FALSE(tiny);
  // smoke samples every 1s; scaled down it samples every 100ms at least, so its shortest phases
  // (20s) need 300ms: a time scale of 0.015.
  EXPECT_NE(tiny.error().message.find("phases[0] (warmup) lasts 1us at time scale 1e-300; each scenario needs at "
                                      "least 3 samples of 100ms in each phase to be gated: use a time scale >= 0.015"),
            std::string::npos)
      << tiny.error().message;
  EXPECT_EQ(problem_lines(tiny.error().message).size(), smoke->phases.size()) << tiny.error().message;
  EXPECT_TRUE(scale_for_run(*smoke, 0.015));
  const auto short_by_a_bit = scale_for_run(*smoke, 0.014);
  ASSERT_FALSE(short_by_a_bit);
  EXPECT_NE(short_by_a_bit.error().message.find("phases[0] (warmup) lasts 280ms at time scale 0.014"),
            std::string::npos)
      << short_by_a_bit.error().message;
  EXPECT_EQ(problem_lines(short_by_a_bit.error().message).size(), 3u) << "churn (60s) still fits";

  // Random time scales: accepted exactly when every scaled phase spans 3 scaled sample intervals.
  std::mt19937 rng(std::random_device{}());
  for (int i = 0; i < 200; ++i) {
    const double factor = std::pow(10.0, std::uniform_real_distribution(-6.0, 6.0)(rng));
    for (const plan* p : {&*smoke, &*nightly, &*release}) {
      const auto scaled = p->scaled(factor);
      ASSERT_TRUE(scaled);
      bool fits = scaled->total_duration() <= 100'000h;
      for (const auto& ph : scaled->phases) fits = fits && ph.duration >= 3 * scaled->sample_interval;
      EXPECT_EQ(scale_for_run(*p, factor).has_value(), fits) << p->name << " at " << factor;
    }
  }

  // The scales used by scripts/run, README, docs and the tests.
  for (const double factor : {0.05, 0.1, 0.25, 1.0}) EXPECT_TRUE(scale_for_run(*smoke, factor)) << factor;
  for (const double factor : {0.34, 1.0 / 30}) EXPECT_TRUE(scale_for_run(*nightly, factor)) << factor;
  for (const double factor : {0.001, 1.0 / 720}) EXPECT_TRUE(scale_for_run(*release, factor)) << factor;

  // A phase shorter than 3 of the plan's own sample intervals cannot be fixed by a time scale.
  const auto sparse =
      parse_plan("name: t\nsample_interval: 1m\nphases:\n  - name: a\n    duration: 2m\n    scenarios: [{name: oom}]\n",
                 "sparse.yaml");
  ASSERT_TRUE(sparse) << sparse.error().message;
  for (const double factor : {1e-3, 1.0, 10.0}) {
    const auto refused = scale_for_run(*sparse, factor);
    ASSERT_FALSE(refused) << factor;
    EXPECT_NE(refused.error().message.find("sparse.yaml:4: phases[0].duration: phase 'a' lasts 2m, less than 3 "
                                           "samples of sample_interval 1m"),
              std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find("make the phase at least 3m or sample_interval at most 40s"),
              std::string::npos)
        << refused.error().message;
  }
}

// checks that a plan naming a device index that is not present is refused, naming each such index
// and how many devices exist
TEST(PlanTest, DevicesMustBePresent) {
  const auto p = parse_plan(
      "name: t\ndevices: [0, 5, 1]\nphases: [{name: a, duration: 1s, scenarios: [{name: oom}]}]\n", "d.yaml");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(check_plan_devices(*p, 6));
  EXPECT_TRUE(check_plan_devices(*p, 7));
  const auto one = check_plan_devices(*p, 1);
  ASSERT_FALSE(one);
  const auto lines = problem_lines(one.error().message);
  ASSERT_EQ(lines.size(), 2u) << one.error().message;
  EXPECT_EQ(lines[0],
            "d.yaml: devices[1]: EGL device 5 is not present; 1 EGL device is here (index 0); gpusoak "
            "devices lists them");
  EXPECT_TRUE(lines[1].starts_with("d.yaml: devices[2]: EGL device 1 is not present")) << lines[1];
  const auto five = check_plan_devices(*p, 5);
  ASSERT_FALSE(five);
  EXPECT_NE(five.error().message.find("5 EGL devices are here (index 0 to 4)"), std::string::npos)
      << five.error().message;
  const auto many =
      parse_plan("name: t\ndevices: [0, 256]\nphases: [{name: a, duration: 1s, scenarios: [{name: oom}]}]\n", "d.yaml");
  ASSERT_FALSE(many);
  EXPECT_NE(many.error().message.find("d.yaml:2: devices[1]: '256' is not a device index"), std::string::npos)
      << many.error().message;
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

// checks that a time scale far past the run bound is refused with its reason, without overflowing
// the sample-interval arithmetic (a fuzz_plan seed: intervals near 2^62us tripled overflowed)
TEST(PlanTest, HugeTimeScaleIsRefusedWithoutOverflow) {
  const auto tiny =
      parse_plan("name: tiny\nphases: [{name: only, duration: 1s, scenarios: [{name: oom}]}]\n", "t.yaml");
  ASSERT_TRUE(tiny) << tiny.error().message;
  for (const double factor : {1e12, 1e15}) {
    const auto run = scale_for_run(*tiny, factor);
    ASSERT_FALSE(run) << factor;
    EXPECT_NE(run.error().message.find("time scale"), std::string::npos) << run.error().message;
  }
}

}  // namespace
}  // namespace gpusoak::scenarios
