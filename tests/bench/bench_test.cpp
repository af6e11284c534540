// The benchmark programs as bench/gpu-run uses them, on llvmpipe: every upload is read back and
// checksummed by a shader, every conv2d output checked against the reference, so a producer or
// kernel that writes wrong bytes fails here before it reaches a GPU table.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "conv2d_checks.hpp"  // test_seed
#include "conv2d_report.hpp"
#include "conv2d_sampled_check.hpp"
#include "gpusoak/bench/conv2d_bench.hpp"
#include "gpusoak/bench/upload_bench.hpp"
#include "producer.hpp"
#include "temp_dir.hpp"

namespace gpusoak::bench {
namespace {

// What a bench program left behind: the JSON it wrote and the report it printed.
struct bench_run {
  nlohmann::json json;
  std::string out;
};

// Runs a bench program (run_upload_bench, run_conv2d_bench) with its JSON in a fresh temp dir and
// reads that back. A non-zero exit fails the test here, with everything the program printed, so
// callers only ASSERT_TRUE the result.
template <typename Options>
std::optional<bench_run> run_bench(int (*run)(const Options&, std::ostream&, std::ostream&), Options options) {
  test::temp_dir dir("gpusoak-bench");
  options.json_path = (dir / "bench.json").string();
  std::ostringstream out, progress;
  if (const int status = run(options, out, progress); status != 0) {
    ADD_FAILURE() << "exit status " << status << "\n" << progress.str() << out.str();
    return std::nullopt;
  }
  std::ifstream file(dir / "bench.json");
  return bench_run{nlohmann::json::parse(file), out.str()};
}

// Sizes around the parallel producer's threshold, with tails that are not whole words or pages.
std::vector<std::uint64_t> sizes_to_try(std::mt19937_64& rng) {
  std::vector<std::uint64_t> sizes = {detail::parallel_produce_min_bytes, detail::parallel_produce_min_bytes + 4,
                                      detail::parallel_produce_min_bytes + 4096 * 3 + 13};
  sizes.push_back(detail::parallel_produce_min_bytes + rng() % (1u << 20));
  return sizes;
}

// checks that several producer threads write exactly the bytes one thread writes, with either
// kind of store, at sizes around the threshold, with tails that are not whole words or pages, from
// a start that is not line-aligned; the buffers are poisoned
TEST(Producer, ThreadsWriteWhatOneThreadWrites) {
  std::mt19937_64 rng(test::test_seed());
  for (const std::uint64_t size : sizes_to_try(rng)) {
    for (const int threads : {2, 3, 7}) {
      const std::uint64_t seed = rng();
      // Streaming stores where the CPU has AVX2, cached 64-byte ones where it has AVX-512: each
      // with a scalar head up to its first aligned store, which an offset of 8 bytes exercises.
      std::vector<std::vector<std::byte>> written;
      for (const auto stores : {detail::store_kind::bypass_cache, detail::store_kind::through_cache}) {
        std::vector<std::byte> one(size + 8, std::byte{0xa5}), many(size + 8, std::byte{0x5a});
        detail::part_pool pool(threads);
        detail::produce(std::span(one).subspan(8), seed, stores);
        detail::produce(std::span(many).subspan(8), seed, stores, pool);
        EXPECT_TRUE(std::ranges::equal(std::span(one).subspan(8), std::span(many).subspan(8)))
            << size << " bytes, " << threads << " threads";
        EXPECT_TRUE(std::ranges::all_of(std::span(many).first(8), [](std::byte b) { return b == std::byte{0x5a}; }))
            << "the producer wrote before its span";
        written.push_back(std::move(many));
      }
      EXPECT_TRUE(written[0] == written[1]) << size << " bytes: the two kinds of stores wrote different bytes";
      // And they hold the pattern itself (the sum the read shader checks, from the seed alone).
      std::uint32_t sum = 0;
      for (std::size_t i = 8; i + 4 <= written[1].size(); i += 4) {
        std::uint32_t word = 0;
        std::memcpy(&word, written[1].data() + i, 4);
        sum += word;
      }
      EXPECT_EQ(sum, detail::expected_sum(size, seed)) << size << " bytes, " << threads << " threads";
    }
  }
}

// checks the parked pool over many batches in a row (the threads are reused, not restarted):
// each batch covers every element exactly once, in parts aligned as asked, and a batch that
// fits one part runs on the caller alone
TEST(PartPool, EveryBatchCoversEachElementOnce) {
  std::mt19937_64 rng(test::test_seed());
  for (const int threads : {1, 2, 5}) {
    detail::part_pool pool(threads);
    EXPECT_EQ(pool.threads(), threads);
    for (int batch = 0; batch < 200; ++batch) {
      const std::size_t align = std::size_t{1} << (rng() % 6);
      const std::size_t count = rng() % 5000;
      std::vector<std::atomic<int>> hits(count);
      std::atomic<int> parts = 0;
      std::atomic<bool> misaligned = false;
      pool.for_each_part(count, align, [&](std::size_t first, std::size_t last) {
        if (first % align != 0) misaligned = true;
        for (std::size_t i = first; i < last; ++i) hits[i].fetch_add(1);
        parts.fetch_add(1);
      });
      for (std::size_t i = 0; i < count; ++i) ASSERT_EQ(hits[i].load(), 1) << i << " of " << count;
      EXPECT_FALSE(misaligned.load()) << count << ", align " << align;
      EXPECT_LE(parts.load(), threads);
      if (count <= align) {
        EXPECT_EQ(parts.load(), 1) << count << ", align " << align;
      }
    }
  }
}

// checks the upload benchmark end to end with threaded producers: every upload's GPU-side
// checksum matches, with streaming stores in the sync trials and, from 8 threads, cached ones in
// the pipelined runs; and the JSON carries the GPU read time: the sync trials' in every cell, the
// pipelined run's in large cells only
TEST(UploadBench, ThreadedProducersPassTheShaderChecksum) {
  upload_bench_options options;
  options.sizes = {4096, detail::parallel_produce_min_bytes + 4096 + 12, large_cell_bytes};
  options.paths = {"persistent_coherent", "staging_copy"};
  options.trials = 2;
  options.producer_threads = 8;
  static_assert(detail::stream_stores(8) == detail::store_kind::through_cache);
  const auto run = run_bench(run_upload_bench, options);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->json.at("options").at("producer_stores").at("pipelined"), "through_cache");
  int checks = 0;
  for (const auto& cell : run->json.at("rows")) {
    ASSERT_FALSE(cell.contains("skipped_reason")) << cell.dump();
    EXPECT_EQ(cell.at("checksum_failures"), 0) << cell.dump();
    checks += cell.at("checksum_checks").get<int>();
    EXPECT_TRUE(cell.at("gpu_read_us").is_number()) << cell.dump();
    EXPECT_EQ(cell.at("pipelined_gpu_read_us").is_number(), cell.at("size").get<std::uint64_t>() >= large_cell_bytes)
        << cell.dump();
  }
  EXPECT_GE(checks, 8);
  EXPECT_EQ(run->json.at("options").at("producer_threads"), 8);
  EXPECT_NE(run->out.find("producer:     8 thread(s)"), std::string::npos) << run->out;
}

// checks the conv2d benchmark on the gemm kernel: the output matches the reference, and sync rows
// carry the dispatch's GPU time and the split of each batch while pipelined rows do not
TEST(Conv2dBench, GemmRowsMatchTheReferenceAndCarryKernelTime) {
  const auto run = run_bench(run_conv2d_bench, {.shapes = {"N1 C5 13x11 K40 3x3 p1 bias"},
                                                // on a discrete GPU the zero-copy pick is tiled
                                                .kernel = kernels::conv2d_kernel::gemm,
                                                .iterations = 2});
  ASSERT_TRUE(run);
  ASSERT_EQ(run->json.at("cells").size(), 4u);  // two paths x two modes
  for (const auto& cell : run->json.at("cells")) {
    ASSERT_FALSE(cell.contains("error")) << cell.dump();
    EXPECT_EQ(cell.at("kernel"), "gemm");
    EXPECT_LT(cell.at("reference_error").get<double>(), 1e-4) << cell.dump();
    EXPECT_EQ(cell.at("kernel_ms").is_null(), cell.at("mode") == "pipelined") << cell.dump();
    // Sync rows split each batch into its parts; none of them can take longer than the slowest
    // whole batch, and writing the input takes some time.
    ASSERT_EQ(cell.contains("sync_split_ms"), cell.at("mode") == "sync") << cell.dump();
    if (cell.at("mode") != "sync") continue;
    const double slowest = cell.at("latency_ms").at("max").get<double>();
    EXPECT_GT(cell.at("sync_split_ms").at("produce").get<double>(), 0.0) << cell.dump();
    for (const char* part : {"produce", "submit", "finish", "past_producer"}) {
      EXPECT_GE(cell.at("sync_split_ms").at(part).get<double>(), 0.0) << part << ": " << cell.dump();
      EXPECT_LE(cell.at("sync_split_ms").at(part).get<double>(), slowest) << part << ": " << cell.dump();
    }
    // Each batch's span past the producer holds its submit and its finish, so its median is at
    // least either of theirs.
    const auto& split = cell.at("sync_split_ms");
    EXPECT_GE(split.at("past_producer").get<double>(),
              std::max(split.at("submit").get<double>(), split.at("finish").get<double>()))
        << cell.dump();
  }
}

// checks `--kernel winograd` through the conv2d benchmark: 3x3 stride-1 cells run winograd, match
// the reference within the bench's own check and carry the GPU time of all its dispatches; with a
// 1x1 shape among them it exits 2 before any cell runs, naming the shape, and writes no JSON
TEST(Conv2dBench, WinogradRunsWhereItAppliesAndRefusesElsewhereBeforeRunning) {
  const auto run = run_bench(run_conv2d_bench, {.shapes = {"N2 C6 13x11 K20 3x3 p1 bias"},
                                                .modes = {conv2d_mode::sync},
                                                .kernel = kernels::conv2d_kernel::winograd,
                                                .iterations = 2});
  ASSERT_TRUE(run);
  ASSERT_EQ(run->json.at("cells").size(), 2u);  // two paths
  for (const auto& cell : run->json.at("cells")) {
    EXPECT_EQ(cell.at("kernel"), "winograd") << cell.dump();
    ASSERT_FALSE(cell.contains("error")) << cell.dump();
    EXPECT_LT(cell.at("reference_error").get<double>(), 1e-5) << cell.dump();
    EXPECT_FALSE(cell.at("kernel_ms").is_null()) << cell.dump();
  }

  test::temp_dir dir("gpusoak-bench");
  std::ostringstream out, progress;
  const int status = run_conv2d_bench({.shapes = {"N2 C6 13x11 K20 3x3 p1 bias", "N1 C4 9x9 K4 1x1"},
                                       .kernel = kernels::conv2d_kernel::winograd,
                                       .json_path = (dir / "bench.json").string()},
                                      out, progress);
  EXPECT_EQ(status, 2) << progress.str();
  EXPECT_NE(
      progress.str().find("--kernel winograd: kernel winograd cannot run shape 'N1 C4 9x9 K4 1x1': winograd needs"),
      std::string::npos)
      << progress.str();
  EXPECT_EQ(progress.str().find("[1/"), std::string::npos) << "a cell ran:\n" << progress.str();
  EXPECT_FALSE(std::filesystem::exists(dir / "bench.json"));
}

// checks that a shape past the whole-reference size is checked on sampled points, never "finite
// only": each cell of a real run reports the worst sampled error within its bound, and no L2 error
TEST(Conv2dBench, LargeShapesAreCheckedOnSampledPoints) {
  const kernels::conv2d_shape shape = *kernels::parse_conv2d_shape("N1 C1024 32x32 K320 1x1");
  ASSERT_GT(shape.flops(), reference_check_max_flops);
  const auto run = run_bench(
      run_conv2d_bench,
      {.shapes = {shape.to_string()}, .paths = {kernels::conv2d_path::staging}, .iterations = 1, .warmup = 0});
  ASSERT_TRUE(run);
  ASSERT_EQ(run->json.at("cells").size(), 2u);  // two modes
  for (const auto& cell : run->json.at("cells")) {
    ASSERT_FALSE(cell.contains("error")) << cell.dump();
    EXPECT_TRUE(cell.at("reference_error").is_null()) << cell.dump();
    EXPECT_EQ(cell.at("sampled_points"), sampled_check_points) << cell.dump();
    EXPECT_TRUE(cell.at("sampled_passed").get<bool>()) << cell.dump();
    EXPECT_LE(cell.at("sampled_error").get<double>(), cell.at("sampled_bound").get<double>()) << cell.dump();
    EXPECT_DOUBLE_EQ(cell.at("sampled_bound").get<double>(), kernels::conv2d_error_bound(shape, false));
  }
  EXPECT_NE(run->out.find(" s\n"), std::string::npos) << run->out;  // the check column marks sampled rows
}

// checks the sampled check on an output computed here from the bench's own data: within the bound
// as computed; a planted error past the bound at the last element (always sampled), or a NaN at
// the first, fails it, and such a cell counts as failed (the bench's exit 1) with '!' in the table
TEST(Conv2dBench, SampledCheckCatchesAPlantedError) {
  std::mt19937_64 rng(test::test_seed());
  const std::uint32_t seed = static_cast<std::uint32_t>(rng());
  const kernels::conv2d_shape shape = *kernels::parse_conv2d_shape("N2 C5 11x9 K7 3x2 s2x1 p1x2 bias");
  std::vector<float> input(shape.input_elements()), weights(shape.weight_elements()), bias(shape.bias_elements());
  detail::produce_values(input, seed);
  detail::produce_values(weights, 0x5eed);
  detail::produce_values(bias, 0xb1a5);
  std::vector<double> ref(shape.output_elements());
  kernels::conv2d_reference(shape, input, weights, bias, ref);
  std::vector<float> out(ref.begin(), ref.end());
  const double bound = kernels::conv2d_error_bound(shape, false);
  EXPECT_LE(detail::sampled_error(shape, seed, out), bound);

  const kernels::conv2d_point last =
      kernels::conv2d_reference_at(shape, input, weights, bias, shape.n - 1, shape.k - 1, shape.p() - 1, shape.q() - 1);
  std::vector<float> planted = out;
  planted.back() = static_cast<float>(last.value + 2 * bound * last.scale);
  const double caught = detail::sampled_error(shape, seed, planted);
  EXPECT_GT(caught, bound);
  planted = out;
  planted.front() = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(detail::sampled_error(shape, seed, planted), std::numeric_limits<double>::infinity());

  detail::conv2d_cell cell{.shape = shape.to_string(), .kernel = "gemm", .path = "staging", .mode = "sync"};
  cell.sampled_error = caught;
  cell.sampled_bound = bound;
  EXPECT_TRUE(cell.failed());
  std::ostringstream table;
  detail::print_conv2d_table(table, {}, {}, {cell});
  EXPECT_NE(table.str().find("! s"), std::string::npos) << table.str();
  cell.sampled_error = bound / 2;
  EXPECT_FALSE(cell.failed());
}

// checks `producer_threads` on the conv2d benchmark: an input of 4 MiB, written in parts by three
// threads, gives the output of the input one thread writes (the reference is computed from it),
// in both modes; the table and the JSON say how many threads wrote
TEST(Conv2dBench, ThreadedProducerWritesTheInputOneThreadWrites) {
  const auto run = run_bench(run_conv2d_bench, {.shapes = {"N1 C16 256x256 K2 1x1"},  // 4 MiB: the threshold
                                                .paths = {kernels::conv2d_path::zero_copy},
                                                .iterations = 2,
                                                .producer_threads = 3});
  ASSERT_TRUE(run);
  EXPECT_EQ(run->json.at("options").at("producer_threads"), 3);
  EXPECT_NE(run->out.find("3 producer thread(s) for inputs from 4 MiB"), std::string::npos) << run->out;
  ASSERT_EQ(run->json.at("cells").size(), 2u);  // two modes
  for (const auto& cell : run->json.at("cells")) {
    ASSERT_FALSE(cell.contains("error")) << cell.dump();
    EXPECT_LT(cell.at("reference_error").get<double>(), 1e-5) << cell.dump();
  }
}

// checks the conv2d benchmark with buffer storage masked: it exits 0, each zero-copy cell is
// listed as not available with the decision matrix's reason (not measured, not an error), and the
// staging cells run and match the reference
TEST(Conv2dBench, MaskedZeroCopyCellsAreNotAvailableAndTheRestRun) {
  const auto run =
      run_bench(run_conv2d_bench,
                {.shapes = {"N1 C3 9x9 K4 3x3 p1"}, .iterations = 2, .context = {.mask = {.buffer_storage = true}}});
  ASSERT_TRUE(run);
  ASSERT_EQ(run->json.at("cells").size(), 4u);  // two paths x two modes
  int staging = 0;
  for (const auto& cell : run->json.at("cells")) {
    ASSERT_FALSE(cell.contains("error")) << cell.dump();
    if (cell.at("path") == "zero-copy") {
      ASSERT_TRUE(cell.contains("not_available")) << cell.dump();
      EXPECT_NE(cell.at("not_available").get<std::string>().find("staging_copy for stream_to_gpu"), std::string::npos)
          << cell.dump();
      EXPECT_FALSE(cell.contains("latency_ms")) << cell.dump();
      continue;
    }
    ++staging;
    EXPECT_FALSE(cell.contains("not_available")) << cell.dump();
    EXPECT_LT(cell.at("reference_error").get<double>(), 1e-5) << cell.dump();
  }
  EXPECT_EQ(staging, 2);
  EXPECT_NE(run->out.find("not available: zero-copy needs a mapped strategy"), std::string::npos) << run->out;
  EXPECT_NE(run->out.find("masked: buffer_storage"), std::string::npos) << run->out;
}

}  // namespace
}  // namespace gpusoak::bench
