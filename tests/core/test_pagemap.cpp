// Tests of core/superblock/pagemap: set/get at the edges of the chunk space, misses
// never fault, metadata is committed lazily and counted, touches are reported.
#include <doctest/doctest.h>

#include "core/superblock/pagemap.hpp"

namespace {

struct Counter {
  std::size_t touches = 0;
  static void on(void* ctx, const void*, std::uint32_t) { ++static_cast<Counter*>(ctx)->touches; }
};

template <class PM>
void check_pagemap() {
  evo::MemorySource src(std::size_t{256} << 20);
  REQUIRE(src.ok());
  evo::MetaArena arena(src);
  PM pm;
  std::string err;
  REQUIRE_MESSAGE(pm.init(src, arena, &err), err);
  CHECK(pm.pages() == src.chunk_capacity() / evo::kPageSize);
  char* first = src.chunk_base();
  char* last = first + src.chunk_capacity() - 1;
  std::uint64_t before = src.footprint();

  // Misses: never set, outside the chunk space, null.
  CHECK(pm.get(first, nullptr) == 0);
  CHECK(pm.get(last, nullptr) == 0);
  CHECK(pm.get(nullptr, nullptr) == 0);
  CHECK(pm.get(src.region_base(), nullptr) == 0);
  CHECK(pm.get(last + 1, nullptr) == 0);
  CHECK(pm.set(last + 1, 0, nullptr));            // clearing outside is a no-op
  CHECK_FALSE(pm.set(last + 1, 42, nullptr));     // setting outside is refused
  CHECK(src.footprint() == before);               // lookups allocate nothing

  // The first and the last page of the space; any address inside the page hits.
  REQUIRE(pm.set(first, 0x1000, nullptr));
  REQUIRE(pm.set(last, 0x2001, nullptr));
  CHECK(pm.get(first + 4095, nullptr) == 0x1000);
  CHECK(pm.get(first + 4096, nullptr) == 0);
  CHECK(pm.get(last - 4095, nullptr) == 0x2001);
  CHECK(pm.get(last - 4096 - 4095, nullptr) == 0);
  CHECK(src.footprint() >= before);               // entries committed on demand (small radix nodes may fit the arena page)...
  CHECK(src.footprint() - before <= 64 * 1024);   // ...not the whole table

  Counter c;
  evo::Probe probe{&Counter::on, &c};
  CHECK(pm.get(first, &probe) == 0x1000);
  CHECK(c.touches >= 1);

  REQUIRE(pm.set(first, 0, nullptr));
  CHECK(pm.get(first, nullptr) == 0);
  CHECK(pm.get(last, nullptr) == 0x2001);
}

}  // namespace

TEST_CASE("flat pagemap") { check_pagemap<evo::FlatPagemap>(); }
TEST_CASE("radix2 pagemap") { check_pagemap<evo::Radix2Pagemap>(); }
TEST_CASE("radix3 pagemap") { check_pagemap<evo::Radix3Pagemap>(); }

TEST_CASE("radix3 touches more levels than flat") {
  evo::MemorySource s1(std::size_t{256} << 20), s2(std::size_t{256} << 20);
  evo::MetaArena a1(s1), a2(s2);
  evo::FlatPagemap flat;
  evo::Radix3Pagemap radix;
  std::string err;
  REQUIRE(flat.init(s1, a1, &err));
  REQUIRE(radix.init(s2, a2, &err));
  REQUIRE(flat.set(s1.chunk_base(), 8, nullptr));
  REQUIRE(radix.set(s2.chunk_base(), 8, nullptr));
  Counter cf, cr;
  evo::Probe pf{&Counter::on, &cf}, pr{&Counter::on, &cr};
  flat.get(s1.chunk_base(), &pf);
  radix.get(s2.chunk_base(), &pr);
  CHECK(cf.touches == 1);
  CHECK(cr.touches == 3);
}
