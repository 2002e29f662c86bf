// Tests of evaluate/metrics: each objective on small hand-built traces through real designs.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "core/instance.hpp"
#include "evaluate/metrics.hpp"
#include "evaluate/replay.hpp"
#include "evaluate/trace.hpp"

using namespace evo;

namespace {

// n rounds of: allocate `live` blocks of `size` bytes, free them all.
Trace rounds(int n, int live, std::uint32_t size) {
  Trace t;
  for (int r = 0; r < n; ++r) {
    for (int i = 0; i < live; ++i) t.push(OpKind::Malloc, static_cast<std::uint32_t>(i), size);
    for (int i = 0; i < live; ++i) t.push(OpKind::Free, static_cast<std::uint32_t>(i), 0);
  }
  t.finish();
  return t;
}

const char* kMinimal = "minimal align=16 source=region harden=off";
const char* kSuper =
    "superblock classes=jemalloc sb=64K bins=unordered alg=bitmap pagemap=flat cache=lazy large=16K align=16 "
    "source=mmap harden=off";

/// evaluate_design of `design` on `t` with the size histogram of `t`.
Metrics evaluate(const std::string& design, const Trace& t, const EvalOptions& o = {}) {
  return evaluate_design(design, t, size_histogram(t), o);
}

}  // namespace

TEST_CASE("speed mode names") {
  SpeedMode m;
  CHECK(parse_speed_mode("measured", m));
  CHECK(m == SpeedMode::Measured);
  CHECK(parse_speed_mode("modeled", m));
  CHECK(m == SpeedMode::Modeled);
  CHECK_FALSE(parse_speed_mode("fast", m));
  CHECK(std::string(speed_mode_name(SpeedMode::Measured)) == "measured");
}

TEST_CASE("fragmentation of a no-reuse design grows with the rounds") {
  Trace t = rounds(10, 100, 100);
  Metrics m = evaluate(kMinimal, t);
  REQUIRE(m.valid);
  REQUIRE(m.feasible);
  CHECK(m.reason.empty());
  CHECK(m.completed == 1.0);
  CHECK(m.ops == t.ops.size());
  CHECK(m.peak_live_requested == 100 * 100);
  // Definition: peak footprint / peak live requested - 1, internal + external parts.
  CHECK(m.fragmentation == doctest::Approx(double(m.peak_footprint) / 10000.0 - 1));
  CHECK(m.frag_internal == doctest::Approx(double(m.peak_live_usable) / 10000.0 - 1));
  CHECK(m.frag_internal + m.frag_external == doctest::Approx(m.fragmentation));
  CHECK(m.peak_live_usable >= m.peak_live_requested);
  // minimal never reuses: 1000 blocks of >= 100 bytes are held at the end.
  CHECK(m.peak_footprint >= 1000 * 100);
  CHECK(m.fragmentation > 8.0);
  CHECK(m.speed == m.speed_modeled);
  CHECK(std::isnan(m.speed_measured_ns));
  CHECK(m.pages >= 1000 * 100 / 4096);
}

TEST_CASE("a reusing design fragments far less than a no-reuse one on the same trace") {
  Trace t = rounds(10, 100, 100);
  Metrics lean = evaluate(kSuper, t);
  Metrics fat = evaluate(kMinimal, t);
  REQUIRE(lean.feasible);
  CHECK(lean.fragmentation < fat.fragmentation);
  CHECK(lean.meta_touches > 0);
}

TEST_CASE("modeled speed and quality are deterministic and follow their formulas") {
  Trace t = rounds(5, 300, 48);
  Metrics a = evaluate(kSuper, t);
  Metrics b = evaluate(kSuper, t);
  REQUIRE(a.feasible);
  CHECK(a.speed_modeled == b.speed_modeled);
  CHECK(a.quality == b.quality);
  CHECK(a.fragmentation == b.fragmentation);
  const double n = double(a.ops);
  CHECK(a.speed_modeled == doctest::Approx((kWeightTouch * a.meta_touches + kWeightL1Miss * a.meta_l1_misses +
                                            kWeightL2Miss * a.meta_l2_misses + kWeightOsCall * a.os_calls) /
                                           n));
  CHECK(a.quality ==
        doctest::Approx((kWeightL1Miss * a.l1_misses + kWeightL2Miss * a.l2_misses + kWeightPage * a.pages) / n));
  // The program's first touches are in the locality stream, not in the metadata stream.
  CHECK(a.l1_misses >= a.meta_l1_misses);
}

TEST_CASE("a front design's modeled metrics do not depend on where the process heap puts its state") {
  // The cache's lists are probed metadata; the cache model keeps offsets within a
  // page, so the state must not move with the heap's history (islands and reruns
  // compare these counts exactly).
  Trace t = rounds(5, 300, 48);
  auto hist = size_histogram(t);
  const std::string front = std::string(kSuper) + " front=tcache:64";
  Metrics a = evaluate_design(front, t, hist, EvalOptions{});
  REQUIRE(a.feasible);
  std::vector<std::unique_ptr<char[]>> shift;
  for (int i = 1; i <= 40; ++i) {
    shift.emplace_back(new char[std::size_t(i) * 24]);
    Metrics b = evaluate_design(front, t, hist, EvalOptions{});
    REQUIRE(b.feasible);
    CHECK(a.meta_l1_misses == b.meta_l1_misses);
    CHECK(a.meta_l2_misses == b.meta_l2_misses);
    CHECK(a.l1_misses == b.l1_misses);
    CHECK(a.speed_modeled == b.speed_modeled);
  }
}

TEST_CASE("measured speed is a positive time per op") {
  Trace t = rounds(3, 200, 32);
  auto hist = size_histogram(t);
  EvalOptions o;
  o.speed_mode = SpeedMode::Measured;
  o.repeats = 2;
  Metrics m = evaluate_design(kSuper, t, hist, o);
  REQUIRE(m.feasible);
  CHECK(m.speed == m.speed_measured_ns);
  CHECK(m.speed_measured_ns > 0);
  CHECK(m.speed_modeled > 0);  // still computed
  CHECK(measure_speed_ns(kSuper, t, hist, o) > 0);
  std::string err;
  CHECK(std::isnan(measure_speed_ns("nonsense", t, hist, o, &err)));
  CHECK_FALSE(err.empty());
}

TEST_CASE("invalid sentence: invalid with a reason, no crash") {
  Trace t = rounds(1, 10, 10);
  Metrics m = evaluate("superblock sb=nonsense", t);
  CHECK_FALSE(m.valid);
  CHECK_FALSE(m.feasible);
  CHECK(m.reason.find("invalid design") == 0);
  CHECK(std::isnan(m.speed));
}

TEST_CASE("memory limit: infeasible, the fraction replayed is kept") {
  Trace t = rounds(20, 100, 1000);  // minimal holds 2 MB by the end
  EvalOptions o;
  o.memory_limit = 256 * 1024;
  Metrics m = evaluate(kMinimal, t, o);
  CHECK(m.valid);
  CHECK_FALSE(m.feasible);
  CHECK(m.reason.find("failed") != std::string::npos);
  CHECK(m.completed > 0.0);
  CHECK(m.completed < 1.0);
  CHECK(std::isnan(m.fragmentation));
}

TEST_CASE("time limit: infeasible with the reason") {
  Trace t = rounds(30, 300, 64);  // 18000 ops: the deadline is checked every 4096
  EvalOptions o;
  o.time_limit_s = 1e-9;
  Metrics m = evaluate(kSuper, t, o);
  CHECK(m.valid);
  CHECK_FALSE(m.feasible);
  CHECK(m.reason.find("time limit") == 0);
  CHECK(m.completed < 1.0);
}

TEST_CASE("max_ops replays a prefix") {
  Trace t = rounds(10, 100, 100);
  EvalOptions o;
  o.max_ops = 150;  // 100 mallocs + 50 frees
  Metrics m = evaluate(kMinimal, t, o);
  REQUIRE(m.feasible);
  CHECK(m.ops == 150);
  CHECK(m.peak_live_requested == 100 * 100);
}

TEST_CASE("the metrics replay makes exactly the allocator calls replay() makes") {
  // Counting probe on an instance replayed by evaluate/replay: same touch count as
  // the metric's (its own usable_size bookkeeping is not counted), same footprint.
  Trace t;
  for (std::uint32_t i = 0; i < 500; ++i) t.push(OpKind::Malloc, i, 16 + (i * 37) % 2000);
  for (std::uint32_t i = 0; i < 500; i += 2) t.push(OpKind::Realloc, i, 3000 - i);
  for (std::uint32_t i = 0; i < 500; ++i) t.push(OpKind::Free, i, 0);
  t.push(OpKind::Calloc, 3, 100);
  t.finish();
  auto hist = size_histogram(t);
  std::uint64_t touches = 0;
  Probe counter{[](void* ctx, const void*, std::uint32_t) { ++*static_cast<std::uint64_t*>(ctx); }, &touches};
  InstanceOptions io;
  io.probe = &counter;
  io.size_histogram = hist;
  std::string err;
  Instance inst = Instance::create(kSuper, io, &err);
  REQUIRE_MESSAGE(inst, err);
  ReplayResult r = replay(t, inst, ReplayOptions{});
  REQUIRE(r.ok);
  Metrics m = evaluate_design(kSuper, t, hist, EvalOptions{});
  REQUIRE(m.feasible);
  CHECK(m.meta_touches == touches);
  CHECK(m.peak_footprint == r.peak_footprint);
  CHECK(m.os_calls == r.final_stats.os_calls);
}

TEST_CASE("the simulated and real memory backings give the same metrics (espresso, several families)") {
  const Trace t = read_trace(std::string(EVOALLOC_SOURCE_DIR) + "/traces/espresso.trace");
  EvalOptions sim;
  sim.max_ops = 50000;
  sim.memory_limit = std::uint64_t{1} << 30;
  REQUIRE(sim.backing == SourceBacking::Simulated);  // evaluation's default
  EvalOptions real = sim;
  real.backing = SourceBacking::Real;
  std::uint64_t os_calls = 0;
  for (const char* s : {kSuper, kMinimal, "btag", "reap", "slab", "vm", "block fit=best coalesce=immediate",
                        "block fit=first coalesce=deferred source=region", "buddy sb=64K", "fibbuddy"}) {
    const std::string design = s;
    CAPTURE(design);
    const Metrics a = evaluate(s, t, real);
    const Metrics b = evaluate(s, t, sim);
    REQUIRE_MESSAGE(a.feasible, a.reason);
    REQUIRE_MESSAGE(b.feasible, b.reason);
    CHECK(a.ops == 50000);
    CHECK(a.speed_modeled == b.speed_modeled);
    CHECK(a.fragmentation == b.fragmentation);
    CHECK(a.frag_internal == b.frag_internal);
    CHECK(a.quality == b.quality);
    CHECK(a.peak_footprint == b.peak_footprint);
    CHECK(a.os_calls == b.os_calls);
    CHECK(a.meta_touches == b.meta_touches);
    CHECK(a.meta_l1_misses == b.meta_l1_misses);
    CHECK(a.meta_l2_misses == b.meta_l2_misses);
    CHECK(a.l1_misses == b.l1_misses);
    CHECK(a.l2_misses == b.l2_misses);
    CHECK(a.pages == b.pages);
    os_calls += a.os_calls;
  }
  CHECK(os_calls > 100);  // the designs really commit and decommit pages
}

TEST_CASE("a memory limit stops the simulated backing exactly where it stops the real one") {
  Trace t = rounds(20, 100, 1000);
  EvalOptions sim;
  sim.memory_limit = 256 * 1024;
  EvalOptions real = sim;
  real.backing = SourceBacking::Real;
  const Metrics a = evaluate(kMinimal, t, real);
  const Metrics b = evaluate(kMinimal, t, sim);
  CHECK_FALSE(a.feasible);
  CHECK_FALSE(b.feasible);
  CHECK(a.ops == b.ops);
  CHECK(a.reason == b.reason);
}
