// Tests of the buddy family (core/buddy/): splitting, natural alignment, merging
// with the buddy, the whole superblock coming back free, the empty-superblock
// caches, and the stress harness over every row with other sizes.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/buddy/rows.hpp"
#include "core/instance.hpp"
#include "tests/core/stress.hpp"

namespace {

constexpr std::size_t kOps = evo::test::stress_ops(20000, 3000);

using evo::test::full_ok;
using evo::test::make;

}  // namespace

TEST_CASE("buddy family has 45 rows") {
  CHECK(evo::test::family_rows("buddy") == 45);
}

TEST_CASE("buddy: blocks are powers of two, split from the left, naturally aligned") {
  evo::Instance a = make("buddy sb=64K");
  char* p = static_cast<char*>(a.allocate(16));
  CHECK(reinterpret_cast<std::uintptr_t>(p) % (64 * 1024) == 0);  // first block at the superblock start
  CHECK(a.allocate(10) == p + 16);                                 // its buddy
  CHECK(a.allocate(17) == p + 32);                                 // 32-byte block after them
  void* k = a.allocate(1000);
  CHECK(a.usable_size(k) == 1024);
  CHECK(reinterpret_cast<std::uintptr_t>(k) % 1024 == 0);
  void* al = a.allocate(100, 4096);
  CHECK(reinterpret_cast<std::uintptr_t>(al) % 4096 == 0);
  CHECK(full_ok(a));
}

TEST_CASE("buddy: freeing both buddies merges them into the parent block") {
  evo::Instance a = make("buddy");
  char* x = static_cast<char*>(a.allocate(16));
  char* y = static_cast<char*>(a.allocate(16));
  void* keep = a.allocate(64);
  CHECK(y == x + 16);
  a.deallocate(x);
  CHECK(a.allocate(32) != x);  // x alone is too small
  a.deallocate(y);
  CHECK(full_ok(a));
  (void)keep;
}

TEST_CASE("buddy: freeing everything merges back to one free superblock") {
  using Heap = evo::buddy::BuddyHeap<evo::UnorderedBin, evo::FlatPagemap, evo::LazyCache>;
  evo::buddy::BuddyConfig cfg;
  cfg.sb = 64 * 1024;
  cfg.large = 16 * 1024;
  Heap h(cfg);
  std::string err;
  REQUIRE(h.init(&err));
  std::mt19937_64 rng(42);
  std::vector<void*> v;
  for (int i = 0; i < 300; ++i) v.push_back(h.allocate(1 + rng() % 200, 16));
  REQUIRE(h.superblocks() == 1);
  CHECK_FALSE(h.superblock_whole_free(v[0]));
  std::shuffle(v.begin(), v.end(), rng);
  for (void* p : v) h.deallocate(p);
  CHECK(h.superblock_whole_free(v[0]));
  CHECK(h.validate(evo::ValidateLevel::Full, &err));
  CHECK(h.cached() == 1);  // lazy: kept, marked
}

TEST_CASE("buddy caches: none returns an empty superblock, eager and lazy keep it") {
  for (std::string cache : {"none", "eager", "lazy"}) {
    CAPTURE(cache);
    evo::Instance a = make(std::string("buddy sb=64K cache=") + cache);
    std::vector<void*> v;
    for (int i = 0; i < 100; ++i) v.push_back(a.allocate(100));
    std::uint64_t with = a.stats().footprint;
    for (void* p : v) a.deallocate(p);
    std::uint64_t after = a.stats().footprint;
    if (cache == "none") {
      CHECK(after == with - 64 * 1024);
    } else {
      CHECK(after == with);
      CHECK(a.allocate(64 * 1024 / 2 + 1) == v[0]);  // the whole cached superblock serves again
    }
    CHECK(full_ok(a));
  }
}

TEST_CASE("buddy: blocks above large are mapped and returned") {
  evo::Instance a = make("buddy sb=64K large=16K");
  a.deallocate(a.allocate(20000));  // the pagemap commits its entry page once
  std::uint64_t f0 = a.stats().footprint;
  void* p = a.allocate(20000);
  CHECK(a.usable_size(p) >= 20000);
  CHECK(a.stats().footprint >= f0 + 20000);
  a.deallocate(p);
  CHECK(a.stats().footprint == f0);
}

TEST_CASE("buddy schema rejects inconsistent sizes") {
  std::string err;
  evo::AllocatorSpec spec;
  CHECK_FALSE(evo::parse_spec("buddy sb=64K large=128K", spec, &err));
  CHECK(err.find("large") != std::string::npos);
  CHECK_FALSE(evo::parse_spec("buddy sb=4K min=4K", spec, &err));
  CHECK_FALSE(evo::parse_spec("buddy sb=3K", spec, &err));
}

TEST_CASE("every buddy row survives the stress harness with small superblocks") {
  for (const evo::RegistryRow& row : evo::rows()) {
    if (row.family != "buddy") continue;
    std::string text = row.name;
    text.replace(text.find("sb=256K"), 7, "sb=16K");
    text.replace(text.find("large=64K"), 9, "large=8K");
    text.replace(text.find("min=16"), 6, "min=32");
    CAPTURE(text);
    evo::Instance inst = make(text);
    evo::test::StressResult r =
        evo::test::run_stress(inst, evo::test::stress_config(5 + row.id, kOps, 32 * 1024, 2000));
    CHECK_MESSAGE(r.ok, r.error);
  }
}
