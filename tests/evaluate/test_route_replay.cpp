// Routing designs (core/route/router.hpp) in the replays: the checked, timed,
// probed (metrics) and threaded replays all tell the router each op's call site, so
// a design whose profile comes from the trace sends its short-lived sites' blocks to
// its short sub-design, and every replay stays correct (shadow-checked).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/instance.hpp"
#include "core/route/router.hpp"
#include "evaluate/metrics.hpp"
#include "evaluate/replay.hpp"
#include "evaluate/replay_threaded.hpp"
#include "evaluate/site_profile.hpp"
#include "evaluate/trace.hpp"

using namespace evo;

namespace {

const std::string kDesign = "route life=16K short=[slab slab=64K] long=[pad] rest=[superblock]";

const Trace& espresso() {
  static const Trace t = read_trace(std::string(EVOALLOC_SOURCE_DIR) + "/traces/espresso.trace");
  return t;
}

/// Allocating ops of the first n ops of t whose site the router puts in class c.
std::uint64_t allocs_in(const Trace& t, std::uint64_t n, const Router& r, RouteClass c) {
  std::uint64_t k = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const Op& op = t.ops[i];
    if (op.kind == OpKind::Free) continue;
    if (op.kind == OpKind::Realloc) continue;  // counted only when it creates (below)
    if (r.class_of(op.site) == c) ++k;
  }
  return k;
}

}  // namespace

TEST_CASE("route replay: espresso's sites split over the classes; checked and timed replays agree") {
  const Trace& t = espresso();
  const std::vector<SiteLife> sites = site_lives(t);
  InstanceOptions io;
  io.sites = sites;
  std::string err;
  Instance checked = Instance::create(kDesign, io, &err);
  REQUIRE_MESSAGE(checked, err);
  ReplayOptions ro;
  ro.check = true;
  ro.max_ops = 400000;
  const ReplayResult rc = replay(t, checked, ro);
  REQUIRE_MESSAGE(rc.ok, rc.error);
  const Router& r1 = *static_cast<const Router*>(checked.state());
  // espresso: most allocations come from short-lived sites
  CHECK(r1.class_allocs(RouteClass::Short) > r1.class_allocs(RouteClass::Rest));
  CHECK(r1.class_allocs(RouteClass::Rest) > 0);
  bool has_realloc = false;
  for (std::uint64_t i = 0; i < ro.max_ops; ++i) has_realloc |= t.ops[i].kind == OpKind::Realloc;
  if (!has_realloc) CHECK(r1.class_allocs(RouteClass::Short) == allocs_in(t, ro.max_ops, r1, RouteClass::Short));

  // the timed loop routes the same way
  Instance timed = Instance::create(kDesign, io, &err);
  REQUIRE(timed);
  ReplayOptions fast;
  fast.max_ops = ro.max_ops;
  const ReplayResult rf = replay(t, timed, fast);
  REQUIRE_MESSAGE(rf.ok, rf.error);
  const Router& r2 = *static_cast<const Router*>(timed.state());
  for (RouteClass c : {RouteClass::Short, RouteClass::Long, RouteClass::Rest}) {
    CAPTURE(route_class_name(c));
    CHECK(r2.class_allocs(c) == r1.class_allocs(c));
  }
  CHECK(rf.peak_footprint == rc.peak_footprint);
}

TEST_CASE("route replay: the metrics see the routing only with the trace's site profile") {
  const Trace& t = espresso();
  const std::vector<SiteLife> sites = site_lives(t);
  const auto hist = size_histogram(t);
  EvalOptions eo;
  eo.max_ops = 200000;
  const Metrics without = evaluate_design(kDesign, t, hist, eo);
  eo.sites = sites;
  const Metrics with = evaluate_design(kDesign, t, hist, eo);
  REQUIRE_MESSAGE(without.feasible, without.reason);
  REQUIRE_MESSAGE(with.feasible, with.reason);
  // without a profile the design is its rest design (superblock) plus the router and
  // the idle sub-designs' start-up metadata (a few pages)
  const Metrics rest = evaluate_design("superblock", t, hist, eo);
  CHECK(without.peak_footprint >= rest.peak_footprint);
  CHECK(without.peak_footprint <= rest.peak_footprint + 64 * 1024);
  CHECK(with.peak_footprint != without.peak_footprint);  // the slab now holds the short-lived blocks
}

TEST_CASE("route replay: threaded replay under every model, shadow-checked") {
  const Trace t = read_trace(std::string(EVOALLOC_SOURCE_DIR) + "/traces/pyqueue.trace");
  REQUIRE(t.threads > 1);
  const std::vector<SiteLife> sites = site_lives(t);
  InstanceOptions io;
  io.sites = sites;
  for (ThreadModel m : {ThreadModel::Lock, ThreadModel::Tlh, ThreadModel::Tcache}) {
    CAPTURE(thread_model_name(m));
    ThreadedReplayOptions o;
    o.model = m;
    o.check = true;
    o.max_ops = 150000;
    std::string err;
    const std::string d = design_for_model(kDesign + " front=tcache:64", m, &o, &err);
    REQUIRE_MESSAGE(!d.empty(), err);
    const ThreadedReplayResult r =
        replay_threaded(t, [&](std::string* e) { return Instance::create(d, io, e); }, o);
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(r.ops == o.max_ops);
  }
}
