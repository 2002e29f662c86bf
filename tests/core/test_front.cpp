// Tests of core/layers/front.hpp (front=tcache:B) and of good_size (core/ops.hpp):
// the cache's classes follow the back end's rounding, a freed block comes back LIFO
// without reaching the back end, lists stay within their bound, accounting is the
// back end's footprint with the program's counts, and every registry row with the
// cache in front survives the shadow-checked stress.
#include <doctest/doctest.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "core/instance.hpp"
#include "core/layers/front.hpp"
#include "core/layers/harden.hpp"
#include "tests/core/stress.hpp"

namespace {

constexpr std::size_t kOps = evo::test::stress_ops(20000, 3000);

const char* kSb = "superblock classes=jemalloc sb=64K bins=unordered alg=stack pagemap=flat cache=lazy large=16K";

evo::Instance make(const std::string& text) {
  std::string err;
  evo::Instance inst = evo::Instance::create(text, {}, &err);
  REQUIRE_MESSAGE(inst, err);
  return inst;
}

struct RowFront {
  const evo::RegistryRow* row;
  void* state;
  evo::OpsFront* fc;
};

/// kSb's registry row with the cache front end `front` (tcache:B[:grow]) made around
/// it by make_ops_front, as Instance::create does.
RowFront make_row_front(const std::string& front) {
  std::string err;
  evo::AllocatorSpec spec;
  REQUIRE(evo::parse_spec(std::string(kSb) + " front=" + front, spec, &err));
  const evo::RegistryRow* row = evo::find_row(spec, &err);
  REQUIRE(row != nullptr);
  void* state = row->create(spec, {}, &err);
  REQUIRE(state != nullptr);
  std::uint32_t word = 0;
  REQUIRE(evo::parse_front(front, word));
  evo::OpsFront* fc = evo::make_ops_front(&row->ops, state, word, 16, nullptr, &err);
  REQUIRE_MESSAGE(fc != nullptr, err);
  return {row, state, fc};
}

}  // namespace

TEST_CASE("parse_front accepts none, tcache:B, tcache:B:grow, tcache:B:array and tcache:B:grow:array only") {
  std::uint32_t b = 7;
  CHECK(evo::parse_front("none", b));
  CHECK(b == 0);
  CHECK(evo::parse_front("tcache:64", b));
  CHECK(b == 64);
  CHECK_FALSE(evo::front_grows(b));
  CHECK(evo::parse_front("tcache:1024:grow", b));
  CHECK(evo::front_cap(b) == 1024);
  CHECK(evo::front_grows(b));
  CHECK_FALSE(evo::front_array(b));
  CHECK(evo::parse_front("tcache:64:array", b));
  CHECK(evo::front_cap(b) == 64);
  CHECK_FALSE(evo::front_grows(b));
  CHECK(evo::front_array(b));
  CHECK(evo::parse_front("tcache:256:grow:array", b));
  CHECK(evo::front_cap(b) == 256);
  CHECK(evo::front_grows(b));
  CHECK(evo::front_array(b));
  for (const char* bad : {"", "tcache", "tcache:", "tcache:0", "tcache:x", "tcache:70000", "lifo:4", "tcache:-1",
                          "tcache::grow", "tcache:64:", "tcache:64:grows", "tcache:0:grow", "tcache:grow",
                          "tcache:array", "tcache:64:array:grow", "tcache:64:arrays", "tcache:0:array", "tcache::array"})
    CHECK_FALSE(evo::parse_front(bad, b));
}

TEST_CASE("front_text writes the value parse_front read") {
  for (const char* text : {"none", "tcache:1", "tcache:64", "tcache:1024:grow", "tcache:64:array",
                           "tcache:256:grow:array", "tcache:65535:grow"}) {
    std::uint32_t w = 0;
    REQUIRE(evo::parse_front(text, w));
    CHECK(evo::front_text(w) == text);
  }
  CHECK(evo::front_text(64 | evo::kFrontArray | evo::kFrontGrow) == "tcache:64:grow:array");
}

TEST_CASE("good_size is the design's rounding: superblock classes, slab classes, page-rounded large blocks") {
  evo::Instance sb = make(kSb);
  for (std::size_t n : {1, 16, 17, 100, 129, 1000, 16384}) {
    const std::size_t g = sb.ops().good_size(sb.state(), n);
    CHECK(g >= n);
    void* p = sb.allocate(n);
    REQUIRE(p != nullptr);
    CHECK(sb.usable_size(p) == g);  // what the request really gets
    sb.deallocate(p);
  }
  CHECK(sb.ops().good_size(sb.state(), 16385) == 20480);  // above large: whole pages
  evo::Instance slab = make("slab");
  for (std::size_t n : {1, 48, 200, 900}) {
    void* p = slab.allocate(n);
    CHECK(slab.usable_size(p) == slab.ops().good_size(slab.state(), n));
    slab.deallocate(p);
  }
  // Families without a rounding of their own say align_up(n, 16).
  evo::Instance bt = make("btag");
  CHECK(bt.ops().good_size(bt.state(), 20) == 32);
}

TEST_CASE("front: a freed block is handed out again, LIFO, without reaching the back end") {
  evo::Instance inst = make(std::string(kSb) + " front=tcache:64");
  void* a = inst.allocate(40);
  void* b = inst.allocate(40);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  inst.deallocate(a);
  inst.deallocate(b);
  CHECK(inst.allocate(40) == b);  // last in, first out
  CHECK(inst.allocate(48) == a);  // 40 and 48 share the back end's class 48
  const evo::AllocStats s = inst.stats();
  CHECK(s.allocs == 4);  // the program's calls
  CHECK(s.frees == 2);
  std::string err;
  CHECK_MESSAGE(inst.validate(evo::ValidateLevel::Full, &err), err);
}

TEST_CASE("front: lists stay within the bound, the rest goes back to the back end") {
  const auto [row, state, fc] = make_row_front("tcache:16");
  std::string err;
  CHECK(fc->bound() == 16);
  CHECK_FALSE(fc->grows());
  // Classes are the superblock's (jemalloc spacing) up to 1 KiB.
  CHECK(fc->class_size(0) == 16);
  CHECK(fc->class_size(fc->classes() - 1) == 1024);
  std::vector<void*> blocks;
  for (int i = 0; i < 200; ++i) blocks.push_back(fc->allocate(64, 16));
  std::set<void*> distinct(blocks.begin(), blocks.end());
  CHECK(distinct.size() == blocks.size());
  evo::AllocStats before;
  row->ops.stats(state, &before);
  for (void* p : blocks) fc->deallocate(p);
  std::uint32_t c64 = 0;
  while (fc->class_size(c64) != 64) ++c64;
  CHECK(fc->cached(c64) <= 16);
  CHECK(fc->cached(c64) >= 8);  // a flush keeps half
  evo::AllocStats back;
  row->ops.stats(state, &back);
  CHECK(back.frees - before.frees == 200 - fc->cached(c64));  // the rest reached the back end
  CHECK_MESSAGE(fc->validate(evo::ValidateLevel::Full, &err), err);
  // A block above 1 KiB is never cached.
  void* big = fc->allocate(4000, 16);
  fc->deallocate(big);
  evo::AllocStats after;
  row->ops.stats(state, &after);
  CHECK(after.frees == back.frees + 1);
  evo::destroy_ops_front(fc);  // destroys the back end too
}

TEST_CASE("front tcache:B:grow: a busy list's limit grows up to B, a list that keeps overflowing shrinks") {
  // The same limits whether the lists are linked through the blocks or stacks of pointers.
  for (const char* front : {"tcache:256:grow", "tcache:256:grow:array"}) {
    CAPTURE(front);
    const auto fc = make_row_front(front).fc;
    CHECK(fc->arrays() == std::string(front).ends_with(":array"));
    std::string err;
    CHECK(fc->bound() == 256);
    CHECK(fc->grows());
    std::uint32_t c64 = 0;
    while (fc->class_size(c64) != 64) ++c64;
    CHECK(fc->limit(c64) == evo::kFrontGrowMin);  // every list starts small
    // Allocation rounds that empty the list: each empty list doubles the limit.
    std::vector<void*> blocks;
    for (int round = 0; round < 8; ++round) {
      for (int i = 0; i < 300; ++i) blocks.push_back(fc->allocate(64, 16));
      for (void* p : blocks) fc->deallocate(p);
      blocks.clear();
      CHECK(fc->cached(c64) <= fc->limit(c64));
    }
    CHECK(fc->limit(c64) == 256);  // capped at B
    CHECK(fc->cached(c64) >= 128);  // after the last round's flushes: at least half the limit stays
    // Frees only (blocks of this class allocated through the back end's other path:
    // aligned requests bypass the cache and are cached on free): repeated overflows
    // halve the limit, down to the shrink floor (64 blocks: max(min(B, 64), B/4)).
    for (int i = 0; i < 4000; ++i) blocks.push_back(fc->allocate(64, 64));
    int over = 0;  // frees after which the list holds more than its (maybe just halved) limit
    for (void* p : blocks) {
      fc->deallocate(p);
      over += fc->cached(c64) > fc->limit(c64);
    }
    CHECK(over == 0);
    blocks.clear();
    CHECK(fc->limit(c64) == evo::front_shrink_floor(256));
    CHECK(evo::front_shrink_floor(256) == 64);
    CHECK(fc->cached(c64) <= 64);
    CHECK_MESSAGE(fc->validate(evo::ValidateLevel::Full, &err), err);
    // Other classes were never touched: still at the start limit.
    CHECK(fc->limit(0) == evo::kFrontGrowMin);
    // A class that is only freed (a consumer thread's) grows to the floor, no further.
    std::vector<std::uint32_t> before(fc->classes());
    for (std::uint32_t c = 0; c < fc->classes(); ++c) before[c] = fc->limit(c);
    for (int i = 0; i < 1000; ++i) blocks.push_back(fc->allocate(128, 64));
    for (void* p : blocks) fc->deallocate(p);
    blocks.clear();
    int changed = 0;
    for (std::uint32_t c = 0; c < fc->classes(); ++c) {
      if (c == c64 || fc->limit(c) == before[c]) continue;
      ++changed;  // the class these blocks were cached in
      CHECK(before[c] == evo::kFrontGrowMin);
      CHECK(fc->limit(c) == 64);
    }
    CHECK(changed == 1);
    CHECK(evo::front_shrink_floor(1024) == 256);
    CHECK(evo::front_shrink_floor(16) == 16);
    evo::destroy_ops_front(fc);
  }
}

TEST_CASE("front tcache:B:array: blocks stacked by pointer, never written, the oldest flushed first") {
  const auto [row, state, fc] = make_row_front("tcache:64:array");
  std::string err;
  CHECK(fc->arrays());
  std::uint32_t c64 = 0;
  while (fc->class_size(c64) != 64) ++c64;
  // The allocator never writes a cached block: what the program left in it stays.
  std::vector<void*> blocks;
  for (int i = 0; i < 200; ++i) {
    void* p = fc->allocate(64, 16);
    REQUIRE(p != nullptr);
    std::memset(p, 0x5A, 64);
    blocks.push_back(p);
  }
  std::set<void*> distinct(blocks.begin(), blocks.end());
  CHECK(distinct.size() == blocks.size());
  evo::AllocStats before;
  row->ops.stats(state, &before);
  const std::uint32_t left = fc->cached(c64);  // what the last refill left stacked
  for (void* p : blocks) fc->deallocate(p);
  CHECK(fc->cached(c64) <= 64);
  CHECK(fc->cached(c64) >= 32);  // a flush keeps half the limit
  evo::AllocStats back;
  row->ops.stats(state, &back);
  CHECK(back.frees - before.frees == 200 + left - fc->cached(c64));  // the rest reached the back end
  CHECK_MESSAGE(fc->validate(evo::ValidateLevel::Full, &err), err);
  // LIFO, and the blocks still cached are the ones freed last (the oldest were
  // flushed): each comes back with the program's bytes intact.
  const std::uint32_t held = fc->cached(c64);
  for (std::uint32_t i = 0; i < held; ++i) {
    void* p = fc->allocate(64, 16);
    CHECK(p == blocks[blocks.size() - 1 - i]);
    const auto* bytes = static_cast<const unsigned char*>(p);
    bool intact = true;
    for (int k = 0; k < 64; ++k) intact = intact && bytes[k] == 0x5A;
    CHECK(intact);
  }
  CHECK(fc->cached(c64) == 0);
  // The stacks' pages count in the footprint: the cache's stats are the back end's
  // plus the resident slots (whole pages, at least one touched).
  evo::AllocStats mine, inner;
  fc->stats(&mine);
  row->ops.stats(state, &inner);
  CHECK(fc->slots_resident() >= 4096);
  CHECK(fc->slots_resident() % 4096 == 0);
  CHECK(mine.footprint == inner.footprint + fc->slots_resident());
  CHECK(mine.peak_footprint == inner.peak_footprint + fc->slots_resident());
  evo::destroy_ops_front(fc);
}

TEST_CASE("front: try_allocate and deallocate_block, the exported library's inlined paths, do what allocate and deallocate do") {
  for (const char* form : {"tcache:64", "tcache:64:array"}) {
    CAPTURE(form);
    const auto [row, state, fc] = make_row_front(form);
    std::uint32_t c64 = 0;
    while (fc->class_size(c64) != 64) ++c64;
    // Nothing cached yet, and sizes the cache does not hold: nullptr, nothing counted.
    CHECK(fc->try_allocate(64) == nullptr);
    CHECK(fc->try_allocate(0) == nullptr);
    CHECK(fc->try_allocate(4000) == nullptr);
    CHECK(fc->allocs() == 0);
    // allocate refills; the blocks the refill left come out of try_allocate.
    std::vector<void*> blocks{fc->allocate(64, 16)};
    REQUIRE(blocks[0] != nullptr);
    const std::uint32_t left = fc->cached(c64);
    REQUIRE(left > 0);
    for (std::uint32_t i = 0; i < left; ++i) {
      void* p = fc->try_allocate(64);
      REQUIRE(p != nullptr);
      blocks.push_back(p);
    }
    CHECK(fc->cached(c64) == 0);
    CHECK(fc->try_allocate(64) == nullptr);  // empty again: allocate's refill is the rest
    CHECK(fc->allocs() == 1 + left);
    // deallocate_block pushes (LIFO) and counts the free.
    fc->deallocate_block(blocks[0]);
    CHECK(fc->cached(c64) == 1);
    CHECK(fc->frees() == 1);
    CHECK(fc->try_allocate(64) == blocks[0]);
    // 65 live blocks and an empty class (what refills leave is taken too).
    while (blocks.size() < 65 || fc->cached(c64) != 0) {
      void* p = fc->try_allocate(64);
      blocks.push_back(p != nullptr ? p : fc->allocate(64, 16));
    }
    CHECK(std::set<void*>(blocks.begin(), blocks.end()).size() == blocks.size());
    // Pushes up to the bound stay in the cache; the next one flushes, as deallocate
    // does: a list takes the block and flushes from bound + 1 down to half, an array
    // flushes to half first and then stacks it.
    evo::AllocStats before;
    row->ops.stats(state, &before);
    for (int i = 0; i < 64; ++i) fc->deallocate_block(blocks[i]);
    CHECK(fc->cached(c64) == 64);
    evo::AllocStats full;
    row->ops.stats(state, &full);
    CHECK(full.frees == before.frees);  // nothing reached the back end
    fc->deallocate_block(blocks[64]);
    CHECK(fc->cached(c64) == (fc->arrays() ? 33u : 32u));
    evo::AllocStats after;
    row->ops.stats(state, &after);
    CHECK(after.frees - full.frees == 65 - fc->cached(c64));
    // On top: an array flushed its oldest and stacked the new block; a list gave
    // back its head (the blocks freed last, the new one first).
    CHECK(fc->try_allocate(64) == (fc->arrays() ? blocks[64] : blocks[31]));
    // A block of no cached class goes straight to the back end.
    void* big = fc->allocate(4000, 16);
    fc->deallocate_block(big);
    evo::AllocStats last;
    row->ops.stats(state, &last);
    CHECK(last.frees == after.frees + 1);
    std::string err;
    CHECK_MESSAGE(fc->validate(evo::ValidateLevel::Full, &err), err);
    evo::destroy_ops_front(fc);
  }
}

TEST_CASE("front: footprint is the back end's, exact") {
  evo::Instance plain = make(kSb);
  evo::Instance cached = make(std::string(kSb) + " front=tcache:256");
  std::vector<void*> a, b;
  for (int i = 0; i < 3000; ++i) {
    a.push_back(plain.allocate(24 + i % 200));
    b.push_back(cached.allocate(24 + i % 200));
  }
  CHECK(cached.stats().footprint >= plain.stats().footprint);
  for (void* p : a) plain.deallocate(p);
  for (void* p : b) cached.deallocate(p);
  // Cached blocks keep their superblocks: footprint stays at least the plain heap's.
  CHECK(cached.stats().footprint >= plain.stats().footprint);
  CHECK(cached.stats().peak_footprint >= plain.stats().peak_footprint);
}

TEST_CASE("front: aligned requests bypass the cache and their blocks are cached by what is usable") {
  evo::Instance inst = make(std::string(kSb) + " front=tcache:64");
  void* p = inst.allocate(100, 64);
  REQUIRE(p != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
  const std::size_t u = inst.usable_size(p);
  CHECK(u >= 100);
  inst.deallocate(p);
  void* q = inst.allocate(u);  // fits in what p had from its address on
  CHECK(inst.usable_size(q) >= u);
  std::string err;
  CHECK_MESSAGE(inst.validate(evo::ValidateLevel::Full, &err), err);
}

TEST_CASE("front + harden=checked: the double free is still caught") {
  evo::Instance inst = make(std::string(kSb) + " harden=checked front=tcache:16");
  struct Got {
    std::string kind;
  } got;
  void* prev_ctx = nullptr;
  evo::HardenHook prev = evo::set_harden_hook(
      [](void* ctx, const evo::HardenReport& r) { static_cast<Got*>(ctx)->kind = std::string(r.kind); }, &got,
      &prev_ctx);
  void* p = inst.allocate(32);
  inst.deallocate(p);
  inst.deallocate(p);
  evo::set_harden_hook(prev, prev_ctx);
  CHECK(got.kind == "double-free");
}

TEST_CASE("every registry row with the cache front end survives the randomized stress test") {
  for (const evo::RegistryRow& row : evo::rows()) {
    CAPTURE(row.name);
    // Fixed and adaptive limits, lists and pointer stacks, in turn over the rows (the
    // stress is shadow-checked either way).
    const char* kFronts[] = {" front=tcache:16", " front=tcache:64:grow", " front=tcache:64:array",
                             " front=tcache:256:grow:array"};
    const std::string front = kFronts[row.id % 4];
    CAPTURE(front);
    // a routing design keeps no memory of its own: retain belongs to its sub-designs
    const std::string text = evo::test::with_keys(row.name, row.traits.routes ? front : front + " retain=256K");
    std::string err;
    evo::AllocatorSpec spec;
    REQUIRE(evo::parse_spec(text, spec, &err));
    evo::Instance inst = evo::Instance::create(spec, {}, &err);
    REQUIRE_MESSAGE(inst, err);
    evo::test::StressConfig cfg = evo::test::stress_config_for(spec, 777 + row.id, kOps);
    evo::test::StressResult r = evo::test::run_stress(inst, cfg);
    CHECK_MESSAGE(r.ok, r.error);
  }
}

TEST_CASE("prefetch_for_write: PREFETCHW where /proc/cpuinfo lists it, and a hint that never faults") {
#if defined(__x86_64__) && defined(__linux__)
  // The kernel's name for CPUID 0x80000001 ECX bit 8 is "3dnowprefetch".
  FILE* f = std::fopen("/proc/cpuinfo", "r");
  REQUIRE(f != nullptr);
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  const std::size_t flags = text.find("\nflags");
  REQUIRE(flags != std::string::npos);
  const std::string line = text.substr(flags, text.find('\n', flags + 1) - flags) + " ";
  CHECK(evo::cpu_has_prefetchw() == (line.find(" 3dnowprefetch ") != std::string::npos));
  CHECK(evo::g_cpu_prefetchw == evo::cpu_has_prefetchw());
#endif
  // Addresses no program may read: a prefetch of them is dropped, not a fault.
  evo::prefetch_for_write(nullptr);
  void* gone = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(gone != MAP_FAILED);
  REQUIRE(munmap(gone, 4096) == 0);
  evo::prefetch_for_write(gone);  // a fault here fails the test case
}
