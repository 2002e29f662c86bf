// Edge cases of the superblock family's components, on concrete SuperblockHeap
// compositions: a superblock that fills exactly, a bin that empties, cache reuse and
// its bound, each algorithm's reuse order, bin choice by fullness, large round trips,
// aligned blocks, the memory cap, probe touches, and validate catching corruption.
#include <doctest/doctest.h>

#include <array>
#include <bit>
#include <memory>
#include <set>
#include <vector>

#include "core/superblock/heap.hpp"

using namespace evo;

namespace {

template <class H>
std::unique_ptr<H> make(const std::string& text, InstanceOptions opt = {}) {
  AllocatorSpec spec;
  std::string err;
  REQUIRE_MESSAGE(parse_spec(text, spec, &err), err);
  std::unique_ptr<H> h(H::create(spec, opt, &err));
  REQUIRE_MESSAGE(h != nullptr, err);
  return h;
}

template <class H>
bool full_ok(const H& h) {
  std::string err;
  bool ok = h.validate(ValidateLevel::Full, &err);
  if (!ok) MESSAGE(err);
  return ok;
}

// sb=4K with one 64-byte class up to 64 (linear:64, large=64) makes capacities easy.
const char* kSmall = "superblock classes=linear:64 sb=4K large=64";

/// A heap of kSmall with unordered bins and a flat pagemap.
template <class Alg, template <class> class Cache = NoCache>
auto make_small() {
  return make<SuperblockHeap<UnorderedBin, Alg, FlatPagemap, Cache>>(kSmall);
}

/// N blocks of 64 bytes, in allocation order.
template <std::size_t N, class H>
std::array<void*, N> alloc64(H& h) {
  std::array<void*, N> out;
  for (void*& p : out) p = h.allocate(64, 16);
  return out;
}

template <class Alg>
void fills_exactly() {
  auto h = make_small<Alg>();
  std::size_t hdr = sizeof(Superblock);
  if constexpr (Alg::kBitmap) hdr += ((4096 - sizeof(Superblock)) / 64 + 63) / 64 * 8;
  hdr = (hdr + 63) & ~std::size_t{63};  // blocks start on a cache line
  const std::size_t cap = (4096 - hdr) / 64;
  std::vector<char*> blocks;
  for (std::size_t i = 0; i < cap; ++i) blocks.push_back(static_cast<char*>(h->allocate(64, 16)));
  CHECK(h->superblocks() == 1);
  std::set<char*> distinct(blocks.begin(), blocks.end());
  CHECK(distinct.size() == cap);
  char* sb = reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(blocks[0]) & ~std::uintptr_t{4095});
  for (char* b : blocks) CHECK((b >= sb + hdr && b + 64 <= sb + 4096));
  CHECK(full_ok(*h));
  char* extra = static_cast<char*>(h->allocate(1, 16));  // the next request opens a second superblock
  CHECK(h->superblocks() == 2);
  CHECK((extra < sb || extra >= sb + 4096));
  // The bin empties: with cache=none every empty superblock goes back to the OS.
  std::uint64_t with_two = h->stats_footprint();
  for (char* b : blocks) h->deallocate(b);
  CHECK(h->superblocks() == 1);
  h->deallocate(extra);
  CHECK(h->superblocks() == 0);
  CHECK(h->stats_footprint() == with_two - 2 * 4096);
  CHECK(full_ok(*h));
}

}  // namespace

TEST_CASE("a superblock fills exactly, then a new one opens; an emptied bin returns its superblocks") {
  fills_exactly<BumpAlg>();
  fills_exactly<ReapAlg>();
  fills_exactly<BitmapAlg>();
  fills_exactly<StackAlg>();
  fills_exactly<BumpStackAlg>();
}

TEST_CASE("reuse order inside a superblock, per algorithm") {
  SUBCASE("bitmap is first fit") {
    auto h = make_small<BitmapAlg>();
    const auto [a, b, c] = alloc64<3>(*h);
    h->deallocate(b);
    h->deallocate(a);
    CHECK(h->allocate(64, 16) == a);
    CHECK(h->allocate(64, 16) == b);
    CHECK(h->allocate(64, 16) > c);
  }
  SUBCASE("stack is LIFO") {
    auto h = make_small<StackAlg>();
    const auto [a, b, c] = alloc64<3>(*h);
    h->deallocate(a);
    h->deallocate(b);
    CHECK(h->allocate(64, 16) == b);
    CHECK(h->allocate(64, 16) == a);
  }
  SUBCASE("bump never reuses; reap resets when every block came back") {
    auto hb = make_small<BumpAlg, LazyCache>();
    auto hr = make_small<ReapAlg, LazyCache>();
    const auto [b1, b2] = alloc64<2>(*hb);
    const auto [r1, r2] = alloc64<2>(*hr);
    hb->deallocate(b1);
    hr->deallocate(r1);
    CHECK(hb->allocate(64, 16) > b2);  // freed block not reused
    CHECK(hr->allocate(64, 16) > r2);  // one block still live: no reset yet
    hr->deallocate(r2);
    CHECK(full_ok(*hr));
  }
  SUBCASE("reap: the last free resets the bump pointer to the first block") {
    auto h = make_small<ReapAlg, LazyCache>();
    const auto [a, b] = alloc64<2>(*h);
    h->deallocate(a);
    h->deallocate(b);
    CHECK(h->allocate(64, 16) == a);
    CHECK(full_ok(*h));
  }
  SUBCASE("bumpstack bumps first, then reuses frees LIFO") {
    auto h = make_small<BumpStackAlg>();
    const auto [a, b] = alloc64<2>(*h);
    h->deallocate(a);
    CHECK(h->allocate(64, 16) > b);  // bump not yet exhausted
  }
}

TEST_CASE("empty-superblock caches") {
  SUBCASE("eager: an empty superblock is cached and reused by another class") {
    using H = SuperblockHeap<UnorderedBin, StackAlg, FlatPagemap, EagerCache>;
    auto h = make<H>("superblock classes=pow2 sb=4K large=1K");
    void* a = h->allocate(32, 16);
    std::uint64_t fp = h->stats_footprint();
    h->deallocate(a);
    CHECK(h->cached() == 1);
    CHECK(h->superblocks() == 1);
    void* b = h->allocate(512, 16);  // another class takes the cached superblock
    CHECK(h->cached() == 0);
    CHECK(h->superblocks() == 1);
    CHECK(h->stats_footprint() == fp);
    CHECK((reinterpret_cast<std::uintptr_t>(a) & ~std::uintptr_t{4095}) ==
          (reinterpret_cast<std::uintptr_t>(b) & ~std::uintptr_t{4095}));
    CHECK(h->usable_size(b) == 512);  // the pagemap entries carry the new class's size
    CHECK(full_ok(*h));                // (validate checks every entry against its header)
  }
  SUBCASE("lazy: an empty superblock stays in its bin, marked, and serves its class again") {
    using H = SuperblockHeap<UnorderedBin, StackAlg, FlatPagemap, LazyCache>;
    auto h = make<H>("superblock classes=pow2 sb=4K large=1K");
    void* a = h->allocate(32, 16);
    h->deallocate(a);
    CHECK(h->cached() == 1);
    CHECK(full_ok(*h));
    CHECK(h->allocate(32, 16) == a);  // same class: served in place, unmarked
    CHECK(h->cached() == 0);
    void* c = h->allocate(32, 16);
    h->deallocate(c);
    h->deallocate(a);
    CHECK(h->cached() == 1);
    void* big = h->allocate(512, 16);  // another class takes the marked superblock from its bin
    CHECK(h->usable_size(big) == 512);
    CHECK(h->cached() == 0);
    CHECK(h->superblocks() == 1);
    CHECK(full_ok(*h));
  }
  SUBCASE("caches hold at most kCacheMax superblocks") {
    using HE = SuperblockHeap<UnorderedBin, StackAlg, FlatPagemap, EagerCache>;
    using HL = SuperblockHeap<UnorderedBin, StackAlg, FlatPagemap, LazyCache>;
    auto he = make<HE>("superblock classes=pow2 sb=4K large=2K");
    auto hl = make<HL>("superblock classes=pow2 sb=4K large=2K");
    std::vector<void*> pe, pl;
    for (int i = 0; i < 20; ++i) {  // 2K blocks: one per superblock
      pe.push_back(he->allocate(2048, 16));
      pl.push_back(hl->allocate(2048, 16));
    }
    CHECK(he->superblocks() == 20);
    for (void* p : pe) he->deallocate(p);
    for (void* p : pl) hl->deallocate(p);
    CHECK(he->cached() == kCacheMax);
    CHECK(hl->cached() == kCacheMax);
    CHECK(he->superblocks() == kCacheMax);
    CHECK(hl->superblocks() == kCacheMax);
    CHECK(full_ok(*he));
    CHECK(full_ok(*hl));
  }
}

TEST_CASE("usable_size: the block size from the pagemap entry, from the header when it does not fit there") {
  using H = SuperblockHeap<UnorderedBin, BitmapAlg, Radix2Pagemap, NoCache>;
  auto h = make<H>("superblock classes=pow2 sb=256K large=64K");
  for (std::size_t n : {16, 100, 2048, 16384, 32768, 65536}) {  // 32 KiB and up: the header's
    CAPTURE(n);
    void* p = h->allocate(n, 16);
    REQUIRE(p != nullptr);
    CHECK(h->usable_size(p) == std::bit_ceil(n));  // pow2 classes
    CHECK(h->usable_size(static_cast<char*>(p) + n - 1) >= 1);  // an interior address resolves to its superblock
    h->deallocate(p);
  }
  CHECK(full_ok(*h));
}

TEST_CASE("fullness bins serve the fullest superblock") {
  auto run = [](auto h) {
    // Two superblocks of the 64-byte class: fill both, then empty most of the first.
    std::vector<void*> first, second;
    std::size_t cap = 0;
    void* p = h->allocate(64, 16);
    first.push_back(p);
    while (h->superblocks() == 1) {
      p = h->allocate(64, 16);
      if (h->superblocks() == 1) first.push_back(p);
      else second.push_back(p);
    }
    cap = first.size();
    while (second.size() < cap) second.push_back(h->allocate(64, 16));
    for (std::size_t i = 0; i + 1 < cap; ++i) h->deallocate(first[i]);  // first: 1 live
    h->deallocate(second[0]);                                           // second: cap-1 live
    void* q = h->allocate(64, 16);
    CHECK(q == second[0]);  // the fuller superblock serves
    CHECK(full_ok(*h));
  };
  run(make<SuperblockHeap<FullnessListBin, StackAlg, FlatPagemap, NoCache>>(kSmall));
  run(make<SuperblockHeap<FullnessArrayBin, StackAlg, Radix2Pagemap, NoCache>>(kSmall));
  run(make<SuperblockHeap<FullnessMtfBin, StackAlg, Radix3Pagemap, NoCache>>(kSmall));
}

TEST_CASE("mtf bin moves the superblock that received a free to the front") {
  using H = SuperblockHeap<MtfBin, StackAlg, FlatPagemap, NoCache>;
  auto h = make<H>(kSmall);
  std::vector<void*> blocks;
  while (h->superblocks() < 3) blocks.push_back(h->allocate(64, 16));
  // Superblock 1 is full; free one of its blocks: it goes to the front and serves next.
  h->deallocate(blocks[3]);
  CHECK(h->allocate(64, 16) == blocks[3]);
  CHECK(full_ok(*h));
}

TEST_CASE("large allocations: mapped, marked in the pagemap, unmapped on free") {
  using H = SuperblockHeap<UnorderedBin, BitmapAlg, Radix2Pagemap, NoCache>;
  auto h = make<H>("superblock sb=64K large=16K");
  std::uint64_t base = h->stats_footprint();
  char* p = static_cast<char*>(h->allocate(100000, 16));
  REQUIRE(p != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(p) % 4096 == 0);
  CHECK(h->usable_size(p) >= 100000);
  CHECK(h->usable_size(p) < 100000 + 4096);
  CHECK(h->stats_footprint() >= base + 100000);
  p[0] = 1;
  p[99999] = 2;
  CHECK(h->superblocks() == 0);
  h->deallocate(p);
  // Only the new radix2 leaf stays: 2^(index bits / 2) entries of 8 bytes, the
  // index covering the chunk half of the reservation in pages (16 KiB at 64 GiB).
  const unsigned index_bits = pagemap_detail::bits_for(MemorySource::kDefaultReserve / 2 / kPageSize);
  CHECK(h->stats_footprint() <= base + (std::size_t{1} << (index_bits / 2)) * sizeof(void*));
  // Just above the threshold, and an aligned large block.
  void* q = h->allocate(16 * 1024 + 1, 16);
  void* r = h->allocate(20000, 65536);
  CHECK(reinterpret_cast<std::uintptr_t>(r) % 65536 == 0);
  CHECK(h->superblocks() == 0);
  CHECK(full_ok(*h));
  h->deallocate(q);
  h->deallocate(r);
  CHECK(full_ok(*h));
}

TEST_CASE("small aligned blocks are over-allocated and resolve from interior pointers") {
  using H = SuperblockHeap<FullnessListBin, StackAlg, Radix3Pagemap, LazyCache>;
  auto h = make<H>("superblock");
  std::vector<void*> ps;
  for (std::size_t align : {32, 64, 128, 256, 1024}) {
    char* p = static_cast<char*>(h->allocate(100, align));
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(p) % align == 0);
    CHECK(h->usable_size(p) >= 100);
    ps.push_back(p);
  }
  CHECK(full_ok(*h));
  for (void* p : ps) h->deallocate(p);
  CHECK(full_ok(*h));
}

TEST_CASE("align=64 makes every block 64-aligned without over-allocation") {
  using H = SuperblockHeap<UnorderedBin, BumpStackAlg, FlatPagemap, NoCache>;
  auto h = make<H>("superblock align=64");
  for (std::size_t s : {1, 17, 65, 200, 1000}) {
    void* p = h->allocate(s, 16);
    CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
    CHECK(h->usable_size(p) % 64 == 0);
  }
  CHECK(full_ok(*h));
}

TEST_CASE("blocks start on a cache line: a class that is a multiple of 64 never straddles lines") {
  // jemalloc's classes at align=16 put a 16-byte quantum after the header; the first
  // block still starts on a line, so every 64-, 128- and 192-byte block spans whole
  // lines, for every algorithm (bitmap's header is longer).
  auto check = [](auto h) {
    for (std::size_t s : {64, 128, 192, 256}) {
      for (int i = 0; i < 300; ++i) {
        void* p = h->allocate(s, 16);
        REQUIRE(p != nullptr);
        CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
      }
    }
    CHECK(full_ok(*h));
  };
  check(make<SuperblockHeap<UnorderedBin, BitmapAlg, FlatPagemap, NoCache>>("superblock classes=jemalloc sb=32K"));
  check(make<SuperblockHeap<MtfBin, ReapAlg, Radix3Pagemap, EagerCache>>("superblock classes=jemalloc sb=64K"));
  check(make<SuperblockHeap<FullnessListBin, StackAlg, FlatPagemap, LazyCache>>("superblock classes=pow2 sb=16K large=4K align=32"));
}

TEST_CASE("the memory cap makes allocation fail cleanly") {
  using H = SuperblockHeap<UnorderedBin, StackAlg, FlatPagemap, NoCache>;
  InstanceOptions opt;
  opt.memory_limit = 256 * 1024;
  auto h = make<H>("superblock", opt);
  CHECK(h->allocate(1 << 20, 16) == nullptr);
  std::size_t n = 0;
  while (h->allocate(1000, 16) != nullptr) ++n;
  CHECK(n > 10);
  CHECK(h->stats_footprint() <= opt.memory_limit);
  CHECK(full_ok(*h));
}

TEST_CASE("metadata touches are reported to the probe") {
  struct Count {
    std::size_t n = 0;
    static void on(void* c, const void*, std::uint32_t) { ++static_cast<Count*>(c)->n; }
  } count;
  Probe probe{&Count::on, &count};
  InstanceOptions opt;
  opt.probe = &probe;
  using H = SuperblockHeap<FullnessListBin, BitmapAlg, Radix3Pagemap, EagerCache>;
  auto h = make<H>("superblock", opt);
  std::size_t before = count.n;
  void* p = h->allocate(40, 16);
  std::size_t alloc_touches = count.n - before;
  CHECK(alloc_touches >= 3);  // class table, bin head, superblock header, bitmap word, ...
  before = count.n;
  h->deallocate(p);
  CHECK(count.n - before >= 2);  // pagemap levels, header, bitmap word
}

TEST_CASE("usable_size of a small block reads the pagemap only, never the superblock header") {
  struct Seen {
    std::vector<std::uintptr_t> at;
    static void on(void* c, const void* a, std::uint32_t) {
      static_cast<Seen*>(c)->at.push_back(reinterpret_cast<std::uintptr_t>(a));
    }
  } seen;
  Probe probe{&Seen::on, &seen};
  InstanceOptions opt;
  opt.probe = &probe;
  using H = SuperblockHeap<UnorderedBin, BitmapAlg, Radix2Pagemap, NoCache>;
  auto h = make<H>("superblock classes=jemalloc sb=64K large=16K", opt);
  void* p = h->allocate(40, 16);
  REQUIRE(p != nullptr);
  seen.at.clear();
  CHECK(h->usable_size(p) == 48);
  CHECK_FALSE(seen.at.empty());  // the pagemap levels
  // p is the superblock's first block, so its header starts p's page.
  const std::uintptr_t header = reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{4095};
  for (std::uintptr_t t : seen.at) CHECK_FALSE((t >= header && t < header + sizeof(Superblock)));
  h->deallocate(p);
}

TEST_CASE("validate(Full) catches a corrupted free list and a corrupted bitmap") {
  {
    auto h = make_small<StackAlg>();
    const auto [a, b] = alloc64<2>(*h);
    h->deallocate(a);
    CHECK(full_ok(*h));
    *static_cast<void**>(a) = b;  // a use-after-free write links a live block into the free list
    std::string err;
    CHECK_FALSE(h->validate(ValidateLevel::Full, &err));
    CHECK(!err.empty());
  }
  {
    auto h = make_small<BitmapAlg>();
    char* a = static_cast<char*>(h->allocate(64, 16));
    Superblock* sb = reinterpret_cast<Superblock*>(reinterpret_cast<std::uintptr_t>(a) & ~std::uintptr_t{4095});
    sb->bits()[0] |= 2;  // a block marked allocated that nobody holds
    std::string err;
    CHECK_FALSE(h->validate(ValidateLevel::Full, &err));
    CHECK(err.find("bitmap") != std::string::npos);
  }
}
