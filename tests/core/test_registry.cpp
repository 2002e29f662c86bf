// Tests of core/registry and Instance::create: dense ids, names parse back to their
// rows, schemas are consistent, create reports clear errors.
#include <doctest/doctest.h>

#include <set>

#include "core/instance.hpp"
#include "core/registry.hpp"

TEST_CASE("row ids are dense and every name parses back to its own row") {
  auto rows = evo::rows();
  REQUIRE(!rows.empty());
  std::set<std::string> names;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const evo::RegistryRow& r = rows[i];
    CAPTURE(r.name);
    CHECK(r.id == i);
    CHECK(names.insert(r.name).second);
    evo::AllocatorSpec spec;
    std::string err;
    REQUIRE_MESSAGE(evo::parse_spec(r.name, spec, &err), err);
    CHECK(spec.text() == r.name);
    CHECK(r.family == spec.family);
    const evo::RegistryRow* found = evo::find_row(spec, &err);
    REQUIRE(found != nullptr);
    CHECK(found->id == r.id);
    CHECK(bool(r.ops.allocate));
    CHECK(bool(r.ops.deallocate));
    CHECK(bool(r.ops.reallocate));
    CHECK(bool(r.ops.usable_size));
    CHECK(bool(r.ops.stats));
    CHECK(bool(r.ops.validate));
    CHECK(bool(r.ops.destroy));
    CHECK(bool(r.create));
    CHECK(r.traits.min_align >= 16);
  }
}

TEST_CASE("every family has rows, and numeric keys do not change the row") {
  for (const evo::FamilySchema& f : evo::families()) {
    CAPTURE(f.family);
    CHECK(evo::find_family(f.family) == &f);
    bool has_row = false;
    for (const evo::RegistryRow& r : evo::rows()) has_row |= (r.family == f.family);
    CHECK(has_row);
  }
  evo::AllocatorSpec a, b;
  std::string err;
  REQUIRE(evo::parse_spec("pad chunk=4K", a, &err));
  REQUIRE(evo::parse_spec("pad chunk=1M align=64", b, &err));
  CHECK(evo::find_row(a, &err) == evo::find_row(b, &err));
  CHECK(evo::find_family("nope") == nullptr);
  CHECK(evo::common_keys().size() == 6);  // align source harden front retain, optional threads
  CHECK(evo::common_keys().back().optional);
}

TEST_CASE("Instance::create reports errors in one line") {
  std::string err;
  evo::Instance bad = evo::Instance::create("pad chunk=zero", {}, &err);
  CHECK_FALSE(bad);
  CHECK(err.find("chunk") != std::string::npos);
  evo::Instance hard = evo::Instance::create("minimal harden=canary", {}, &err);
  if (!hard) CHECK(err.find("harden=canary") != std::string::npos);  // until the layer lands
  evo::Instance ok = evo::Instance::create("minimal", {}, &err);
  REQUIRE(ok);
  CHECK(ok.row().name == "minimal align=16 source=region harden=off front=none retain=0");
  void* p = ok.allocate(0);
  void* q = ok.allocate(0);
  CHECK(p != nullptr);
  CHECK(p != q);
  ok.deallocate(p);
  ok.deallocate(q);
}

TEST_CASE("no-reuse rows: minimal grows by exactly each request, pad by chunks") {
  std::string err;
  evo::Instance m = evo::Instance::create("minimal", {}, &err);
  REQUIRE(m);
  char* a = static_cast<char*>(m.allocate(100));
  char* b = static_cast<char*>(m.allocate(10));
  CHECK(b == a + 112 + 16);  // 100 -> 112 usable, then b's 16-byte header
  CHECK(m.usable_size(a) == 112);
  CHECK(m.stats().footprint == 4096);
  char* c = static_cast<char*>(m.allocate(64, 256));
  CHECK(reinterpret_cast<std::uintptr_t>(c) % 256 == 0);
  CHECK(m.validate(evo::ValidateLevel::Full, &err));
  // The last block grows in place; others move.
  CHECK(m.reallocate(c, 1000) == c);
  std::memset(c, 7, 1000);
  char* a2 = static_cast<char*>(m.reallocate(a, 500));
  CHECK(a2 != a);
  CHECK(m.validate(evo::ValidateLevel::Full, &err));

  evo::Instance p = evo::Instance::create("pad chunk=8K", {}, &err);
  REQUIRE(p);
  p.allocate(16);
  CHECK(p.stats().footprint == 8192);
  p.allocate(9000);  // ends at 16+16+16+9008 = 9056 bytes: one more 8K chunk
  CHECK(p.stats().footprint == 2 * 8192);
  p.allocate(20000);  // ends near 29K: two more chunks
  CHECK(p.stats().footprint == 4 * 8192);
  CHECK(p.stats().allocs == 3);
  CHECK(p.validate(evo::ValidateLevel::Full, &err));

  evo::InstanceOptions lim;
  lim.memory_limit = 64 * 1024;
  evo::Instance capped = evo::Instance::create("minimal", lim, &err);
  REQUIRE(capped);
  CHECK(capped.allocate(1 << 20) == nullptr);  // over the cap: null, no abort
  CHECK(capped.allocate(1000) != nullptr);
}
