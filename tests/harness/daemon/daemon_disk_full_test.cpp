// gpusoakd when the disk under its run store fills up mid-run, filled two real ways: a small tmpfs
// that runs out of blocks (ENOSPC, SQLITE_FULL), and the kernel's file size limit on the daemon
// process (RLIMIT_FSIZE: EFBIG, SQLITE_IOERR_WRITE). Either way the daemon must say so (the run,
// /healthz, /metrics, its log, a 507 for a new run), keep what it stored, go on serving, leave a
// file that passes integrity_check, and resume the run when restarted with space.
#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "daemon_calls.hpp"
#include "daemon_process.hpp"
#include "store_file.hpp"
#include "temp_dir.hpp"

namespace gpusoak::harness {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// One phase far longer than the test: the disk fills first. 50 ms samples fill it quickly.
constexpr const char* long_plan = R"(name: disk_full
devices: [0]
sample_interval: 50ms
phases:
  - name: conv
    duration: 10m
    scenarios:
      - name: conv2d_steady
        params: {shapes: ["N1 C3 16x16 K8 3x3 p1"]}
thresholds:
  - "integrity_failures_total == 0"
)";

// Room left for samples once the disk is "filled": a few dozen of them.
constexpr std::uint64_t margin_bytes = 256 * 1024;

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  return static_cast<bool>(file.flush());
}

// Gives this test process mounts of its own, so that a tmpfs mounted for the test vanishes with it
// whatever happens: root unshares its mount namespace; anyone else tries a user namespace (as root
// inside it, mapped to the caller's ids) where mounting a tmpfs is allowed. Must run while the
// process has one thread (gtest runs the test on the main thread and starts none). Returns why
// not, when neither works (a container without CAP_SYS_ADMIN and with user namespaces blocked).
std::optional<std::string> private_mounts() {
  if (::unshare(CLONE_NEWNS) != 0) {
    const int as_root = errno;
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
      return fmt::format("unshare(CLONE_NEWNS): {}; unshare(CLONE_NEWUSER | CLONE_NEWNS): {}", std::strerror(as_root),
                         std::strerror(errno));
    }
    if (!write_file("/proc/self/setgroups", "deny") || !write_file("/proc/self/uid_map", fmt::format("0 {} 1", uid)) ||
        !write_file("/proc/self/gid_map", fmt::format("0 {} 1", gid))) {
      return "cannot write the user namespace's id maps";
    }
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return fmt::format("making mounts private: {}", std::strerror(errno));
  }
  return std::nullopt;
}

// A tmpfs mounted on `dir` (in the process's private mount namespace), unmounted on destruction.
class tmpfs_mount {
 public:
  explicit tmpfs_mount(std::filesystem::path dir, std::uint64_t size_bytes) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options(size_bytes).c_str()) != 0) {
      throw std::runtime_error(fmt::format("mount tmpfs on {}: {}", dir_.string(), std::strerror(errno)));
    }
  }
  ~tmpfs_mount() { ::umount2(dir_.c_str(), MNT_DETACH); }
  tmpfs_mount(const tmpfs_mount&) = delete;
  tmpfs_mount& operator=(const tmpfs_mount&) = delete;

  // Shrinks or grows the filesystem; it cannot shrink below what is in use.
  void resize(std::uint64_t size_bytes) const {
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, options(size_bytes).c_str()) != 0) {
      throw std::runtime_error(fmt::format("remount tmpfs on {}: {}", dir_.string(), std::strerror(errno)));
    }
  }

  [[nodiscard]] std::uint64_t used_bytes() const {
    struct statvfs fs {};
    if (::statvfs(dir_.c_str(), &fs) != 0) throw std::runtime_error("statvfs failed");
    return static_cast<std::uint64_t>(fs.f_blocks - fs.f_bfree) * fs.f_frsize;
  }

 private:
  static std::string options(std::uint64_t size_bytes) { return fmt::format("size={}k,mode=0755", size_bytes / 1024); }
  std::filesystem::path dir_;
};

std::uint64_t file_size_or_0(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

// A plan far bigger than the room left (~900 KB of comment lines), so that creating its run must
// fail: a small write can still fit into the WAL space the failed commit had already taken.
std::string big_plan() {
  std::string plan = long_plan;
  const std::string line = "# " + std::string(98, 'x') + "\n";
  for (int i = 0; i < 9000; ++i) plan += line;
  return plan;
}

// The daemons' log, shown when the test failed (it goes with the test's temp dir).
struct print_log_on_failure {
  std::filesystem::path log;
  ~print_log_on_failure() {
    if (!::testing::Test::HasFailure()) return;
    std::ifstream file(log);
    std::cout << "the daemons' log (" << log.string() << "):\n" << file.rdbuf() << "\n";
  }
};

// The whole story once the disk can be filled by `fill` (given the daemon) and made roomy again by
// `lift` (before the restart).
void fill_the_disk_under_a_run(const std::filesystem::path& state, const std::filesystem::path& log,
                               const std::function<void(const test::daemon_process&)>& fill,
                               const std::function<void()>& lift) {
  const auto db = state / "runs.db";
  const print_log_on_failure print_log{log};
  std::string id;
  std::vector<test::stored_sample> before_fill;
  {
    test::daemon_process d(state, {}, log);
    const auto started = d.call("POST", "/api/v1/runs", json{{"plan_yaml", long_plan}}.dump());
    ASSERT_EQ(started.status, 201) << started.body;
    id = test::body_json(started)["id"];
    test::wait_run(
        d, id, [](const json& run) { return run.value("samples", 0) >= 5; }, 30s, "5 samples");
    before_fill = test::store_file(db).samples(id);
    ASSERT_GE(before_fill.size(), 5u);

    const auto t0 = std::chrono::steady_clock::now();
    fill(d);
    const auto run = test::wait_run(
        d, id, [](const json& r) { return r.value("state", "") != "running"; }, 30s, "the run stopping");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(run["state"], "interrupted") << run.dump(2);
    EXPECT_FALSE(run.value("live", true)) << run.dump(2);
    const std::string reason = run.value("verdict_reason", "");
    EXPECT_NE(reason.find("disk full: the disk holding the run store"), std::string::npos) << reason;
    EXPECT_NE(reason.find("restart gpusoakd"), std::string::npos) << reason;

    // Still serving, and saying what is wrong.
    ASSERT_TRUE(d.running()) << d.log();
    const auto health = d.call("GET", "/healthz");
    EXPECT_EQ(health.status, 200);
    const auto health_json = test::body_json(health);
    EXPECT_EQ(health_json["status"], "degraded") << health.body;
    EXPECT_NE(health_json.value("store_error", "").find("disk full"), std::string::npos) << health.body;
    EXPECT_EQ(test::scrape_one(d, "gpusoak_store_out_of_space"), 1);
    const auto refused = d.call("POST", "/api/v1/runs", json{{"plan_yaml", big_plan()}}.dump());
    EXPECT_EQ(refused.status, 507) << refused.body.substr(0, 300);
    EXPECT_NE(test::body_json(refused).value("error", "").find("disk full"), std::string::npos) << refused.body;
    EXPECT_NE(d.log().find("disk full: the disk holding the run store"), std::string::npos) << d.log();

    // What was stored is still there, through the API and in the file.
    const auto now_run = test::get_run(d, id);
    EXPECT_GE(now_run.value("samples", 0), static_cast<int>(before_fill.size()));
    EXPECT_FALSE(now_run["scenarios"].empty()) << now_run.dump(2);
    {
      test::store_file file(db);
      EXPECT_EQ(file.integrity_check(), "ok") << "with the disk full";
      const auto kept = file.samples(id);
      ASSERT_GE(kept.size(), before_fill.size());
      for (std::size_t i = 0; i < before_fill.size(); ++i) EXPECT_EQ(kept[i], before_fill[i]) << "sample " << i;
      before_fill = kept;  // everything stored up to the fill
    }
    std::cout << fmt::format("disk full: the run stopped {:.1f} s after the fill with {} samples stored\n", seconds,
                             before_fill.size());
    EXPECT_EQ(d.stop(SIGTERM), 0) << "a clean exit with the disk full";
  }

  EXPECT_EQ(test::store_file(db).integrity_check(), "ok") << "after the daemon's exit";
  lift();
  test::daemon_process d(state, {}, log);
  test::wait_run(
      d, id,
      [&](const json& run) {
        return run.value("state", "") == "running" && run.value("samples", std::size_t{0}) > before_fill.size();
      },
      30s, "the run resumed with new samples");
  EXPECT_EQ(test::body_json(d.call("GET", "/healthz"))["status"], "ok");
  EXPECT_EQ(test::scrape_one(d, "gpusoak_store_out_of_space"), 0);
  EXPECT_EQ(d.call("POST", "/api/v1/runs/" + id + "/stop").status, 202);
  EXPECT_EQ(test::wait_final(d, id, 60s)["state"], "aborted");
  test::store_file file(db);
  EXPECT_EQ(file.integrity_check(), "ok") << "after the restart with space";
  const auto after = file.samples(id);
  ASSERT_GT(after.size(), before_fill.size());
  for (std::size_t i = 0; i < before_fill.size(); ++i) EXPECT_EQ(after[i], before_fill[i]) << "sample " << i;
  // One 50 ms interval, plus what the first steps of a new context may overrun it by (llvmpipe
  // compiles shaders at the first dispatch).
  EXPECT_LE(after[before_fill.size()].t_seconds - before_fill.back().t_seconds, 0.05 + 0.45)
      << "resumed at the last stored sample";
}

// checks a tmpfs that runs out of blocks under a running daemon (ENOSPC): the run stops
// interrupted naming the full disk, /healthz and /metrics say so, a new run gets 507, samples stay
// readable, integrity_check passes, and after growing the tmpfs a restart resumes the run
TEST(daemon_disk_full, tmpfs_runs_out_of_blocks) {
  if (const auto why = private_mounts()) GTEST_SKIP() << "cannot mount a tmpfs here: " << *why;
  test::temp_dir dir("gpusoakd-full");
  const auto state = dir / "state";
  const tmpfs_mount disk(state, 64 << 20);
  fill_the_disk_under_a_run(
      state, dir / "gpusoakd.log",
      [&](const test::daemon_process&) {
        const auto size = disk.used_bytes() + margin_bytes;
        std::cout << fmt::format("disk full: tmpfs shrunk to {} KiB\n", size / 1024);
        disk.resize(size);
      },
      [&] { disk.resize(64 << 20); });
}

// checks the daemon's file size limit reached mid-run (RLIMIT_FSIZE set on the running process:
// EFBIG, and no SIGXFSZ death): the same answers as a full disk, and a restart without the limit
// resumes the run. Needs nothing but prlimit on a child, so it runs everywhere.
TEST(daemon_disk_full, file_size_limit_reached) {
  test::temp_dir dir("gpusoakd-fsize");
  const auto state = dir / "state";
  fill_the_disk_under_a_run(
      state, dir / "gpusoakd.log",
      [&](const test::daemon_process& d) {
        const auto biggest = std::max(file_size_or_0(state / "runs.db"), file_size_or_0(state / "runs.db-wal"));
        rlimit limit{};
        ASSERT_EQ(::prlimit(d.pid(), RLIMIT_FSIZE, nullptr, &limit), 0) << std::strerror(errno);
        limit.rlim_cur = biggest + margin_bytes;  // the hard limit stays
        std::cout << fmt::format("disk full: RLIMIT_FSIZE of the daemon set to {} KiB\n", limit.rlim_cur / 1024);
        ASSERT_EQ(::prlimit(d.pid(), RLIMIT_FSIZE, &limit, nullptr), 0) << std::strerror(errno);
      },
      [] {});  // the limit belonged to the old process
}

}  // namespace
}  // namespace gpusoak::harness
