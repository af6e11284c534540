#include "gpusoak/harness/daemon_metrics.hpp"

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <vector>

#include "gpusoak/buffers/capabilities.hpp"
#include "gpusoak/harness/build_info.hpp"
#include "gpusoak/harness/gate.hpp"  // gate_options: the warm-up the gate uses
#include "gpusoak/harness/leak_slope.hpp"
#include "gpusoak/harness/process_memory.hpp"
#include "gpusoak/scenarios/metric_catalog.hpp"

namespace gpusoak::harness {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

// gpusoak_run_state's values: "idle" (no run on the GPU) and the run states.
const std::vector<std::string>& run_states() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n{"idle"};
    for (const run_state s : all_run_states) n.emplace_back(to_string(s));
    return n;
  }();
  return names;
}

Histogram::BucketBoundaries latency_bounds() {
  const auto& b = scenarios::latency_histogram::bounds;
  return {b.begin(), b.end()};
}

// Adds what a counter grew by since the last reading; a reading below the last one means a new
// context (its counters restart at zero), so all of it is new.
void add_delta(Counter& counter, std::uint64_t now, std::uint64_t& last) {
  counter.Increment(static_cast<double>(now >= last ? now - last : now));
  last = now;
}

// Registers the families of metric_catalog. A family the catalog does not list, or lists with
// another kind, and a catalogued family left unregistered are programming errors: std::logic_error
// when the daemon starts, so /metrics never serves what the catalog (and docs/metrics.md) lacks.
class catalog_families {
 public:
  explicit catalog_families(prometheus::Registry& r) : r_(r) {}
  Family<Gauge>& gauge(std::string_view name, const char* help) {
    check(name, scenarios::metric_kind::gauge);
    return prometheus::BuildGauge().Name(std::string(name)).Help(help).Register(r_);
  }
  Family<Counter>& counter(std::string_view name, const char* help) {
    check(name, scenarios::metric_kind::counter);
    return prometheus::BuildCounter().Name(std::string(name)).Help(help).Register(r_);
  }
  Family<Histogram>& histogram(std::string_view name, const char* help) {
    check(name, scenarios::metric_kind::histogram);
    return prometheus::BuildHistogram().Name(std::string(name)).Help(help).Register(r_);
  }
  void check_complete() const {
    for (const auto& metric : scenarios::metric_catalog) {
      if (!metric.family.empty() && !registered_.contains(metric.family)) {
        throw std::logic_error(fmt::format("catalogued family {} is not registered", metric.family));
      }
    }
  }

 private:
  void check(std::string_view name, scenarios::metric_kind kind) {
    const auto row = std::ranges::find(scenarios::metric_catalog, name, &scenarios::metric_info::family);
    if (row == scenarios::metric_catalog.end() || row->kind != kind) {
      throw std::logic_error(fmt::format("family {} is not in the metric catalog with this kind", name));
    }
    registered_.insert(name);
  }
  prometheus::Registry& r_;
  std::set<std::string_view> registered_;
};

struct families {
  explicit families(prometheus::Registry& r)
      : reg(r),
        build_info(reg.gauge("gpusoak_build_info", "The daemon's version")),
        run_info(reg.gauge("gpusoak_run_info",
                           "The GPU's current or last run: run id, plan and its SHA-256, capability mask, renderer, "
                           "driver, vendor, gpusoak version and commit")),
        run_state(reg.gauge("gpusoak_run_state", "1 for the run's state")),
        progress(reg.gauge("gpusoak_run_progress_ratio", "Plan time done over plan duration")),
        elapsed(reg.gauge("gpusoak_run_elapsed_seconds", "Plan time done, carried over a resume")),
        phase(reg.gauge("gpusoak_run_phase_index", "0-based phase running")),
        last_sample(reg.gauge("gpusoak_last_sample_timestamp_seconds", "Unix time of the last stored sample")),
        runs_finished(reg.counter("gpusoak_runs_finished_total", "Runs that ended, by final state")),
        watchdog(reg.counter("gpusoak_watchdog_resets_total", "Contexts rebuilt after the GPU stopped answering")),
        leak_slope(reg.gauge("gpusoak_leak_slope_bytes_per_hour",
                             "Theil-Sen slope of live bytes in the current phase, after its warm-up")),
        live_buffers(reg.gauge("gpusoak_live_buffers", "Buffers alive")),
        live_bytes(reg.gauge("gpusoak_live_bytes", "Bytes of live buffers")),
        allocations(reg.counter("gpusoak_allocations_total", "Buffer allocations")),
        frees(reg.counter("gpusoak_frees_total", "Buffer frees")),
        rss(reg.gauge("gpusoak_resident_memory_bytes", "The daemon's RSS")),
        fragmentation(reg.gauge("gpusoak_pool_fragmentation_ratio", "1 - largest free block / free bytes")),
        oom_events(reg.counter("gpusoak_oom_events_total", "Out-of-memory errors")),
        oom_recoveries(reg.counter("gpusoak_oom_recoveries_total", "OOMs after which allocation worked again")),
        copies(reg.counter("gpusoak_copies_total", "Copies by copy path")),
        copied_bytes(reg.counter("gpusoak_copied_bytes_total", "Bytes copied by path")),
        hot_copies(reg.counter("gpusoak_hot_path_copies_total", "Copies on a zero-copy hot path; must stay 0")),
        latency(reg.histogram("gpusoak_op_latency_seconds", "Latency of one scenario op")),
        iterations(reg.counter("gpusoak_scenario_iterations_total", "Units of work done")),
        failures(reg.counter("gpusoak_scenario_failures_total", "Failed checks")),
        integrity(reg.counter("gpusoak_integrity_failures_total", "Pattern mismatches and wrong conv2d results")),
        fence_waits(reg.counter("gpusoak_fence_waits_total", "Fence waits that blocked")),
        fence_wait_seconds(reg.counter("gpusoak_fence_wait_seconds_total", "Time blocked in fence waits")),
        http_requests(reg.counter("gpusoak_http_requests_total", "Requests by status")),
        store_out_of_space(
            reg.gauge("gpusoak_store_out_of_space", "1 while writes to the run store fail for lack of disk space")),
        fragmentation_refusals(
            reg.counter("gpusoak_pool_fragmentation_refusals_total",
                        "Pool allocations refused although the pool's free bytes added up to them")) {
    reg.check_complete();
  }

  catalog_families reg;

  Family<Gauge>& build_info;
  Family<Gauge>& run_info;
  Family<Gauge>& run_state;
  Family<Gauge>& progress;
  Family<Gauge>& elapsed;
  Family<Gauge>& phase;
  Family<Gauge>& last_sample;
  Family<Counter>& runs_finished;
  Family<Counter>& watchdog;
  Family<Gauge>& leak_slope;
  Family<Gauge>& live_buffers;
  Family<Gauge>& live_bytes;
  Family<Counter>& allocations;
  Family<Counter>& frees;
  Family<Gauge>& rss;
  Family<Gauge>& fragmentation;
  Family<Counter>& oom_events;
  Family<Counter>& oom_recoveries;
  Family<Counter>& copies;
  Family<Counter>& copied_bytes;
  Family<Counter>& hot_copies;
  Family<Histogram>& latency;
  Family<Counter>& iterations;
  Family<Counter>& failures;
  Family<Counter>& integrity;
  Family<Counter>& fence_waits;
  Family<Counter>& fence_wait_seconds;
  Family<Counter>& http_requests;
  Family<Gauge>& store_out_of_space;
  Family<Counter>& fragmentation_refusals;
};

// One GPU's series and the last context readings they were advanced to.
class gpu_observer final : public soak_observer {
 public:
  gpu_observer(families& f, int device, std::string version)
      : f_(f), gpu_(std::to_string(device)), version_(std::move(version)) {
    for (const std::string& state : run_states()) {
      f_.run_state.Add({{"gpu", gpu_}, {"state", state}}).Set(state == "idle" ? 1 : 0);
    }
    for (std::size_t p = 0; p < gpu::copy_path_count; ++p) {
      const std::string path(gpu::to_string(static_cast<gpu::copy_path>(p)));
      copies_[p] = &f_.copies.Add({{"gpu", gpu_}, {"path", path}});
      copied_bytes_[p] = &f_.copied_bytes.Add({{"gpu", gpu_}, {"path", path}});
    }
    f_.allocations.Add(labels());
    f_.frees.Add(labels());
    f_.fence_waits.Add(labels());
    f_.fence_wait_seconds.Add(labels());
    f_.watchdog.Add(labels());
    f_.live_buffers.Add(labels());
    f_.live_bytes.Add(labels());
    f_.progress.Add(labels());
    f_.elapsed.Add(labels());
    f_.phase.Add(labels());
  }

  void set_state(std::string_view state) {
    for (const std::string& s : run_states()) {
      f_.run_state.Add({{"gpu", gpu_}, {"state", s}}).Set(state == s ? 1 : 0);
    }
  }

  void run_started(std::string_view run_id, const scenarios::plan& plan, double plan_seconds,
                   std::string_view plan_sha256) {
    std::lock_guard lock(mutex_);
    run_id_ = run_id;
    plan_name_ = plan.name;
    plan_sha256_ = plan_sha256;
    mask_.clear();  // until the run's context says
    plan_seconds_ = plan_seconds;
    slope_points_.clear();
    slope_from_t_ = 0;
    create_counters(plan);
    set_state("running");
    publish_info();
  }

  void run_finished(run_state state) {
    set_state(to_string(state));
    f_.runs_finished.Add({{"gpu", gpu_}, {"state", std::string(to_string(state))}}).Increment();
  }

  void on_context(gpu::context& ctx) override {
    std::lock_guard lock(mutex_);
    const auto& caps = ctx.caps();
    renderer_ = caps.renderer;
    driver_ = caps.version;
    vendor_ = std::string(gpu::to_string(caps.vendor_kind));
    mask_ = caps.masked.empty() ? "none" : caps.masked;
    last_ = {};  // a new context's counters start at zero
    publish_info();
  }

  void on_phase(std::size_t index, const scenarios::phase& ph, double plan_t) override {
    f_.phase.Add(labels()).Set(static_cast<double>(index));
    set_progress(plan_t);
    // The leak slope is the phase's own, after its warm-up, as the gate fits it (docs/gate.md): a
    // phase that releases what an earlier one held would otherwise hide a leak in a later one.
    std::lock_guard lock(mutex_);
    slope_points_.clear();
    slope_from_t_ = plan_t + gate_options{}.warmup_fraction * std::chrono::duration<double>(ph.duration).count();
  }

  void on_step(std::string_view scenario, const scenarios::step_result& r) override {
    const prometheus::Labels l{{"gpu", gpu_}, {"scenario", std::string(scenario)}};
    f_.iterations.Add(l).Increment(static_cast<double>(r.iterations));
    f_.failures.Add(l).Increment(static_cast<double>(r.failures.size() + r.failures_dropped));
    f_.integrity.Add(l).Increment(static_cast<double>(r.integrity_failures));
    f_.oom_events.Add(l).Increment(static_cast<double>(r.oom_events));
    f_.oom_recoveries.Add(l).Increment(static_cast<double>(r.oom_recoveries));
    f_.hot_copies.Add(l).Increment(static_cast<double>(r.hot_path_copies));
    if (r.fragmentation) {
      f_.fragmentation.Add(l).Set(*r.fragmentation);
      f_.fragmentation_refusals.Add(l).Increment(static_cast<double>(r.fragmentation_refusals));
    }
    const std::string strategy = r.strategy ? std::string(gpu::to_string(*r.strategy)) : std::string("mixed");
    if (r.latency.count > 0) {
      auto& histogram = f_.latency.Add({{"gpu", gpu_}, {"scenario", std::string(scenario)}, {"strategy", strategy}},
                                       latency_bounds());
      std::vector<double> increments(r.latency.buckets.begin(), r.latency.buckets.end());
      histogram.ObserveMultiple(increments, r.latency.sum_seconds);
    }
  }

  void on_samples(std::span<const sample> samples, const gpu::counters_snapshot& c) override {
    std::lock_guard lock(mutex_);
    for (std::size_t p = 0; p < gpu::copy_path_count; ++p) {
      add_delta(*copies_[p], c.copies[p], last_.copies[p]);
      add_delta(*copied_bytes_[p], c.copied_bytes[p], last_.copied_bytes[p]);
    }
    add_delta(f_.allocations.Add(labels()), c.allocations, last_.allocations);
    add_delta(f_.frees.Add(labels()), c.frees, last_.frees);
    add_delta(f_.fence_waits.Add(labels()), c.fence_waits, last_.fence_waits);
    const std::uint64_t ns =
        c.fence_wait_ns >= last_.fence_wait_ns ? c.fence_wait_ns - last_.fence_wait_ns : c.fence_wait_ns;
    last_.fence_wait_ns = c.fence_wait_ns;
    f_.fence_wait_seconds.Add(labels()).Increment(static_cast<double>(ns) * 1e-9);
    f_.live_buffers.Add(labels()).Set(static_cast<double>(c.live_buffers));
    f_.live_bytes.Add(labels()).Set(static_cast<double>(c.live_bytes));
    if (samples.empty()) return;
    const double t = samples.front().t_seconds;
    f_.last_sample.Add(labels()).Set(
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
    set_progress(t);
    // A fit over up to slope_max_points points is ~125k pairs: only when the points changed. The
    // sample's live bytes, read at a step boundary (before a phase's teardown), not the counters now.
    if (t < slope_from_t_) return;
    const double live = static_cast<double>(samples.front().live_bytes);
    if (slope_points_.add({t / 3600.0, live}) && slope_points_.points().size() >= min_leak_points) {
      if (auto slope = theil_sen_slope(slope_points_.points(), slope_max_points)) {
        f_.leak_slope.Add(labels()).Set(*slope);
      }
    }
  }

  void on_watchdog(std::string_view reason) override {
    (void)reason;
    f_.watchdog.Add(labels()).Increment();
  }

 private:
  prometheus::Labels labels() const { return {{"gpu", gpu_}}; }

  // Counter series exist at 0 from the run's start (docs/metrics.md promises it): increase() needs
  // a sample before the first event to count it, and `== 0` alerts and panels need a series to
  // read before anything happened. Adding an existing series is a no-op.
  void create_counters(const scenarios::plan& plan) {
    for (const run_state state : all_run_states) {
      if (state != run_state::queued && state != run_state::running)
        f_.runs_finished.Add({{"gpu", gpu_}, {"state", std::string(to_string(state))}});
    }
    for (const auto& phase : plan.phases) {
      for (const auto& entry : phase.scenarios) {
        const prometheus::Labels l{{"gpu", gpu_}, {"scenario", entry.name}};
        for (auto* family :
             {&f_.iterations, &f_.failures, &f_.integrity, &f_.oom_events, &f_.oom_recoveries, &f_.hot_copies}) {
          family->Add(l);
        }
        if (scenarios::produced_by(*scenarios::find_metric_info("fragmentation_refusals_total"), entry.name)) {
          f_.fragmentation_refusals.Add(l);
        }
      }
    }
  }

  void set_progress(double plan_t) {
    f_.elapsed.Add(labels()).Set(plan_t);
    f_.progress.Add(labels()).Set(plan_seconds_ > 0 ? std::min(1.0, plan_t / plan_seconds_) : 0.0);
  }

  // One run_info series per GPU: the old one goes when the run or the context changes. Label
  // values stay few: a mask is one of 8 feature subsets, a commit one per build, a plan hash one per
  // plan text.
  void publish_info() {
    if (info_ != nullptr) f_.run_info.Remove(info_);
    info_ = &f_.run_info.Add({{"gpu", gpu_},
                              {"run", run_id_},
                              {"plan", plan_name_},
                              {"plan_sha256", plan_sha256_},
                              {"mask", mask_},
                              {"renderer", renderer_},
                              {"driver", driver_},
                              {"vendor", vendor_},
                              {"version", version_},
                              {"commit", std::string(gpusoak_commit())}});
    info_->Set(1);
  }

  families& f_;
  std::string gpu_;
  std::string version_;
  std::mutex mutex_;
  std::string run_id_, plan_name_, plan_sha256_, mask_, renderer_, driver_, vendor_;
  double plan_seconds_ = 0;
  Gauge* info_ = nullptr;
  std::array<Counter*, gpu::copy_path_count> copies_{};
  std::array<Counter*, gpu::copy_path_count> copied_bytes_{};
  gpu::counters_snapshot last_;
  // Refit when the thinned series changes: the fit's cost and the series' memory stay flat over a
  // 24-hour run.
  static constexpr std::size_t slope_max_points = 500;
  thinned_series slope_points_{slope_max_points};  // the current phase's, after its warm-up
  double slope_from_t_ = 0;                        // plan time the current phase's warm-up ends
};

}  // namespace

struct daemon_metrics::impl {
  explicit impl(std::string v)
      : version(std::move(v)), registry(std::make_shared<prometheus::Registry>()), f(*registry) {
    f.build_info.Add({{"version", version}}).Set(1);
    f.store_out_of_space.Add({}).Set(0);
  }
  std::string version;
  std::shared_ptr<prometheus::Registry> registry;
  families f;
  std::mutex mutex;
  std::map<int, std::unique_ptr<gpu_observer>> gpus;

  gpu_observer& observer(int device) {
    std::lock_guard lock(mutex);
    auto& slot = gpus[device];
    if (!slot) slot = std::make_unique<gpu_observer>(f, device, version);
    return *slot;
  }
};

daemon_metrics::daemon_metrics(std::string version) : impl_(std::make_unique<impl>(std::move(version))) {}
daemon_metrics::~daemon_metrics() = default;

soak_observer& daemon_metrics::gpu(int device) {
  return impl_->observer(device);
}

void daemon_metrics::run_started(int device, std::string_view run_id, const scenarios::plan& plan, double plan_seconds,
                                 std::string_view plan_sha256) {
  impl_->observer(device).run_started(run_id, plan, plan_seconds, plan_sha256);
}

void daemon_metrics::run_finished(int device, run_state state) {
  impl_->observer(device).run_finished(state);
}

void daemon_metrics::request_answered(int http_status) {
  impl_->f.http_requests.Add({{"code", std::to_string(http_status)}}).Increment();
}

void daemon_metrics::store_out_of_space(bool full) {
  impl_->f.store_out_of_space.Add({}).Set(full ? 1 : 0);
}

std::string daemon_metrics::serialize() {
  impl_->f.rss.Add({}).Set(static_cast<double>(detail::resident_bytes()));
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace gpusoak::harness
