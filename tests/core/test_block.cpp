// Tests of the block-based family (core/block/): characteristic behaviour of each
// discrete choice, observable through the public allocator API, plus the stress
// harness over every row with the non-default memory source and alignment.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/block/classes.hpp"
#include "core/instance.hpp"
#include "tests/core/stress.hpp"

namespace {

constexpr std::size_t kOps = evo::test::stress_ops(30000, 4000);

using evo::test::full_ok;
using evo::test::make;
using evo::test::with_keys;

}  // namespace

TEST_CASE("block family has 24 rows, each a distinct discrete choice") {
  CHECK(evo::test::family_rows("block") == 24);
}

TEST_CASE("best fit returns the smallest free chunk that fits; first fit the first in its list") {
  // pow2 classes: chunks of 1100, 1500 and 2000 bytes share the bin (1040, 2064].
  for (const char* fit : {"best", "first"}) {
    CAPTURE(fit);
    evo::Instance a = make(std::string("block classes=pow2 coalesce=none search=own fit=") + fit);
    void* p2000 = a.allocate(2000);
    void* g1 = a.allocate(16);
    void* p1100 = a.allocate(1100);
    void* g2 = a.allocate(16);
    void* p1500 = a.allocate(1500);
    void* g3 = a.allocate(16);
    a.deallocate(p1500);
    a.deallocate(p1100);
    a.deallocate(p2000);  // the LIFO list now starts with the 2000-byte chunk
    void* q = a.allocate(1200);
    if (std::string(fit) == "best") {
      CHECK(q == p1500);
    } else {
      CHECK(q == p2000);
    }
    CHECK(full_ok(a));
    for (void* p : {q, g1, g2, g3}) a.deallocate(p);
    CHECK(full_ok(a));
  }
}

TEST_CASE("best fit: among equal sizes the last freed is reused first (per-size lists)") {
  evo::Instance a = make("block fit=best coalesce=none");
  std::vector<void*> v;
  for (int i = 0; i < 6; ++i) v.push_back(a.allocate(96));
  a.deallocate(v[4]);
  a.deallocate(v[1]);
  a.deallocate(v[3]);
  CHECK(full_ok(a));
  CHECK(a.allocate(96) == v[3]);
  CHECK(a.allocate(96) == v[1]);
  CHECK(a.allocate(96) == v[4]);
  CHECK(full_ok(a));
}

TEST_CASE("best fit tree: many sizes and duplicates, removal from the middle by coalescing") {
  evo::Instance a = make("block fit=best coalesce=immediate classes=pow2 search=larger");
  std::vector<void*> v;
  std::uint64_t x = 7;
  for (int i = 0; i < 3000; ++i) {
    x = x * 6364136223846793005ull + 1;
    v.push_back(a.allocate(16 + (x >> 40) % 40 * 16));
  }
  for (std::size_t i = 0; i < v.size(); i += 3) a.deallocate(v[i]);  // isolated frees: tree + lists
  CHECK(full_ok(a));
  for (std::size_t i = 1; i < v.size(); i += 3) a.deallocate(v[i]);  // merge with the left ones
  CHECK(full_ok(a));
  for (std::size_t i = 2; i < v.size(); i += 3) a.deallocate(v[i]);
  CHECK(full_ok(a));
  CHECK(a.stats().footprint <= 256 * 1024);
}

TEST_CASE("immediate coalescing turns three adjacent frees into one block") {
  for (const char* co : {"immediate", "deferred", "none"}) {
    CAPTURE(co);
    evo::Instance a = make(std::string("block fit=first search=larger coalesce=") + co);
    const auto [x, guard] = evo::test::free_adjacent_three(a, 200);
    // 3 chunks of 224 bytes merge into one of 672: a 640-byte request fits it exactly.
    void* big = a.allocate(640);
    if (std::string(co) == "immediate") {
      CHECK(big == x);
    } else {
      CHECK(big != x);  // none never merges; deferred waits for enough frees (>= 64)
    }
    a.deallocate(big);
    a.deallocate(guard);
    CHECK(full_ok(a));
  }
}

TEST_CASE("deferred coalescing merges in one batch when a search fails") {
  evo::Instance a = make("block fit=first search=larger coalesce=deferred source=region");
  std::vector<void*> v;
  for (int i = 0; i < 200; ++i) v.push_back(a.allocate(112));
  void* guard = a.allocate(16);
  for (int i = 0; i < 150; ++i) a.deallocate(v[i]);  // 150 adjacent free chunks of 128 bytes
  CHECK(full_ok(a));
  void* big = a.allocate(150 * 128 - 16);  // fits only the merged run
  CHECK(big == v[0]);
  CHECK(full_ok(a));
  a.deallocate(big);
  for (int i = 150; i < 200; ++i) a.deallocate(v[i]);
  a.deallocate(guard);
  CHECK(full_ok(a));
}

TEST_CASE("search=own does not take a chunk from a larger bin; search=larger does") {
  for (const char* search : {"own", "larger"}) {
    CAPTURE(search);
    evo::Instance a = make(std::string("block coalesce=none fit=first search=") + search);
    void* big = a.allocate(4000);
    void* guard = a.allocate(16);
    a.deallocate(big);
    void* small = a.allocate(100);
    if (std::string(search) == "own") {
      CHECK(small != big);
    } else {
      CHECK(small == big);
    }
    a.deallocate(small);
    a.deallocate(guard);
    CHECK(full_ok(a));
  }
}

TEST_CASE("split=selective keeps small remainders; split=always splits them off") {
  for (const char* split : {"always", "selective"}) {
    CAPTURE(split);
    evo::Instance a = make(std::string("block coalesce=none fit=first search=larger split_min=256 split=") + split);
    void* p = a.allocate(400);  // chunk 416
    void* guard = a.allocate(16);
    a.deallocate(p);
    void* q = a.allocate(300);  // chunk 320: remainder 96 < split_min
    CHECK(q == p);
    if (std::string(split) == "always") {
      CHECK(a.usable_size(q) == 320 - 16);
    } else {
      CHECK(a.usable_size(q) == 416 - 16);
    }
    a.deallocate(q);
    a.deallocate(guard);
    CHECK(full_ok(a));
  }
}

TEST_CASE("large requests are mapped directly and returned at free") {
  evo::Instance a = make("block large=64K");
  evo::AllocStats s0 = a.stats();
  void* p = a.allocate(1 << 20, 4096);
  REQUIRE(p != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(p) % 4096 == 0);
  CHECK(a.stats().footprint >= s0.footprint + (1 << 20));
  a.deallocate(p);
  CHECK(a.stats().footprint == s0.footprint);
}

TEST_CASE("freeing everything returns mapped segments; region trims its top") {
  for (const char* source : {"mmap", "region"}) {
    CAPTURE(source);
    evo::Instance a = make(std::string("block top=64K source=") + source);
    std::vector<void*> v;
    for (int i = 0; i < 5000; ++i) v.push_back(a.allocate(200 + (i % 7) * 16));
    std::uint64_t peak = a.stats().footprint;
    CHECK(peak > 1000 * 1000);
    for (void* p : v) a.deallocate(p);
    CHECK(full_ok(a));
    CHECK(a.stats().footprint <= 256 * 1024);
  }
}

TEST_CASE("class schemes build increasing tables") {
  std::string err;
  auto je = evo::block::class_sizes("jemalloc", {}, 1024, &err);
  REQUIRE(je.size() > 8);
  CHECK(je[0] == 16);
  CHECK(je[8] == 160);
  CHECK(je.back() == 1024);
  CHECK(evo::block::class_sizes("pow2", {}, 4096, &err).size() == 9);
  CHECK(evo::block::class_sizes("linear:64", {}, 640, &err).size() == 10);
  std::vector<evo::SizeCount> hist = {{24, 100}, {100, 100}, {1000, 200}};
  auto fit = evo::block::class_sizes("fitted:4", hist, 4096, &err);
  CHECK(fit == std::vector<std::size_t>{32, 112, 1008});
  CHECK(evo::block::class_sizes("bogus", {}, 4096, &err).empty());
  CHECK(err.find("bogus") != std::string::npos);
}

TEST_CASE("every block row survives the stress harness on the region source and at align=64") {
  for (const evo::RegistryRow& row : evo::rows()) {
    if (row.family != "block") continue;
    for (const char* extra : {" source=region", " align=64 top=4K split_min=32"}) {
      std::string text = with_keys(row.name, extra);
      CAPTURE(text);
      evo::Instance inst = make(text);
      evo::test::StressResult r =
          evo::test::run_stress(inst, evo::test::stress_config(77 + row.id, kOps, 600 * 1024, 3000));
      CHECK_MESSAGE(r.ok, r.error);
    }
  }
}
