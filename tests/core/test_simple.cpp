// Tests of the textbook and the remaining classic designs (core/simple/family.hpp):
// each design's characteristic behaviour through the public allocator API, plus the
// stress harness on the non-default memory source and alignment.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/instance.hpp"
#include "tests/core/stress.hpp"

namespace {

constexpr std::size_t kOps = evo::test::stress_ops(30000, 4000);

using evo::test::full_ok;
using evo::test::make;

}  // namespace

TEST_CASE("freelist: first fit returns the lowest-address fit; btag returns the last freed") {
  for (const char* design : {"freelist", "btag"}) {
    CAPTURE(design);
    for (const char* source : {"region", "mmap"}) {
      CAPTURE(source);
      evo::Instance a = make(std::string(design) + " source=" + source);
      std::vector<void*> v;
      for (int i = 0; i < 6; ++i) v.push_back(a.allocate(100));
      a.deallocate(v[1]);
      a.deallocate(v[3]);
      void* q = a.allocate(100);
      CHECK(q == (std::string(design) == "freelist" ? v[1] : v[3]));
      CHECK(full_ok(a));
    }
  }
}

TEST_CASE("coalescing turns three adjacent frees into one block") {
  for (const char* design : {"freelist", "btag", "dlbins", "fixed fallback=freelist"}) {
    CAPTURE(design);
    evo::Instance a = make(design);
    const auto [x, guard] = evo::test::free_adjacent_three(a, 5000);
    void* big = a.allocate(15000);  // fits only in the merged block
    CHECK(big == x);
    a.deallocate(big);
    a.deallocate(guard);
    CHECK(full_ok(a));
  }
}

TEST_CASE("dlbins: an exact bin returns the chunk of exactly that size") {
  evo::Instance a = make("dlbins bins=16");
  void* p48 = a.allocate(40);
  void* g1 = a.allocate(16);
  void* p80 = a.allocate(64);
  void* g2 = a.allocate(16);
  a.deallocate(p48);
  a.deallocate(p80);
  CHECK(a.allocate(64) == p80);  // the 80-byte bin, not a split of something else
  CHECK(a.allocate(40) == p48);
  (void)g1;
  (void)g2;
  CHECK(full_ok(a));
}

TEST_CASE("reap: no reuse while anything is live; the bump pointer resets when all is freed") {
  for (const char* source : {"region", "mmap"}) {
    CAPTURE(source);
    evo::Instance a = make(std::string("reap chunk=4K source=") + source);
    const std::uint64_t meta = a.stats().footprint;  // the arena page holding the live counter
    CHECK(meta == 4096);
    void* first = a.allocate(100);
    void* second = a.allocate(100);
    a.deallocate(first);
    void* third = a.allocate(100);
    CHECK(third != first);  // one block still live: no reuse
    std::vector<void*> more;
    for (int i = 0; i < 200; ++i) more.push_back(a.allocate(300));  // spans many chunks
    CHECK(a.stats().footprint >= 15 * 4096);
    a.deallocate(second);
    a.deallocate(third);
    for (void* p : more) a.deallocate(p);
    CHECK(a.stats().footprint <= meta + 4096);  // back to one chunk
    CHECK(full_ok(a));
    void* again = a.allocate(100);
    if (std::string(source) == "region") CHECK(again == first);  // the counter reset the bump pointer
    CHECK(a.stats().footprint == meta + 4096);
  }
}

TEST_CASE("vm: one mapping per object, unmapped at free") {
  evo::Instance a = make("vm");
  void* p = a.allocate(10);
  void* q = a.allocate(5000);
  void* r = a.allocate(64, 8192);
  CHECK(reinterpret_cast<std::uintptr_t>(r) % 8192 == 0);
  CHECK(a.stats().footprint == 4096 + 8192 + 3 * 4096);
  CHECK(a.usable_size(p) == 4096 - 16);
  a.deallocate(p);
  a.deallocate(q);
  a.deallocate(r);
  CHECK(a.stats().footprint == 0);
  CHECK(a.stats().os_calls == 6);
}

TEST_CASE("slab: a full slab leaves its partial list at the next malloc and comes back with a free, at the tail") {
  evo::Instance a = make("slab");  // 4 KiB slabs: (4096 - 64) / 48 = 84 objects of 48 bytes
  constexpr int kCap = 84;
  auto slab_of = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{4095}; };
  std::vector<void*> first;
  for (int i = 0; i < kCap; ++i) first.push_back(a.allocate(48));
  for (void* p : first) CHECK(slab_of(p) == slab_of(first[0]));
  CHECK(full_ok(a));  // full, still listed until a malloc finds it full
  std::vector<void*> second{a.allocate(48)};  // unlists the full slab, starts a new one
  CHECK(slab_of(second[0]) != slab_of(first[0]));
  CHECK(full_ok(a));
  a.deallocate(first[40]);  // relisted, behind the second slab
  CHECK(full_ok(a));
  while (second.size() < kCap) {  // the second slab serves until it is full...
    second.push_back(a.allocate(48));
    CHECK(slab_of(second.back()) == slab_of(second[0]));
  }
  a.deallocate(first[7]);  // gathered while the first slab waited in the queue
  CHECK(a.allocate(48) == first[7]);  // ...then the first slab's frees, newest first
  CHECK(a.allocate(48) == first[40]);
  void* third = a.allocate(48);  // both full: a third slab
  CHECK(slab_of(third) != slab_of(first[0]));
  CHECK(slab_of(third) != slab_of(second[0]));
  CHECK(full_ok(a));
  // Two full slabs relisted in turn are served in that order.
  a.deallocate(second[3]);
  a.deallocate(first[9]);
  std::vector<void*> rest{third};
  while (rest.size() < kCap) {
    rest.push_back(a.allocate(48));
    CHECK(slab_of(rest.back()) == slab_of(third));
  }
  CHECK(a.allocate(48) == second[3]);
  CHECK(a.allocate(48) == first[9]);
  CHECK(full_ok(a));
  for (auto* v : {&first, &second, &rest})
    for (void* p : *v) a.deallocate(p);
  CHECK(full_ok(a));
  CHECK(a.stats().allocs == a.stats().frees);
}

TEST_CASE("slab: objects of one class share a slab; emptied slabs are cached, not unmapped") {
  evo::Instance a = make("slab");
  const std::uint64_t meta = a.stats().footprint;  // class tables and partial-list heads
  CHECK(meta == 4096);
  std::vector<char*> v;
  for (int i = 0; i < 10; ++i) v.push_back(static_cast<char*>(a.allocate(48)));
  for (int i = 1; i < 10; ++i) CHECK(v[i] == v[i - 1] + 48);
  CHECK(a.usable_size(v[0]) == 48);
  // the slab, and the first page of the class map (a byte per slab: 4096 slabs a page)
  const std::uint64_t map_page = 4096;
  CHECK(a.stats().footprint == meta + 4096 + map_page);
  a.deallocate(v[3]);
  CHECK(a.allocate(40) == v[3]);  // LIFO reuse inside the slab
  for (char* p : v) a.deallocate(p);
  CHECK(a.stats().footprint == meta + 4096 + map_page);  // cached empty slab
  void* big = a.allocate(100000);
  CHECK(a.usable_size(big) >= 100000);
  a.deallocate(big);
  CHECK(a.stats().footprint == meta + 4096 + map_page);
  CHECK(full_ok(a));
}

TEST_CASE("slab: the class map follows a slab through reuse by another class and by a large block") {
  // usable_size reads a small block's class from the class map (a byte per slab), so
  // the map must be rewritten when a cached empty slab serves another class and
  // cleared when a slab is unmapped, whose address range a large block may take.
  evo::Instance a = make("slab slab=4K retain=1M");
  std::vector<char*> v;
  for (int i = 0; i < 40 * 84; ++i) v.push_back(static_cast<char*>(a.allocate(48)));  // 40 slabs
  std::vector<std::uintptr_t> slabs;
  for (char* p : v) slabs.push_back(reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{4095});
  for (char* p : v) CHECK(a.usable_size(p) == 48);
  for (char* p : v) a.deallocate(p);  // 16 slabs cached empty, the rest unmapped (kept by retain)
  std::vector<char*> w, big;
  for (int i = 0; i < 16 * 18; ++i) w.push_back(static_cast<char*>(a.allocate(200)));
  bool reused_slab = false, big_on_old_slab = false;
  for (char* p : w) {
    CHECK(a.usable_size(p) == 224);
    reused_slab |= std::count(slabs.begin(), slabs.end(), reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{4095}) > 0;
  }
  for (int i = 0; i < 12; ++i) {
    big.push_back(static_cast<char*>(a.allocate(3000)));
    CHECK(a.usable_size(big.back()) >= 3000);
    CHECK(a.usable_size(big.back()) < 4096);
    big_on_old_slab |= std::count(slabs.begin(), slabs.end(), reinterpret_cast<std::uintptr_t>(big.back()) & ~std::uintptr_t{4095}) > 0;
  }
  CHECK(reused_slab);
  CHECK(big_on_old_slab);
  for (char* p : w) a.deallocate(p);
  for (char* p : big) a.deallocate(p);
  CHECK(full_ok(a));
  CHECK(a.stats().allocs == a.stats().frees);
}

TEST_CASE("fixed: freed blocks wait on their size's list; larger requests use the fallback") {
  for (const char* fb : {"freelist", "btag", "dlbins"}) {
    CAPTURE(fb);
    evo::Instance a = make(std::string("fixed sizes=32,256 fallback=") + fb);
    void* s1 = a.allocate(20);
    void* s2 = a.allocate(200);
    CHECK(a.usable_size(s1) >= 32);
    CHECK(a.usable_size(s2) >= 256);
    a.deallocate(s1);
    a.deallocate(s2);
    CHECK(a.allocate(30) == s1);
    CHECK(a.allocate(256) == s2);
    void* big = a.allocate(1000);
    CHECK(a.usable_size(big) >= 1000);
    a.deallocate(big);
    CHECK(full_ok(a));
  }
}

TEST_CASE("textbook rows survive the stress harness on their other source and at align=64") {
  int runs = 0;
  for (const evo::RegistryRow& row : evo::rows()) {
    std::string fam(row.family);
    if (fam != "freelist" && fam != "btag" && fam != "dlbins" && fam != "reap" && fam != "fixed" && fam != "slab" &&
        fam != "vm")
      continue;
    std::vector<std::string> variants = {" align=64"};
    if (fam != "slab" && fam != "vm") variants.push_back(" source=mmap");
    for (const std::string& extra : variants) {
      // Canonical names end "align=16 source=S harden=off": rebuild them with the variant.
      std::string base = row.name.substr(0, row.name.find(" align="));
      std::string text = base + extra;
      CAPTURE(text);
      evo::Instance inst = make(text);
      const std::size_t ops = fam == "freelist" ? kOps / 3 : kOps;
      evo::test::StressResult r =
          evo::test::run_stress(inst, evo::test::stress_config(99 + row.id, ops, 256 * 1024, 3000));
      CHECK_MESSAGE(r.ok, r.error);
      ++runs;
    }
  }
  CHECK(runs == 16);  // freelist btag dlbins reap fixed x3 (2 variants each), slab vm (1 each)
}
