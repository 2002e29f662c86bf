// Tests of reallocate on large blocks: the families whose large requests are chunks
// mapped straight from the MemorySource (superblock, block, slab, vm, buddy,
// fibbuddy) resize them with MemorySource::remap (in place, or pages moved without
// a copy). Every row: a block grown step by step through realloc, with other
// blocks placed in its way, keeps its bytes and the heap stays valid. Superblock:
// the pagemap mark follows the chunk (usable_size, free, validate), the footprint
// is exact, the memory cap fails a growth cleanly. A realloc-growth trace replays
// in check mode through superblock designs in both backings.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/instance.hpp"
#include "core/superblock/heap.hpp"
#include "evaluate/replay.hpp"
#include "evaluate/trace.hpp"

using namespace evo;

namespace {

char pattern(std::size_t i, unsigned tag) { return static_cast<char>((i * 131 + tag * 7 + 1) % 251); }

// pattern() repeats every 251 bytes: copied from one period, so megabytes fill fast.
void fill(char* p, std::size_t from, std::size_t to, unsigned tag) {
  char period[251];
  for (std::size_t j = 0; j < 251; ++j) period[j] = pattern(j, tag);
  for (std::size_t i = from; i < to;) {
    const std::size_t start = i % 251, len = std::min(251 - start, to - i);
    std::memcpy(p + i, period + start, len);
    i += len;
  }
}

// The first and last 4 KiB in full, every 61st byte in between (fast under ASan).
bool holds(const char* p, std::size_t n, unsigned tag) {
  for (std::size_t i = 0; i < n; i = (i < 4096 || i + 4096 >= n) ? i + 1 : i + 61)
    if (p[i] != pattern(i, tag)) return false;
  return true;
}

/// An instance of `design` on a source of backing `b` (REQUIREd to be created).
Instance create_backed(const std::string& design, SourceBacking b) {
  InstanceOptions opt;
  opt.backing = b;
  std::string err;
  Instance inst = Instance::create(design, opt, &err);
  REQUIRE_MESSAGE(inst, err);
  return inst;
}

constexpr SourceBacking kBackings[] = {SourceBacking::Real, SourceBacking::Simulated};

bool full_ok(const Instance& inst) {
  std::string err;
  bool ok = inst.validate(ValidateLevel::Full, &err);
  if (!ok) MESSAGE(err);
  return ok;
}

// Grows one block from 100 bytes to `top` by x1.5 steps (allocating a small and a
// big block after each step, so the range after it is often taken), then shrinks
// it back; checks its bytes and usable_size at every step, validate(Full) often.
// Returns how many steps handed back a different address.
std::size_t grow_and_shrink(Instance& inst, std::size_t top) {
  std::vector<void*> others;
  std::size_t size = 100, moves = 0;
  char* p = static_cast<char*>(inst.allocate(size));
  REQUIRE(p != nullptr);
  fill(p, 0, size, 1);
  unsigned step = 0;
  while (size < top) {
    const std::size_t next = size + size / 2 + 1;
    char* q = static_cast<char*>(inst.reallocate(p, next));
    REQUIRE(q != nullptr);
    moves += q != p;
    CHECK(inst.usable_size(q) >= next);
    REQUIRE(holds(q, size, 1));
    fill(q, size, next, 1);
    p = q;
    size = next;
    others.push_back(inst.allocate(48 + step % 5 * 16));
    others.push_back(inst.allocate(size / 3));
    if (++step % 4 == 0) {
      CHECK(full_ok(inst));
      inst.deallocate(others[others.size() / 2]);  // leave holes behind
      others.erase(others.begin() + static_cast<long>(others.size() / 2));
    }
  }
  while (size > 100) {
    const std::size_t next = size / 3 + 1;
    char* q = static_cast<char*>(inst.reallocate(p, next));
    REQUIRE(q != nullptr);
    CHECK(inst.usable_size(q) >= next);
    REQUIRE(holds(q, next, 1));
    p = q;
    size = next;
  }
  CHECK(full_ok(inst));
  inst.deallocate(p);
  for (void* o : others) inst.deallocate(o);
  CHECK(full_ok(inst));
  return moves;
}

}  // namespace

#ifdef EVOALLOC_SANITIZE
constexpr std::size_t kEveryRowTop = std::size_t{1} << 20;
#else
constexpr std::size_t kEveryRowTop = std::size_t{3} << 20;
#endif

TEST_CASE("every row: a block grown step by step through realloc keeps its bytes") {
  // Default numerics; rows with hardening wrap the same heaps and are covered by
  // their own tests, so one pass per row without it keeps this fast.
  for (const RegistryRow& row : rows()) {
    if (row.name.find("harden=off") == std::string::npos && row.name.find("harden=") != std::string::npos) continue;
    CAPTURE(row.name);
    std::string err;
    Instance inst = Instance::create(row.name, {}, &err);
    REQUIRE_MESSAGE(inst, err);
    grow_and_shrink(inst, kEveryRowTop);
  }
}

TEST_CASE("families with mapped large blocks grow them by remap, in both backings") {
  // Each design maps blocks above a few KiB directly, so the growth is remapped.
  const char* designs[] = {
      "superblock large=16K sb=64K pagemap=flat",
      "superblock large=16K sb=64K pagemap=radix2",
      "superblock large=16K sb=64K pagemap=radix3 cache=lazy",
      "block large=64K",
      "vm",
      "slab",
      "buddy",
      "fibbuddy",
  };
  for (const std::string d : designs) {
    for (SourceBacking b : kBackings) {
      CAPTURE(d);
      CAPTURE(source_backing_name(b));
      Instance inst = create_backed(d, b);
      const std::size_t moves = grow_and_shrink(inst, std::size_t{8} << 20);
      CHECK(moves > 0);  // the blocks placed after it forced moves
    }
  }
}

TEST_CASE("superblock: a large block grows in place, moves past a neighbour, and its pagemap mark follows") {
  using H = SuperblockHeap<UnorderedBin, BumpAlg, Radix2Pagemap, NoCache>;
  AllocatorSpec spec;
  std::string err;
  REQUIRE(parse_spec("superblock classes=linear:64 sb=64K large=16K", spec, &err));
  for (SourceBacking b : kBackings) {
    CAPTURE(source_backing_name(b));
    InstanceOptions opt;
    opt.backing = b;
    H* h = H::create(spec, opt, &err);
    REQUIRE_MESSAGE(h != nullptr, err);
    // The first large block makes the pagemap's leaf (mapped right after it), so
    // the block under test comes after both, with free address space behind it.
    char* first = static_cast<char*>(h->allocate(20000, 16));
    REQUIRE(first != nullptr);
    AllocStats s0;
    h->stats(&s0);
    char* p = static_cast<char*>(h->allocate(20000, 16));  // 5 pages
    REQUIRE(p != nullptr);
    fill(p, 0, 20000, 9);
    // Grow in place: nothing after it yet.
    AllocStats sa;
    h->stats(&sa);
    char* q = static_cast<char*>(h->reallocate(p, 40000));  // 10 pages
    CHECK(q == p);
    CHECK(h->usable_size(q) == 10 * kPageSize);
    AllocStats s1;
    h->stats(&s1);
    CHECK(s1.footprint - sa.footprint == 5 * kPageSize);
    CHECK(s1.os_calls - sa.os_calls == 1);  // the in-place commit
    CHECK(s1.peak_footprint == s1.footprint);
    // A neighbour right after it forces a move.
    char* wall = static_cast<char*>(h->allocate(20000, 16));
    REQUIRE(wall == p + 10 * kPageSize);
    fill(wall, 0, 20000, 3);
    AllocStats sw;
    h->stats(&sw);
    char* r = static_cast<char*>(h->reallocate(q, 100000));  // 25 pages
    REQUIRE(r != nullptr);
    CHECK(r != q);
    CHECK(holds(r, 20000, 9));
    for (std::size_t i = 20000; i < 100000; i += 997) CHECK(r[i] == 0);  // fresh bytes read zero
    CHECK(h->usable_size(r) == 25 * kPageSize);
    CHECK(h->usable_size(q) == 0);  // the old address is no longer a block
    CHECK(holds(wall, 20000, 3));
    AllocStats s2;
    h->stats(&s2);
    CHECK(s2.footprint - sw.footprint == (25 - 10) * kPageSize);  // moved, not held twice
    CHECK(s2.os_calls - sw.os_calls == 2);  // the move and the re-reservation of the old range
    CHECK(s2.allocs == sw.allocs);  // a realloc is no allocation
    CHECK(s2.frees == sw.frees);
    std::string verr;
    CHECK_MESSAGE(h->validate(ValidateLevel::Full, &verr), verr);
    // The old range is reused by the next large block.
    char* again = static_cast<char*>(h->allocate(40000, 16));
    CHECK(again == q);
    // Shrink in place.
    CHECK(h->reallocate(r, 17000) == r);
    CHECK(h->usable_size(r) == 5 * kPageSize);
    CHECK(holds(r, 17000, 9));
    h->deallocate(r);
    h->deallocate(wall);
    h->deallocate(again);
    h->deallocate(first);
    AllocStats s3;
    h->stats(&s3);
    CHECK(s3.footprint + 5 * kPageSize == s0.footprint);  // all back but metadata
    CHECK(h->validate(ValidateLevel::Full, &verr));
    CHECK(h->usable_size(r) == 0);
    delete h;
  }
}

TEST_CASE("superblock: a large realloc past the memory cap fails and keeps the block") {
  using H = SuperblockHeap<UnorderedBin, BumpAlg, FlatPagemap, NoCache>;
  AllocatorSpec spec;
  std::string err;
  REQUIRE(parse_spec("superblock classes=linear:64 sb=64K large=16K", spec, &err));
  InstanceOptions opt;
  opt.memory_limit = 1 << 20;
  H* h = H::create(spec, opt, &err);
  REQUIRE_MESSAGE(h != nullptr, err);
  char* p = static_cast<char*>(h->allocate(300000, 16));
  REQUIRE(p != nullptr);
  fill(p, 0, 300000, 4);
  AllocStats before;
  h->stats(&before);
  CHECK(h->reallocate(p, 2 << 20) == nullptr);  // in place: past the cap
  char* wall = static_cast<char*>(h->allocate(20000, 16));
  REQUIRE(wall != nullptr);
  CHECK(h->reallocate(p, 1040000) == nullptr);  // by move: past the cap
  CHECK(h->usable_size(p) == (300000 + kPageSize - 1) / kPageSize * kPageSize);
  CHECK(holds(p, 300000, 4));
  std::string verr;
  CHECK_MESSAGE(h->validate(ValidateLevel::Full, &verr), verr);
  char* q = static_cast<char*>(h->reallocate(p, 600000));  // within the cap: moves
  REQUIRE(q != nullptr);
  CHECK(holds(q, 300000, 4));
  h->deallocate(q);
  h->deallocate(wall);
  CHECK(h->validate(ValidateLevel::Full, &verr));
  delete h;
}

namespace {

// Like a Python run that builds big strings and lists: a few buffers grow by
// ~1/8 at a time up to several MiB, small objects come and go in between.
Trace growth_trace() {
  Trace t;
  constexpr std::uint32_t kBuffers = 4, kSmall = 64;
  std::uint64_t sizes[kBuffers] = {};
  std::uint64_t x = 7;
  bool small_live[kSmall] = {};
  for (int step = 0; step < 160; ++step) {
    for (std::uint32_t b = 0; b < kBuffers; ++b) {
      if (sizes[b] > (std::uint64_t{5} << 20) / (b + 1)) {  // consumed; starts again
        t.push(OpKind::Free, b, 0);
        sizes[b] = 0;
        continue;
      }
      sizes[b] = sizes[b] == 0 ? 1000 + 500 * b : sizes[b] + sizes[b] / 8 + 64;
      t.push(OpKind::Realloc, b, sizes[b]);  // realloc(NULL, n) the first time
    }
    for (int k = 0; k < 6; ++k) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      const std::uint32_t o = kBuffers + static_cast<std::uint32_t>((x >> 33) % kSmall);
      if (small_live[o - kBuffers]) t.push(OpKind::Free, o, 0);
      else t.push(OpKind::Malloc, o, 16 + (x >> 20) % 3000);
      small_live[o - kBuffers] = !small_live[o - kBuffers];
    }
  }
  for (std::uint32_t o = 0; o < kBuffers + kSmall; ++o)
    if (o < kBuffers ? sizes[o] != 0 : small_live[o - kBuffers]) t.push(OpKind::Free, o, 0);
  t.finish();
  return t;
}

}  // namespace

TEST_CASE("a realloc-growth trace replays in check mode through superblock designs") {
  const Trace t = growth_trace();
  CHECK(t.peak_live > (std::uint64_t{4} << 20));
  for (const std::string d : {"superblock", "superblock pagemap=radix3 cache=eager large=8K"}) {
    std::uint64_t peak[2] = {};
    for (SourceBacking b : kBackings) {
      CAPTURE(d);
      CAPTURE(source_backing_name(b));
      Instance inst = create_backed(d, b);
      ReplayOptions ro;
      ro.check = true;
      ro.validate_every = 97;
      const ReplayResult r = replay(t, inst, ro);
      CHECK_MESSAGE(r.ok, r.error);
      CHECK(r.failed_allocs == 0);
      CHECK(r.ops == t.ops.size());
      CHECK(r.final_stats.footprint < (std::uint64_t{1} << 20));  // the buffers were returned
      peak[b == SourceBacking::Simulated] = r.peak_footprint;
    }
    CHECK(peak[0] == peak[1]);  // same accounting in both backings
    CHECK(peak[0] < 2 * t.peak_live);  // grown in place or moved, never held twice
  }
}
