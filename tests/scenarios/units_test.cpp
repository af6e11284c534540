#include "gpusoak/scenarios/units.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace gpusoak::scenarios {
namespace {

using namespace std::chrono_literals;

// checks that every duration unit converts to the right number of microseconds
TEST(UnitsTest, ParsesDurationsInEveryUnit) {
  EXPECT_EQ(parse_duration("500us").value(), 500us);
  EXPECT_EQ(parse_duration("250ms").value(), 250ms);
  EXPECT_EQ(parse_duration("30s").value(), 30s);
  EXPECT_EQ(parse_duration("2m").value(), 2min);
  EXPECT_EQ(parse_duration("2h").value(), 2h);
  EXPECT_EQ(parse_duration("24h").value(), 24h);
  EXPECT_EQ(parse_duration("1.5h").value(), 90min);
  EXPECT_EQ(parse_duration("0.5ms").value(), 500us);
}

// checks that negative, unit-less, unknown-unit, malformed and zero durations are rejected with the text and the units
TEST(UnitsTest, RejectsBadDurations) {
  for (const std::string bad : {"-5m", "30", "5d", "5 s", "s", "", "1e3s", "5.5.5s", "0.1us", "200000h", "inf"}) {
    const auto parsed = parse_duration(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_NE(parsed.error().message.find("'" + bad + "'"), std::string::npos) << parsed.error().message;
  }
  EXPECT_NE(parse_duration("-5m").error().message.find("use a positive number with us, ms, s, m or h"),
            std::string::npos);
  EXPECT_NE(parse_duration("5d").error().message.find("unknown unit 'd'"), std::string::npos);
  EXPECT_FALSE(parse_duration("0s"));
}

// checks that zero is accepted only where the caller allows it
TEST(UnitsTest, ZeroDurationOnlyWhenAllowed) {
  EXPECT_FALSE(parse_duration("0s", zero_duration::rejected));
  EXPECT_EQ(parse_duration("0s", zero_duration::allowed).value(), 0us);
  EXPECT_EQ(parse_duration("0ms", zero_duration::allowed).value(), 0us);
}

// checks that format_duration picks the largest exact unit and parses back to the same value
TEST(UnitsTest, FormatsDurationsAndRoundTrips) {
  EXPECT_EQ(format_duration(2h), "2h");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(1500us), "1500us");
  EXPECT_EQ(format_duration(2min), "2m");
  EXPECT_EQ(format_duration(0us), "0s");
  for (const std::chrono::microseconds d : std::initializer_list<std::chrono::microseconds>{
           1us, 999us, 1ms, 61s, 25h, std::chrono::microseconds(123456789)}) {
    EXPECT_EQ(parse_duration(format_duration(d)).value(), d) << format_duration(d);
  }
}

// checks that the byte-size converter moved from harness/ still accepts binary units and rejects unknown ones
TEST(UnitsTest, ParsesByteSizes) {
  EXPECT_EQ(parse_bytes("4096").value(), 4096u);
  EXPECT_EQ(parse_bytes("64MiB").value(), 64u << 20);
  EXPECT_EQ(parse_bytes("1GiB").value(), 1u << 30);
  EXPECT_FALSE(parse_bytes("1PB"));
  EXPECT_FALSE(parse_bytes("-1KiB"));
  EXPECT_EQ(parse_byte_list("4KiB,1MiB").value(), (std::vector<std::uint64_t>{4096, 1 << 20}));
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(64u << 20), "64 MiB");
}

}  // namespace
}  // namespace gpusoak::scenarios
