// Tests of evaluate/cache_model: hand-computed hit/miss sequences for LRU sets.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <stdexcept>

#include "evaluate/cache_model.hpp"

using evo::CacheConfig;
using evo::CacheModel;
using evo::Source;

namespace {
// Tiny geometry so sets are easy to reason about: L1 2 sets x 2 ways, L2 4 sets x 4 ways.
CacheConfig tiny() {
  return {.line = 64, .l1_size = 256, .l1_ways = 2, .l2_size = 1024, .l2_ways = 4, .page = 4096};
}
}  // namespace

TEST_CASE("cold misses, then hits") {
  CacheModel m(tiny());
  m.access(std::uintptr_t{0}, 8);
  m.access(std::uintptr_t{8}, 8);  // same line
  m.access(std::uintptr_t{64}, 8);
  const auto& c = m.counts(Source::Meta);
  CHECK(c.touches == 3);
  CHECK(c.accesses == 3);
  CHECK(c.l1_misses == 2);
  CHECK(c.l2_misses == 2);
  m.access(std::uintptr_t{0}, 4);
  CHECK(m.counts(Source::Meta).l1_misses == 2);
  CHECK(m.distinct_pages() == 1);
}

TEST_CASE("an access spanning lines counts each line") {
  CacheModel m(tiny());
  m.access(std::uintptr_t{60}, 8);  // lines 0 and 1
  CHECK(m.counts(Source::Meta).accesses == 2);
  CHECK(m.counts(Source::Meta).l1_misses == 2);
  m.access(std::uintptr_t{4090}, 10);  // lines 63 and 64 -> pages 0 and 1
  CHECK(m.distinct_pages() == 2);
}

TEST_CASE("LRU eviction in a 2-way set, L2 catches it") {
  CacheModel m(tiny());
  // Lines 0, 2, 4 all map to L1 set 0 (2 sets). L2 sets: 0, 2, 0 (4 sets).
  const std::uintptr_t a = 0 * 64, b = 2 * 64, c = 4 * 64;
  m.access(a, 1);
  m.access(b, 1);
  m.access(a, 1);  // hit, a becomes MRU
  m.access(c, 1);  // miss, evicts b (LRU)
  m.access(a, 1);  // hit
  m.access(b, 1);  // L1 miss, L2 hit
  const auto& k = m.counts(Source::Meta);
  CHECK(k.accesses == 6);
  CHECK(k.l1_misses == 4);  // a, b, c cold + b again
  CHECK(k.l2_misses == 3);  // only the cold ones
}

TEST_CASE("L2 LRU eviction") {
  CacheModel m(tiny());
  // L2 has 4 sets x 4 ways: lines 0,4,8,12,16 all in L2 set 0 (and L1 set 0).
  for (int l : {0, 4, 8, 12, 16}) m.access(std::uintptr_t(l * 64), 1);
  CHECK(m.counts(Source::Meta).l2_misses == 5);
  m.access(std::uintptr_t{0}, 1);  // evicted from L1 (2 ways) and from L2 (LRU of 5 > 4 ways)
  CHECK(m.counts(Source::Meta).l1_misses == 6);
  CHECK(m.counts(Source::Meta).l2_misses == 6);
  m.access(std::uintptr_t{12 * 64}, 1);  // not in L1 (0 and 16 are), still in L2
  CHECK(m.counts(Source::Meta).l1_misses == 7);
  CHECK(m.counts(Source::Meta).l2_misses == 6);
}

TEST_CASE("sources are counted apart and share the cache") {
  CacheModel m(tiny());
  m.access(std::uintptr_t{0}, 8, Source::Program);
  m.access(std::uintptr_t{0}, 8, Source::Meta);  // warmed by the program access
  CHECK(m.counts(Source::Program).l1_misses == 1);
  CHECK(m.counts(Source::Meta).l1_misses == 0);
  CHECK(m.counts(Source::Meta).touches == 1);
  CHECK(m.total().touches == 2);
  CHECK(m.total().l1_misses == 1);
}

TEST_CASE("distinct pages is exact over many pages") {
  CacheModel m;
  std::mt19937_64 rng(7);
  const int n = 20000;
  for (int i = 0; i < n; ++i) m.access(std::uintptr_t(i) * 4096 + (rng() % 4096), 1);
  for (int i = 0; i < n; ++i) m.access(std::uintptr_t(i) * 4096, 1);  // again: no new pages
  CHECK(m.distinct_pages() == n);
  m.reset();
  CHECK(m.distinct_pages() == 0);
  CHECK(m.total().accesses == 0);
}

TEST_CASE("default geometry: a working set that fits L1 only misses cold") {
  CacheModel m;
  for (int rep = 0; rep < 3; ++rep)
    for (std::uintptr_t a = 0; a < 32 * 1024; a += 64) m.access(a, 8);
  CHECK(m.counts(Source::Meta).l1_misses == 512);
  // 64 KiB does not fit L1 (LRU thrashes, every access misses) but fits L2.
  CacheModel m2;
  for (int rep = 0; rep < 3; ++rep)
    for (std::uintptr_t a = 0; a < 64 * 1024; a += 64) m2.access(a, 8);
  CHECK(m2.counts(Source::Meta).l1_misses == 3 * 1024);
  CHECK(m2.counts(Source::Meta).l2_misses == 1024);
}

TEST_CASE("bad geometry is rejected") {
  CacheConfig c;
  c.l1_ways = 3;
  CHECK_THROWS_AS(CacheModel{c}, std::invalid_argument);
  c = {};
  c.l1_size = 64;
  CHECK_THROWS_AS(CacheModel{c}, std::invalid_argument);
}

TEST_CASE("page renaming: a stream shifted by whole pages gives identical counts") {
  std::mt19937_64 rng(3);
  std::vector<std::pair<std::uintptr_t, std::uint32_t>> stream;
  for (int i = 0; i < 50000; ++i)
    stream.emplace_back((rng() % 3 == 0 ? 0x10000000 : 0x7f0000000000) + (rng() % (3 << 20)), 1 + rng() % 32);
  CacheModel a, b;
  for (auto [p, n] : stream) a.access(p, n);
  for (auto [p, n] : stream) b.access(p + (std::uintptr_t{12345} << 12), n);
  CHECK(a.counts(Source::Meta).l1_misses == b.counts(Source::Meta).l1_misses);
  CHECK(a.counts(Source::Meta).l2_misses == b.counts(Source::Meta).l2_misses);
  CHECK(a.distinct_pages() == b.distinct_pages());
}

TEST_CASE("without renaming the caches are indexed by virtual address") {
  // 17 lines 64 KiB apart: one L2 set (1024 sets x 64 B) by virtual address, so a
  // 16-way L2 thrashes; renamed, they are frames 0..16 and spread over 16 sets.
  CacheConfig raw;
  raw.rename_pages = false;
  CacheModel r(raw), n;
  for (int rep = 0; rep < 3; ++rep)
    for (std::uintptr_t k = 0; k < 17; ++k) {
      r.access(k << 16, 1);
      n.access(k << 16, 1);
    }
  CHECK(r.counts(Source::Meta).l2_misses == 3 * 17);
  CHECK(n.counts(Source::Meta).l2_misses == 17);
  CHECK(r.distinct_pages() == 17);
  CHECK(n.distinct_pages() == 17);
}
