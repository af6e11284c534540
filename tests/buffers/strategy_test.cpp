// The decision matrix, cell by cell, without a GL context.
#include "gpusoak/buffers/strategy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace gpusoak::gpu {
namespace {

capabilities full_caps(vendor_class vendor) {
  capabilities caps;
  caps.vendor_kind = vendor;
  caps.ext.ARB_buffer_storage = true;
  caps.ext.AMD_pinned_memory = true;
  caps.coherent_mapping = true;
  return caps;
}

// checks that every (vendor, usage) cell has a row, without duplicates, ending in staging_copy
TEST(Strategy, EveryCellHasAWellFormedRow) {
  for (vendor_class vendor : all_vendor_classes) {
    for (usage u : all_usages) {
      SCOPED_TRACE(std::string(to_string(vendor)) + "/" + std::string(to_string(u)));
      const auto row = preferences(vendor, u);
      ASSERT_FALSE(row.empty());
      EXPECT_EQ(row.back(), strategy::staging_copy);
      EXPECT_EQ(std::set<strategy>(row.begin(), row.end()).size(), row.size());
    }
  }
}

// checks that with every feature present, the choice is the row's head (quirks off)
TEST(Strategy, FullCapabilitiesChooseTheRowHead) {
  for (vendor_class vendor : all_vendor_classes) {
    for (usage u : all_usages) {
      SCOPED_TRACE(std::string(to_string(vendor)) + "/" + std::string(to_string(u)));
      EXPECT_EQ(choose_strategy(full_caps(vendor), u), preferences(vendor, u).front());
    }
  }
}

// checks the cells the docs justify by measurement or vendor guidance, one by one
TEST(Strategy, DocumentedCells) {
  using enum strategy;
  struct expected_cell {
    vendor_class vendor;
    usage use;
    strategy choice;
  };
  const expected_cell cells[] = {
      {vendor_class::nvidia, usage::stream_to_gpu, persistent_coherent},
      {vendor_class::nvidia, usage::gpu_reads_many, device_local_staged},
      {vendor_class::nvidia, usage::gpu_to_cpu, persistent_coherent},
      {vendor_class::nvidia, usage::bidirectional, persistent_coherent},
      {vendor_class::amd, usage::stream_to_gpu, pinned_host},
      {vendor_class::amd, usage::gpu_reads_many, device_local_staged},
      {vendor_class::amd, usage::gpu_to_cpu, persistent_coherent},
      {vendor_class::amd, usage::bidirectional, persistent_coherent},
      {vendor_class::intel, usage::stream_to_gpu, persistent_coherent},
      {vendor_class::intel, usage::gpu_reads_many, persistent_coherent},
      {vendor_class::intel, usage::gpu_to_cpu, persistent_coherent},
      {vendor_class::intel, usage::bidirectional, persistent_coherent},
      {vendor_class::mesa_software, usage::stream_to_gpu, persistent_coherent},
      {vendor_class::mesa_software, usage::gpu_reads_many, persistent_coherent},
      {vendor_class::mesa_software, usage::gpu_to_cpu, persistent_coherent},
      {vendor_class::mesa_software, usage::bidirectional, persistent_coherent},
      {vendor_class::arm, usage::stream_to_gpu, persistent_flush},
      {vendor_class::arm, usage::gpu_reads_many, persistent_flush},
      {vendor_class::arm, usage::gpu_to_cpu, persistent_coherent},
      {vendor_class::arm, usage::bidirectional, persistent_coherent},
      {vendor_class::qualcomm, usage::stream_to_gpu, persistent_coherent},
      {vendor_class::qualcomm, usage::gpu_reads_many, persistent_coherent},
      {vendor_class::qualcomm, usage::gpu_to_cpu, persistent_coherent},
      {vendor_class::qualcomm, usage::bidirectional, persistent_coherent},
      {vendor_class::other, usage::stream_to_gpu, persistent_flush},
      {vendor_class::other, usage::gpu_reads_many, device_local_staged},
      {vendor_class::other, usage::gpu_to_cpu, persistent_coherent},
      {vendor_class::other, usage::bidirectional, persistent_coherent},
  };
  std::set<std::pair<vendor_class, usage>> covered;
  for (const auto& cell : cells) {
    SCOPED_TRACE(std::string(to_string(cell.vendor)) + "/" + std::string(to_string(cell.use)));
    EXPECT_EQ(choose_strategy(full_caps(cell.vendor), cell.use), cell.choice);
    covered.emplace(cell.vendor, cell.use);
  }
  EXPECT_EQ(covered.size(), all_vendor_classes.size() * all_usages.size());
}

// checks that each mask removes exactly the strategies it names, in every cell
TEST(Strategy, MasksForceFallbacksInEveryCell) {
  for (vendor_class vendor : all_vendor_classes) {
    for (usage u : all_usages) {
      SCOPED_TRACE(std::string(to_string(vendor)) + "/" + std::string(to_string(u)));
      const auto no_storage = apply_mask(full_caps(vendor), {.buffer_storage = true});
      const auto no_coherent = apply_mask(full_caps(vendor), {.coherent = true});
      const auto no_pinned = apply_mask(full_caps(vendor), {.pinned = true});
      const auto nothing = apply_mask(full_caps(vendor), {.buffer_storage = true, .coherent = true, .pinned = true});
      for (strategy s : candidates(no_storage, u)) {
        EXPECT_NE(s, strategy::persistent_coherent);
        EXPECT_NE(s, strategy::persistent_flush);
      }
      for (strategy s : candidates(no_coherent, u)) EXPECT_NE(s, strategy::persistent_coherent);
      for (strategy s : candidates(no_pinned, u)) EXPECT_NE(s, strategy::pinned_host);
      const auto last = candidates(nothing, u);
      ASSERT_FALSE(last.empty());
      EXPECT_TRUE(last.front() == strategy::staging_copy || last.front() == strategy::device_local_staged);
      // Masks only filter: the remaining order is the row's order.
      const auto row = preferences(vendor, u);
      auto kept = candidates(no_coherent, u);
      std::vector<strategy> expected;
      std::ranges::copy_if(row, std::back_inserter(expected),
                           [&](strategy s) { return s != strategy::persistent_coherent; });
      EXPECT_EQ(kept, expected);
    }
  }
}

// checks that quirks reorder or remove exactly what their comment says
TEST(Strategy, QuirksReorder) {
  auto amd = full_caps(vendor_class::amd);
  amd.quirk.pinned_memory_unreliable = true;
  const auto order = candidates(amd, usage::stream_to_gpu);
  ASSERT_GE(order.size(), 2u);
  EXPECT_EQ(order.front(), strategy::persistent_flush);
  EXPECT_EQ(order[order.size() - 2], strategy::pinned_host);
  EXPECT_EQ(order.back(), strategy::staging_copy);

  auto adreno = full_caps(vendor_class::other);
  adreno.quirk.explicit_flush_broken = true;
  EXPECT_EQ(choose_strategy(adreno, usage::stream_to_gpu), strategy::persistent_coherent);
  EXPECT_FALSE(is_supported(adreno, strategy::persistent_flush));
}

// checks is_supported against each capability it depends on
TEST(Strategy, SupportFollowsCapabilities) {
  capabilities none;
  EXPECT_FALSE(is_supported(none, strategy::persistent_coherent));
  EXPECT_FALSE(is_supported(none, strategy::persistent_flush));
  EXPECT_FALSE(is_supported(none, strategy::pinned_host));
  EXPECT_TRUE(is_supported(none, strategy::device_local_staged));
  EXPECT_TRUE(is_supported(none, strategy::staging_copy));
  none.ext.ARB_buffer_storage = true;
  EXPECT_TRUE(is_supported(none, strategy::persistent_flush));
  EXPECT_FALSE(is_supported(none, strategy::persistent_coherent));  // coherent_mapping still off
}

// checks that names round-trip and bad names get an error naming the allowed values
TEST(Strategy, ParseNames) {
  for (strategy s : all_strategies) EXPECT_EQ(parse_strategy(to_string(s)).value(), s);
  for (usage u : all_usages) EXPECT_EQ(parse_usage(to_string(u)).value(), u);
  auto bad = parse_strategy("zero_copy");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, error_kind::validation);
  EXPECT_NE(bad.error().message.find("persistent_flush"), std::string::npos);
  EXPECT_FALSE(parse_usage("sometimes"));
}

}  // namespace
}  // namespace gpusoak::gpu
