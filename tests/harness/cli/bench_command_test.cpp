// `gpusoak bench conv2d` as a user runs it: the real binary in its own process, its exit code and
// what it prints, for the input it must refuse before anything runs.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "temp_dir.hpp"

namespace gpusoak::harness {
namespace {

using namespace std::chrono_literals;

struct cli_result {
  int code = -1;
  std::string log;  // stdout and stderr
};

class bench_command_test : public ::testing::Test {
 protected:
  // Runs `gpusoak bench conv2d ARGS --json FILE` to its end (killed and failed past 120 s).
  cli_result conv2d(std::vector<std::string> args) {
    args.insert(args.begin(), {GPUSOAK_BINARY, "bench", "conv2d"});
    args.insert(args.end(), {"--json", json().string()});
    test::child_process cli(args, dir_ / ("cli-" + std::to_string(++calls_) + ".log"));
    const auto code = cli.wait(120s);
    EXPECT_TRUE(code.has_value()) << "gpusoak did not end within 120 s:\n" << cli.log();
    return {code.value_or(-1), cli.log()};
  }
  std::filesystem::path json() const { return dir_ / "bench.json"; }

  test::temp_dir dir_{"gpusoak-bench-cli"};
  int calls_ = 0;
};

// checks that a --shape naming no shape (empty, or only separators and blanks) exits 2 naming the
// flag, instead of running the default shapes
TEST_F(bench_command_test, empty_shape_list_exits_2_naming_the_flag) {
  for (const char* text : {"", ";", " ; ;\t", ","}) {
    const cli_result run = conv2d({"--shape", text});
    EXPECT_EQ(run.code, 2) << "'" << text << "': " << run.log;
    EXPECT_NE(run.log.find("--shape '" + std::string(text) + "': no shape given"), std::string::npos) << run.log;
    EXPECT_FALSE(std::filesystem::exists(json())) << "'" << text << "' ran something";
  }
}

// checks that a forced --kernel that cannot run one of the shapes exits 2 before any cell runs,
// naming the kernel and the shape, while the shape it can run alone passes
TEST_F(bench_command_test, forced_kernel_that_cannot_run_a_shape_exits_2_before_running) {
  const cli_result refused = conv2d({"--shape", "N1 C4 9x9 K4 3x3 p1;N1 C4 9x9 K4 1x1", "--kernel", "winograd",
                                     "--iterations", "1", "--mode", "sync"});
  EXPECT_EQ(refused.code, 2) << refused.log;
  EXPECT_NE(refused.log.find("--kernel winograd: kernel winograd cannot run shape 'N1 C4 9x9 K4 1x1': winograd needs"),
            std::string::npos)
      << refused.log;
  EXPECT_EQ(refused.log.find("[1/"), std::string::npos) << "a cell ran:\n" << refused.log;
  EXPECT_FALSE(std::filesystem::exists(json()));

  const cli_result tiled = conv2d({"--shape", "N1 C4 9x9 K4 5x5", "--kernel", "tiled", "--iterations", "1"});
  EXPECT_EQ(tiled.code, 2) << tiled.log;
  EXPECT_NE(tiled.log.find("--kernel tiled: kernel tiled cannot run shape 'N1 C4 9x9 K4 5x5': tiled needs"),
            std::string::npos)
      << tiled.log;

  const cli_result runs =
      conv2d({"--shape", "N1 C4 9x9 K4 3x3 p1", "--kernel", "winograd", "--iterations", "1", "--mode", "sync"});
  EXPECT_EQ(runs.code, 0) << runs.log;
  EXPECT_TRUE(std::filesystem::exists(json()));
}

// checks that the shapes whose arithmetic used to overflow the shaders' ints exit 2 naming the
// field and its bound
TEST_F(bench_command_test, overflow_shapes_exit_2_naming_the_field) {
  const std::pair<const char*, const char*> cases[] = {
      {"N1 C1 4x4 K1 1x1 p4294967295", "pad_h 4294967295: more than 1071644670"},
      {"N1 C1 4x4 K1 1x1 s4294967295x1 p4294967295x0", "stride_h 4294967295: more than 2143289344"},
      {"N1 C1 4x4 K1 1x1 s3000000000", "stride_h 3000000000: more than 2143289344"},
  };
  for (const auto& [shape, needle] : cases) {
    const cli_result run = conv2d({"--shape", shape});
    EXPECT_EQ(run.code, 2) << shape << ": " << run.log;
    EXPECT_NE(run.log.find(needle), std::string::npos) << run.log;
  }
}

}  // namespace
}  // namespace gpusoak::harness
