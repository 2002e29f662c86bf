// Tests of evaluate/workload: one design scored on several real traces at once.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "evaluate/metrics.hpp"
#include "evaluate/trace.hpp"
#include "evaluate/workload.hpp"

using namespace evo;

namespace {

const std::string kSrc = EVOALLOC_SOURCE_DIR;
const std::string kEspresso = kSrc + "/traces/espresso.trace";
const std::string kPyqueue = kSrc + "/traces/pyqueue.trace";  // 5 threads; replayed sequentially here (modeled)
const char* kFitted =
    "block classes=fitted:8 fit=first coalesce=none split=selective split_min=1K search=own top=64K large=1M "
    "align=16 source=mmap harden=off front=none retain=auto";
const char* kSlab = "slab slab=16K align=32 source=mmap harden=off front=none retain=256K";

// The first 20000 ops of each trace, modeled speed; `limit` caps the second trace's footprint.
Workloads two(std::uint64_t limit = 0) {
  const std::vector<std::string> paths{kEspresso, kPyqueue};
  return load_workloads(paths, [&](const std::string& path, const Trace&) {
    EvalOptions o;
    o.max_ops = 20000;
    if (path == kPyqueue) o.memory_limit = limit;
    return o;
  });
}

}  // namespace

TEST_CASE("merge_histograms sums the counts of equal sizes; geometric_mean") {
  const std::vector<std::vector<SizeCount>> parts{{{16, 3}, {32, 1}}, {{8, 2}, {32, 4}}, {}};
  const std::vector<SizeCount> m = merge_histograms(parts);
  REQUIRE(m.size() == 3);
  CHECK((m[0].size == 8 && m[0].count == 2));
  CHECK((m[1].size == 16 && m[1].count == 3));
  CHECK((m[2].size == 32 && m[2].count == 5));
  const std::vector<double> xs{2, 8};
  CHECK(geometric_mean(xs) == doctest::Approx(4));
  const std::vector<double> bad{2, 0};
  CHECK(std::isnan(geometric_mean(bad)));
  CHECK(std::isnan(geometric_mean({})));
}

TEST_CASE("one trace: exactly evaluate_design's metrics") {
  const std::vector<std::string> paths{kEspresso};
  EvalOptions o;
  o.max_ops = 20000;
  const Workloads w = load_workloads(paths, [&](const std::string&, const Trace&) { return o; });
  REQUIRE(w.size() == 1);
  const Trace t = read_trace(kEspresso);
  CHECK(w.histogram.size() == size_histogram(t).size());
  const Metrics a = evaluate_workloads(kSlab, w);
  const Metrics b = evaluate_design(kSlab, t, size_histogram(t), o);
  REQUIRE(a.feasible);
  CHECK(a.speed == b.speed);
  CHECK(a.fragmentation == b.fragmentation);
  CHECK(a.quality == b.quality);
  CHECK(a.peak_footprint == b.peak_footprint);
  CHECK(a.reason.empty());
}

TEST_CASE("two traces: geometric-mean speed, worst fragmentation, mean quality, one merged histogram") {
  const Workloads w = two();
  REQUIRE(w.size() == 2);
  const std::vector<SizeCount> h0 = size_histogram(w.items[0].trace), h1 = size_histogram(w.items[1].trace);
  const std::vector<std::vector<SizeCount>> parts{h0, h1};
  const std::vector<SizeCount> merged = merge_histograms(parts);
  REQUIRE(w.histogram.size() == merged.size());
  CHECK(w.histogram.size() > std::max(h0.size(), h1.size()));
  for (const char* design : {kSlab, kFitted}) {
    CAPTURE(design);
    const Metrics m = evaluate_workloads(design, w);
    // Each trace is replayed with the merged histogram (what the export builds).
    const Metrics a = evaluate_design(design, w.items[0].trace, merged, w.items[0].options);
    const Metrics b = evaluate_design(design, w.items[1].trace, merged, w.items[1].options);
    REQUIRE(a.feasible);
    REQUIRE(b.feasible);
    REQUIRE(m.feasible);
    CHECK(m.speed == doctest::Approx(std::sqrt(a.speed * b.speed)));
    CHECK(m.speed_modeled == doctest::Approx(std::sqrt(a.speed_modeled * b.speed_modeled)));
    CHECK(m.fragmentation == std::max(a.fragmentation, b.fragmentation));
    CHECK(m.frag_internal + m.frag_external == doctest::Approx(m.fragmentation));
    CHECK(m.quality == doctest::Approx((a.quality + b.quality) / 2));
    CHECK(m.ops == a.ops + b.ops);
    CHECK(m.peak_footprint == (a.fragmentation >= b.fragmentation ? a : b).peak_footprint);  // the worst trace's
    CHECK(m.completed == 1.0);
  }
  // A fitted design's classes come from the histogram: the merged one is not pyqueue's own.
  const Metrics own = evaluate_design(kFitted, w.items[1].trace, h1, w.items[1].options);
  const Metrics shared = evaluate_design(kFitted, w.items[1].trace, merged, w.items[1].options);
  CHECK(own.peak_live_usable != shared.peak_live_usable);
}

TEST_CASE("a design infeasible on one trace is infeasible, the reason names that trace") {
  const Workloads w = two(64 * 1024);  // pyqueue's first 20000 ops need more than 64 KiB
  const Metrics m = evaluate_workloads(kSlab, w);
  CHECK(m.valid);
  CHECK_FALSE(m.feasible);
  CHECK(m.reason.rfind("pyqueue.trace: ", 0) == 0);
  CHECK(m.completed > 0.5);  // espresso's part was replayed whole
  CHECK(m.completed < 1.0);
  CHECK(std::isnan(m.speed));
  CHECK(std::isnan(m.fragmentation));
  // An invalid design is invalid whatever the trace: no file name, nothing replayed.
  const Metrics bad = evaluate_workloads("superblock sb=nonsense", w);
  CHECK_FALSE(bad.valid);
  CHECK(bad.reason.find("invalid design") == 0);
  CHECK(bad.completed == 0.0);
}

TEST_CASE("measured speed over traces: geometric mean, the failing trace named") {
  std::vector<std::string> paths{kEspresso, kPyqueue};
  const Workloads w = load_workloads(paths, [](const std::string&, const Trace&) {
    EvalOptions o;
    o.max_ops = 5000;
    o.repeats = 1;
    o.speed_mode = SpeedMode::Measured;
    return o;
  });
  CHECK(measure_workloads_ns(kSlab, w) > 0);
  const Metrics m = evaluate_workloads(kSlab, w);
  REQUIRE(m.feasible);
  CHECK(m.speed == m.speed_measured_ns);
  CHECK(m.speed_measured_ns > 0);
  std::string err;
  CHECK(std::isnan(measure_workloads_ns("nonsense", w, {}, &err)));
  CHECK(err.rfind("espresso.trace: ", 0) == 0);
}

TEST_CASE("load_workloads: a missing or empty trace is an error naming the file") {
  const auto dir = std::filesystem::temp_directory_path() / "evoalloc_test_workload";
  std::filesystem::create_directories(dir);
  const std::string empty = (dir / "empty.trace").string();
  Trace none;
  none.finish();
  write_trace(empty, none);
  auto opts = [](const std::string&, const Trace&) { return EvalOptions{}; };
  for (const std::string& bad : {empty, (dir / "absent.trace").string()}) {
    CAPTURE(bad);
    const std::vector<std::string> paths{kEspresso, bad};
    std::string what;
    try {
      load_workloads(paths, opts);
    } catch (const std::runtime_error& e) {
      what = e.what();
    }
    CHECK(what.rfind(bad + ":", 0) == 0);
  }
  std::filesystem::remove_all(dir);
}
