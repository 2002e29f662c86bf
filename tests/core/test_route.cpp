// Tests of the route family (core/route/router.hpp): the sub-designs in the spec
// text, the site classes, where blocks go and come back, the accounting of the sum
// (peak of the sum, one limit) and the randomized stress with blocks spread over
// every sub-design.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/instance.hpp"
#include "core/route/router.hpp"
#include "core/spec.hpp"
#include "tests/core/stress.hpp"

using namespace evo;

namespace {

const char* const kThree = "route life=1K short=[slab] long=[pad] rest=[superblock]";

/// Sites: 0 unknown, 1 short-lived, 2 keeps its objects, 3 long-lived but freed,
/// 4 short-lived but rare.
std::vector<SiteLife> sites() {
  return {
      {0, 0, 0},
      {100, 0, 512},   // p90 512 <= life 1K, nothing kept: short
      {100, 80, 64},   // 80% never freed: long
      {100, 0, 1 << 20},  // freed, but long after: rest
      {kMinSiteAllocs - 1, 0, 16},  // too few objects: rest
  };
}

Router& router_of(Instance& inst) { return *static_cast<Router*>(inst.state()); }

Instance make_route(const std::string& text, const InstanceOptions& opt) {
  std::string err;
  Instance inst = Instance::create(text, opt, &err);
  REQUIRE_MESSAGE(inst, err);
  return inst;
}

}  // namespace

TEST_CASE("route: sub-designs in brackets, canonical text, errors that name the key") {
  AllocatorSpec s;
  std::string err;
  REQUIRE_MESSAGE(parse_spec("route short=[slab slab=64K] rest=[superblock  sb=32K]", s, &err), err);
  const std::string text = s.text();
  CHECK(text.starts_with("route life=4K short=[slab slab=64K align=16 source=mmap harden=off front=none retain=0] "
                         "long=none rest=[superblock classes=jemalloc sb=32K "));
  CHECK(text.ends_with("] align=16 source=mmap harden=off front=none retain=0"));
  AllocatorSpec again;
  REQUIRE(parse_spec(text, again, &err));
  CHECK(again == s);

  // a bad sub-design: its own error, located at the value
  CHECK_FALSE(parse_spec("route short=[slab slab=3K]", s, &err));
  CHECK(err.find("column 13: in short=[...]: column 11: bad value '3K' for slab") != std::string::npos);
  CHECK_FALSE(parse_spec("route short=[route]", s, &err));
  CHECK(err.find("cannot route again") != std::string::npos);
  CHECK_FALSE(parse_spec("route rest=[slab threads=tlh]", s, &err));
  CHECK(err.find("give threads= to the whole design") != std::string::npos);
  CHECK_FALSE(parse_spec("route short=slab", s, &err));
  CHECK(err.find("a design of another family in brackets") != std::string::npos);
  CHECK_FALSE(parse_spec("route short=[slab", s, &err));
  CHECK_FALSE(parse_spec("route long=nothing", s, &err));
  CHECK(err.find("none or a design") != std::string::npos);
  CHECK_FALSE(parse_spec("route align=64", s, &err));
  CHECK(err.find("give align= to the sub-designs") != std::string::npos);
  CHECK_FALSE(parse_spec("route retain=1M", s, &err));
  CHECK_FALSE(parse_spec("route source=region", s, &err));
  // the whole design has one thread model
  REQUIRE(parse_spec("route threads=lock", s, &err));
  CHECK(*s.get("threads") == "lock");
}

TEST_CASE("route: classify_site by lifetime, kept share and evidence") {
  const std::vector<SiteLife> s = sites();
  CHECK(classify_site(s[1], 1024, true) == RouteClass::Short);
  CHECK(classify_site(s[1], 511, true) == RouteClass::Rest);  // p90 above life
  CHECK(classify_site(s[2], 1024, true) == RouteClass::Long);
  CHECK(classify_site(s[2], 1024, false) == RouteClass::Rest);  // no long sub-design
  CHECK(classify_site(s[3], 1024, true) == RouteClass::Rest);
  CHECK(classify_site(s[3], 1 << 20, true) == RouteClass::Short);
  CHECK(classify_site(s[4], 1024, true) == RouteClass::Rest);
  CHECK(classify_site({100, 2, 16}, 1024, true) == RouteClass::Rest);  // 2% kept: not short
  CHECK(classify_site({100, 1, 16}, 1024, true) == RouteClass::Short);
}

TEST_CASE("route: each site's blocks go to its class's sub-design and come back to it") {
  const std::vector<SiteLife> s = sites();
  InstanceOptions opt;
  opt.sites = s;
  Instance inst = make_route(kThree, opt);
  Router& r = router_of(inst);
  CHECK(r.class_of(0) == RouteClass::Rest);
  CHECK(r.class_of(1) == RouteClass::Short);
  CHECK(r.class_of(2) == RouteClass::Long);
  CHECK(r.class_of(3) == RouteClass::Rest);
  CHECK(r.class_of(4) == RouteClass::Rest);
  CHECK(r.class_of(99) == RouteClass::Rest);  // past the profile

  const RouteClass want[] = {RouteClass::Rest, RouteClass::Short, RouteClass::Long, RouteClass::Rest,
                             RouteClass::Rest};
  std::vector<void*> blocks;
  for (std::uint32_t site = 0; site < 5; ++site) {
    route_site = site;
    void* p = inst.allocate(40 + site);
    REQUIRE(p != nullptr);
    blocks.push_back(p);
    const AllocStats sub = r.sub(want[site]).stats();
    CHECK(sub.allocs >= 1);
    CHECK(r.sub(want[site]).usable_size(p) >= 40 + site);
  }
  CHECK(r.class_allocs(RouteClass::Short) == 1);
  CHECK(r.class_allocs(RouteClass::Long) == 1);
  CHECK(r.class_allocs(RouteClass::Rest) == 3);
  CHECK(r.sub(RouteClass::Rest).stats().allocs == 3);
  CHECK(inst.stats().allocs == 5);

  // realloc keeps a block in its sub-design, whatever the current site
  route_site = 2;
  void* q = inst.reallocate(blocks[1], 4000);
  REQUIRE(q != nullptr);
  blocks[1] = q;
  CHECK(r.sub(RouteClass::Short).stats().allocs >= 2);  // moved within slab
  CHECK(r.class_allocs(RouteClass::Long) == 1);

  // free finds the owner from the address
  for (void* p : blocks) inst.deallocate(p);
  CHECK(r.sub(RouteClass::Rest).stats().frees == 3);
  CHECK(r.sub(RouteClass::Long).stats().frees == 1);
  CHECK(inst.stats().frees >= 5);
  std::string err;
  CHECK_MESSAGE(inst.validate(ValidateLevel::Full, &err), err);
  route_site = 0;
}

TEST_CASE("route: without a site profile every allocation goes to the rest class") {
  Instance inst = make_route(kThree, {});
  Router& r = router_of(inst);
  for (std::uint32_t site = 0; site < 5; ++site) {
    route_site = site;
    inst.deallocate(inst.allocate(64));
  }
  CHECK(r.class_allocs(RouteClass::Rest) == 5);
  CHECK(r.class_allocs(RouteClass::Short) == 0);
  route_site = 0;
}

TEST_CASE("route: footprint and peak of the sum; the memory limit caps the sum") {
  const std::vector<SiteLife> s = sites();
  InstanceOptions opt;
  opt.sites = s;
  {
    Instance inst = make_route("route life=1K short=[vm] rest=[vm]", opt);
    Router& r = router_of(inst);
    route_site = 1;
    void* a = inst.allocate(8 << 20);
    REQUIRE(a != nullptr);
    inst.deallocate(a);
    route_site = 3;
    void* b = inst.allocate(8 << 20);
    REQUIRE(b != nullptr);
    const AllocStats st = inst.stats();
    const std::uint64_t short_peak = r.sub(RouteClass::Short).stats().peak_footprint;
    const std::uint64_t rest_peak = r.sub(RouteClass::Rest).stats().peak_footprint;
    CHECK(short_peak >= (8u << 20));
    CHECK(rest_peak >= (8u << 20));
    // one 8 MiB block at a time: the peak of the sum is one block, not two
    CHECK(st.peak_footprint < short_peak + rest_peak);
    CHECK(st.peak_footprint >= rest_peak);
    CHECK(st.footprint == r.sub(RouteClass::Short).stats().footprint + r.sub(RouteClass::Rest).stats().footprint);
    inst.deallocate(b);
  }
  {
    opt.memory_limit = 12 << 20;
    Instance inst = make_route("route life=1K short=[vm] rest=[vm]", opt);
    route_site = 1;
    void* a = inst.allocate(8 << 20);
    REQUIRE(a != nullptr);
    route_site = 3;
    CHECK(inst.allocate(8 << 20) == nullptr);  // each sub-design alone would fit
    inst.deallocate(a);
    void* b = inst.allocate(8 << 20);
    CHECK(b != nullptr);
    inst.deallocate(b);
  }
  route_site = 0;
}

TEST_CASE("route: the randomized stress with blocks spread over three sub-designs") {
  const std::vector<SiteLife> s = sites();
  InstanceOptions opt;
  opt.sites = s;
  const char* const designs[] = {
      kThree,
      "route life=1K short=[reap chunk=16K] long=[minimal] rest=[block] front=tcache:64",
      "route life=256 short=[buddy harden=canary] rest=[btag source=mmap] harden=checked",
  };
  for (const char* d : designs) {
    CAPTURE(d);
    Instance inst = make_route(d, opt);
    test::StressConfig cfg;
    cfg.ops = 30000;
    cfg.route_sites = 5;
    const test::StressResult res = test::run_stress(inst, cfg);
    CHECK_MESSAGE(res.ok, res.error);
  }
  route_site = 0;
}
