// The randomized differential stress test for EVERY registry row (rows added by any
// family are covered automatically): see tests/core/stress.hpp for what is checked.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/instance.hpp"
#include "core/source/memory_source.hpp"
#include "tests/core/stress.hpp"

namespace {

constexpr std::size_t kOps = evo::test::stress_ops(100000, 10000);

}  // namespace

TEST_CASE("every registry row survives the randomized stress test") {
  REQUIRE(!evo::rows().empty());
  for (const evo::RegistryRow& row : evo::rows()) {
    CAPTURE(row.name);
    std::string err;
    evo::AllocatorSpec spec;
    REQUIRE(evo::parse_spec(row.name, spec, &err));
    evo::Instance inst = evo::Instance::create(spec, {}, &err);
    REQUIRE_MESSAGE(inst, err);
    evo::test::StressConfig cfg = evo::test::stress_config_for(spec, 1234 + row.id, kOps);
    evo::test::StressResult r = evo::test::run_stress(inst, cfg);
    CHECK_MESSAGE(r.ok, r.error);
  }
}

TEST_CASE("every registry row with retain=auto survives the stress with reused chunks scribbled") {
  // A kept chunk handed out by map(.., zero = false) comes back filled with 0xA5: a
  // design that reads what it did not write (a header, a bitmap, a link) fails here.
  evo::MemorySource::set_scribble(true);
  for (const evo::RegistryRow& row : evo::rows()) {
    CAPTURE(row.name);
    const std::string text =
        evo::test::with_keys(row.name, row.traits.routes ? " short=[slab slab=64K retain=auto]" : " retain=auto");
    std::string err;
    evo::AllocatorSpec spec;
    REQUIRE_MESSAGE(evo::parse_spec(text, spec, &err), err);
    evo::Instance inst = evo::Instance::create(spec, {}, &err);
    REQUIRE_MESSAGE(inst, err);
    evo::test::StressConfig cfg = evo::test::stress_config_for(spec, 4321 + row.id, kOps / 16);
    cfg.max_size = std::max<std::size_t>(cfg.max_size, std::size_t{2} << 20);  // chunks past the first budget
    evo::test::StressResult r = evo::test::run_stress(inst, cfg);
    CHECK_MESSAGE(r.ok, r.error);
  }
  evo::MemorySource::set_scribble(false);
}

TEST_CASE("stress harness catches a broken allocator") {
  // A row whose usable_size lies must be caught: wrap a real row and halve usable_size.
  static const evo::RegistryRow* base = &evo::rows()[0];
  static evo::RegistryRow liar = *base;
  liar.ops.usable_size = [](const void* s, const void* p) -> std::size_t {
    return base->ops.usable_size(s, p) == 0 ? 0 : base->ops.usable_size(s, p) / 2;
  };
  std::string err;
  evo::AllocatorSpec spec;
  REQUIRE(evo::parse_spec(base->name, spec, &err));
  void* state = base->create(spec, {}, &err);
  REQUIRE(state != nullptr);
  evo::Instance inst(&liar, state);
  evo::test::StressConfig cfg;
  cfg.ops = 2000;
  evo::test::StressResult r = evo::test::run_stress(inst, cfg);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("usable_size") != std::string::npos);
}

TEST_CASE("every row: impossible requests fail with null, realloc to 0 frees, size 0 is unique") {
  for (const evo::RegistryRow& row : evo::rows()) {
    CAPTURE(row.name);
    std::string err;
    evo::InstanceOptions opt;
    opt.memory_limit = 64 << 20;
    evo::Instance inst = evo::Instance::create(row.name, opt, &err);
    REQUIRE_MESSAGE(inst, err);
    CHECK(inst.allocate(SIZE_MAX) == nullptr);
    CHECK(inst.allocate(SIZE_MAX / 2, 64) == nullptr);
    CHECK(inst.allocate(std::size_t{1} << 40) == nullptr);  // far above the 64 MiB cap
    // An alignment no address of a user-space reservation can meet (x86-64 user
    // addresses are below 2^47). 2^40 is not impossible: a 64 GiB reservation
    // crosses a 1 TiB boundary 1 time in 16, and a design may rightly serve it.
    CHECK(inst.allocate(100, std::size_t{1} << 47) == nullptr);
    CHECK(inst.callocate(SIZE_MAX / 2, 4) == nullptr);     // n * size overflows
    void* a = inst.allocate(0);
    void* b = inst.allocate(0);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK(a != b);
    void* c = inst.reallocate(nullptr, 40);  // realloc(NULL, n) allocates
    REQUIRE(c != nullptr);
    std::memset(c, 1, 40);
    CHECK(inst.reallocate(c, 0) == nullptr);  // realloc(p, 0) frees
    inst.deallocate(a);
    inst.deallocate(b);
    inst.deallocate(nullptr);
    CHECK(inst.validate(evo::ValidateLevel::Full, &err));
    evo::AllocStats st = inst.stats();
    CHECK(st.frees >= 3);
    CHECK(st.peak_footprint >= st.footprint);
    CHECK(st.footprint <= opt.memory_limit);
  }
}

TEST_CASE("superblock rows under non-default numeric parameters") {
  // Each variant runs on a spread of superblock rows (every 7th: all bins, algorithms,
  // pagemaps and caches appear), with a fitted histogram for fitted:K.
  const char* variants[] = {
      "classes=pow2 sb=4K large=2K",
      "classes=linear:48 sb=16K large=8K align=32",
      "classes=jemalloc sb=1M large=512K align=64",
      "classes=fitted:12 sb=32K large=4K",
  };
  std::vector<evo::SizeCount> hist = {{8, 500}, {24, 900}, {40, 300}, {72, 120}, {200, 80}, {1000, 10}, {3000, 4}};
  std::size_t i = 0;
  for (const evo::RegistryRow& row : evo::rows()) {
    if (row.family != "superblock" || (row.id % 7) != 0) continue;
    evo::AllocatorSpec base;
    std::string err;
    REQUIRE(evo::parse_spec(row.name, base, &err));
    std::string text = "superblock bins=" + *base.get("bins") + " alg=" + *base.get("alg") + " pagemap=" +
                       *base.get("pagemap") + " cache=" + *base.get("cache") + " " + variants[i++ % 4];
    CAPTURE(text);
    evo::AllocatorSpec spec;
    REQUIRE_MESSAGE(evo::parse_spec(text, spec, &err), err);
    evo::InstanceOptions opt;
    opt.size_histogram = hist;
    evo::Instance inst = evo::Instance::create(spec, opt, &err);
    REQUIRE_MESSAGE(inst, err);
    CHECK(inst.row().id == row.id);
    evo::test::StressConfig cfg = evo::test::stress_config_for(spec, 99 + row.id, kOps / 5);
    evo::test::StressResult r = evo::test::run_stress(inst, cfg);
    CHECK_MESSAGE(r.ok, r.error);
  }
  CHECK(i >= 30);
}
