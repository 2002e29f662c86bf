// Tests of evaluate/replay: the loops through glibc, the null allocator and real
// rows of the registry; check mode catches broken allocators; the program-touch
// probe sees every block.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sys/mman.h>
#include <sys/resource.h>

#include "core/instance.hpp"
#include "evaluate/replay.hpp"
#include "evaluate/replay_check.hpp"
#include "evaluate/trace.hpp"

using namespace evo;

namespace {

/// Every op kind, realloc(NULL,n), realloc(p,0), a slot reused after free.
Trace all_kinds() {
  Trace t;
  t.push(OpKind::Malloc, 0, 24);
  t.push(OpKind::Calloc, 1, 400);
  t.push(OpKind::Realloc, 0, 1000);
  t.push(OpKind::Memalign, 2, 64, 6);
  t.push(OpKind::PosixMemalign, 3, 128, 7);
  t.push(OpKind::AlignedAlloc, 4, 4096, 12);
  t.push(OpKind::Valloc, 5, 10, 12);
  t.push(OpKind::Pvalloc, 6, 5000, 12);
  t.push(OpKind::Free, 1, 0);
  t.push(OpKind::Realloc, 1, 32);  // empty slot: malloc
  t.push(OpKind::Realloc, 0, 0);   // frees
  t.push(OpKind::Malloc, 7, 0);    // size 0
  t.push(OpKind::Free, 2, 0);
  t.push(OpKind::Malloc, 2, 3000);
  for (std::uint32_t i = 0; i < 8; ++i) t.push(OpKind::Free, i, 0);
  t.finish();
  return t;
}

/// A deterministic churn of mixed sizes (LCG, fixed seed).
Trace churn(std::uint32_t n_ops, std::uint32_t slots) {
  Trace t;
  std::uint64_t x = 12345;
  std::vector<bool> live(slots, false);
  for (std::uint32_t i = 0; i < n_ops; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    std::uint32_t o = static_cast<std::uint32_t>((x >> 33) % slots);
    std::uint64_t size = 1 + ((x >> 13) % 2000);
    if (!live[o]) {
      t.push(((x >> 7) & 7) == 0 ? OpKind::Calloc : OpKind::Malloc, o, size);
      live[o] = true;
    } else if (((x >> 9) & 3) == 0) {
      t.push(OpKind::Realloc, o, size * 2);
    } else {
      t.push(OpKind::Free, o, 0);
      live[o] = false;
    }
  }
  t.finish();
  return t;
}

Instance make(const std::string& text, InstanceOptions opt = {}) {
  std::string err;
  Instance i = Instance::create(text, opt, &err);
  INFO(err);
  REQUIRE(static_cast<bool>(i));
  return i;
}

struct TouchCount {
  std::uint64_t n = 0, bytes = 0;
  static void on(void* ctx, const void*, std::uint32_t b) {
    auto* c = static_cast<TouchCount*>(ctx);
    ++c->n;
    c->bytes += b;
  }
};

// ---- deliberately broken allocators for check mode ----
alignas(64) unsigned char g_arena[1 << 20];
std::size_t g_top = 0;
int g_state;
void* bump(void*, std::size_t size, std::size_t) {
  void* p = g_arena + g_top;
  g_top += (size + 15) & ~std::size_t{15};
  return p;
}
void* same_block(void*, std::size_t, std::size_t) { return g_arena; }             // overlaps
void* misaligned(void*, std::size_t s, std::size_t a) { return static_cast<unsigned char*>(bump(nullptr, s + 16, a)) + 8; }
void no_free(void*, void*) {}
void* bump_realloc(void*, void* p, std::size_t size) {
  if (size == 0) return nullptr;
  void* q = bump(nullptr, size, 16);
  if (p != nullptr) std::memcpy(q, p, 16);  // copies too little: contents lost
  return q;
}
std::size_t big_usable(const void*, const void*) { return 1 << 16; }
void no_stats(const void*, AllocStats* s) { *s = AllocStats{}; }
bool valid(const void*, ValidateLevel, std::string*) { return true; }
void no_destroy(void*) {}

ReplayResult replay_broken(void* (*alloc)(void*, std::size_t, std::size_t), const Trace& t) {
  g_top = 0;
  RegistryRow row{999, "broken", "broken", Traits{}, AllocatorOps{alloc, no_free, bump_realloc, big_usable, no_stats, valid, no_destroy, nullptr}, nullptr};
  Instance inst(&row, &g_state);
  ReplayOptions o;
  o.check = true;
  ReplayResult r = replay(t, inst, o);
  inst.reset();
  return r;
}

}  // namespace

TEST_CASE("replay_system and replay_null run every op kind") {
  Trace t = all_kinds();
  ReplayResult s = replay_system(t);
  CHECK(s.ok);
  CHECK(s.error.empty());
  CHECK(s.ops == t.ops.size());
  CHECK(s.failed_allocs == 0);
  CHECK(s.peak_live_requested == t.peak_live);
  CHECK(s.seconds >= 0);
  ReplayResult n = replay_null(t);
  CHECK(n.ok);
  CHECK(n.ops == t.ops.size());
  CHECK(n.peak_footprint == 0);
  ReplayOptions o;
  o.max_ops = 3;
  CHECK(replay_null(t, o).ops == 3);
  CHECK(replay_null(t, o).peak_live_requested == 1400);  // 1000 + 400 after op 2
}

TEST_CASE("replay_system samples glibc's footprint at the live peak, even a short one mid-chunk") {
  // 3000 small blocks churned, then a 64 MiB block alive for one op in the middle
  // of a sampling chunk, then more churn: sampling only at chunk ends missed it
  // (a footprint of ~100 KB against 64 MB live: "fragmentation -0.99").
  Trace t;
  for (std::uint32_t i = 0; i < 3000; ++i) {
    t.push(OpKind::Malloc, 0, 32 + i % 200);
    t.push(OpKind::Free, 0, 0);
  }
  t.push(OpKind::Malloc, 1, std::uint64_t{64} << 20);
  t.push(OpKind::Free, 1, 0);
  for (std::uint32_t i = 0; i < 3000; ++i) {
    t.push(OpKind::Malloc, 0, 32 + i % 200);
    t.push(OpKind::Free, 0, 0);
  }
  t.finish();
  REQUIRE(t.ops.size() < kSystemSampleOps);  // the peak lies inside the one chunk
  ReplayResult s = replay_system(t);
  REQUIRE(s.ok);
  CHECK(s.peak_live_requested == (std::uint64_t{64} << 20));
#ifdef EVOALLOC_SANITIZE
  MESSAGE("footprint not checked under EVOALLOC_SANITIZE: ASan's malloc reports zeros to mallinfo2");
#else
  CHECK(s.peak_footprint >= s.peak_live_requested);
  CHECK(s.peak_footprint < 2 * s.peak_live_requested);
#endif
}

TEST_CASE("replay_null takes callocs and reallocs of any size (its blocks are one byte deep)") {
  // Sizes whose null block lies at the last scratch lines: zeroing a calloc'ed
  // null block would run past the allocator's state (ASan reports it; in a
  // release build it corrupted the heap on recorded perl and python traces).
  Trace t;
  for (std::uint32_t i = 0; i < 16; ++i) t.push(OpKind::Calloc, i, 255 + 256 * (1000 + i));
  for (std::uint32_t i = 0; i < 16; ++i) t.push(OpKind::Realloc, i, 255 + 256 * (5000 + i));
  for (std::uint32_t i = 0; i < 16; ++i) t.push(OpKind::Free, i, 0);
  t.finish();
  ReplayResult n = replay_null(t);
  CHECK(n.ok);
  CHECK(n.ops == t.ops.size());
  CHECK(n.failed_allocs == 0);
  ReplayResult s = replay_system(t);
  CHECK(s.ok);
  CHECK(s.peak_live_requested == n.peak_live_requested);
}

TEST_CASE("replay through registry rows in check mode") {
  const Trace kinds = all_kinds();
#ifdef EVOALLOC_SANITIZE
  const Trace mixed = churn(20000, 300);
#else
  const Trace mixed = churn(200000, 2000);
#endif
  for (const char* design : {"minimal", "pad", "freelist", "btag", "superblock", "block"}) {
    CAPTURE(design);
    for (const Trace* t : {&kinds, &mixed}) {
      Instance inst = make(design);
      ReplayOptions o;
      o.check = true;
      o.validate_every = 5000;
      ReplayResult r = replay(*t, inst, o);
      CHECK_MESSAGE(r.ok, r.error);
      CHECK(r.ops == t->ops.size());
      CHECK(r.peak_footprint >= r.peak_live_requested);
      CHECK(r.final_stats.peak_footprint == r.peak_footprint);
      CHECK(r.final_stats.allocs > 0);
    }
  }
}

TEST_CASE("the program-touch probe sees the first touch of every block") {
  Trace t = all_kinds();
  std::uint64_t n = 0, bytes = 0;
  for (std::size_t i = 0; i < t.ops.size(); ++i) {
    const Op& op = t.ops[i];
    if (op.kind == OpKind::Free || t.size_of(i) == 0) continue;
    ++n;
    bytes += std::min<std::uint64_t>(t.size_of(i), 64);
  }
  for (int which = 0; which < 3; ++which) {
    TouchCount c;
    Probe probe{TouchCount::on, &c};
    ReplayOptions o;
    o.program_touch = &probe;
    if (which == 0) {
      replay_system(t, o);
    } else if (which == 1) {
      replay_null(t, o);
    } else {
      Instance inst = make("pad");
      replay(t, inst, o);
    }
    CHECK(c.n == n);
    CHECK(c.bytes == bytes);
  }
}

TEST_CASE("the first touch keeps a block's byte and faults a fresh page in once, as a program's write does") {
  constexpr std::size_t kPages = 32;
  char* m = static_cast<char*>(::mmap(nullptr, kPages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(m != MAP_FAILED);
  auto minor_faults = [] {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
  };
  const long before = minor_faults();
  for (std::size_t i = 0; i < kPages; ++i) rewrite_first_byte(m + i * 4096 + 100);
  const long faults = minor_faults() - before;
  // A load then a store faults twice per page (the zero page, then a page of its
  // own); one read-modify-write faults once.
  CHECK(faults >= static_cast<long>(kPages));
  CHECK(faults < static_cast<long>(2 * kPages));
  for (std::size_t i = 0; i < kPages; ++i) CHECK(m[i * 4096 + 100] == 0);
  m[5] = 'x';
  rewrite_first_byte(m + 5);
  CHECK(m[5] == 'x');
  ::munmap(m, kPages * 4096);
}

TEST_CASE("failed allocations are counted and named") {
  Trace t;
  for (std::uint32_t i = 0; i < 64; ++i) t.push(OpKind::Malloc, i, 4096);
  t.finish();
  InstanceOptions opt;
  opt.memory_limit = 64 * 1024;
  Instance inst = make("pad", opt);
  ReplayResult r = replay(t, inst, {});
  CHECK_FALSE(r.ok);
  CHECK(r.failed_allocs > 0);
  CHECK(r.failed_allocs < 64);
  CHECK(r.error.find("op ") == 0);
  CHECK(r.error.find("malloc(4096) failed") != std::string::npos);
  CHECK(r.ops == 64);  // replay goes on after a failure
  Instance empty;
  CHECK_FALSE(replay(t, empty, {}).ok);
}

TEST_CASE("check mode catches overlapping, misaligned and corrupting allocators") {
  Trace t;
  t.push(OpKind::Malloc, 0, 32);
  t.push(OpKind::Malloc, 1, 32);
  t.push(OpKind::Free, 0, 0);
  t.finish();
  ReplayResult r = replay_broken(same_block, t);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("op 1") == 0);
  CHECK(r.error.find("overlaps a live block") != std::string::npos);

  r = replay_broken(misaligned, t);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("op 0") == 0);
  CHECK(r.error.find("misaligned") != std::string::npos);

  Trace u;
  u.push(OpKind::Malloc, 0, 100);
  u.push(OpKind::Realloc, 0, 200);
  u.finish();
  r = replay_broken(bump, u);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("op 1 (realloc): contents not preserved") == 0);

  r = replay_broken(bump, t);  // a correct bump allocator passes
  CHECK_MESSAGE(r.ok, r.error);
}

namespace {

// ---- a logging allocator: records every call the timed loop makes ----
struct Call {
  char what;  // 'a' allocate, 'd' deallocate, 'r' reallocate
  std::uint64_t size;
  std::size_t align;
  bool operator==(const Call&) const = default;
};
std::vector<Call> g_calls;
alignas(64) unsigned char g_lines[64 * 64];
void* log_alloc(void*, std::size_t size, std::size_t align) {
  g_calls.push_back({'a', size, align});
  if (size == 13) return nullptr;  // this size always fails
  return g_lines + (g_calls.size() % 64) * 64;
}
void log_free(void*, void* p) { g_calls.push_back({'d', p == nullptr ? 0u : 1u, 0}); }
void* log_realloc(void*, void*, std::size_t size) {
  g_calls.push_back({'r', size, 0});
  return size == 0 || size == 13 ? nullptr : g_lines;
}

}  // namespace

TEST_CASE("the timed loop makes one call per op with the op's size and alignment, across chunks") {
  // 3 chunks of kSystemSampleOps and a bit: malloc/free pairs, a failing malloc,
  // a big size (>= 4 GiB, never touched by this allocator's caller beyond byte 0),
  // and every rare kind in the middle of a chunk and at its boundary.
  Trace t;
  std::vector<Call> want;
  std::uint64_t touches = 0;
  auto add = [&](OpKind k, std::uint32_t obj, std::uint64_t size, std::uint8_t al, Call c, bool touched) {
    t.push(k, obj, size, al);
    want.push_back(c);
    touches += touched ? 1 : 0;
  };
  const std::uint64_t big = (std::uint64_t{1} << 32) + 5;
  std::size_t first_fail = 0;
  for (std::uint32_t i = 0; t.ops.size() < 3 * kSystemSampleOps + 100; ++i) {
    const std::uint64_t s = 16 + i % 300;  // never the failing 13
    add(OpKind::Malloc, 0, s, 0, {'a', s, 16}, true);
    add(OpKind::Free, 0, 0, 0, {'d', 1, 0}, false);
    if (i == 1000 || t.ops.size() == kSystemSampleOps - 1) {  // the second straddles a chunk end
      if (first_fail == 0) first_fail = t.ops.size();
      add(OpKind::Malloc, 1, 13, 0, {'a', 13, 16}, false);  // fails: slot stays empty
      add(OpKind::Free, 1, 0, 0, {'d', 0, 0}, false);
      add(OpKind::Malloc, 1, big, 0, {'a', big, 16}, true);
      add(OpKind::Realloc, 1, 40, 0, {'r', 40, 0}, true);
      add(OpKind::Realloc, 1, 0, 0, {'r', 0, 0}, false);
      add(OpKind::Calloc, 1, 24, 0, {'a', 24, 16}, true);
      add(OpKind::Free, 1, 0, 0, {'d', 1, 0}, false);
      add(OpKind::Memalign, 1, 8, 6, {'a', 8, 64}, true);
      add(OpKind::Free, 1, 0, 0, {'d', 1, 0}, false);
      add(OpKind::Pvalloc, 1, 5000, 12, {'a', 8192, 4096}, true);
      add(OpKind::Free, 1, 0, 0, {'d', 1, 0}, false);
      add(OpKind::Malloc, 1, 0, 0, {'a', 0, 16}, false);  // size 0: not touched
      add(OpKind::Free, 1, 0, 0, {'d', 1, 0}, false);
    }
  }
  t.finish();
  REQUIRE(t.big_sizes.size() == 2);
  RegistryRow row{998, "log", "log", Traits{}, AllocatorOps{log_alloc, log_free, log_realloc, big_usable, no_stats, valid, no_destroy, nullptr}, nullptr};
  Instance inst(&row, &g_state);
  TouchCount c;
  Probe probe{TouchCount::on, &c};
  ReplayOptions o;
  o.program_touch = &probe;
  g_calls.clear();
  ReplayResult r = replay(t, inst, o);
  CHECK(g_calls == want);
  CHECK(c.n == touches);
  CHECK(r.ops == t.ops.size());
  CHECK(r.failed_allocs == 2);
  CHECK(r.error == "op " + std::to_string(first_fail) + ": malloc(13) failed");
  // max_ops stops the loop inside a chunk, probe or not.
  o.max_ops = kSystemSampleOps + 3;
  o.program_touch = nullptr;
  g_calls.clear();
  r = replay(t, inst, o);
  CHECK(r.ops == kSystemSampleOps + 3);
  CHECK(g_calls == std::vector<Call>(want.begin(), want.begin() + kSystemSampleOps + 3));
  inst.reset();
}

TEST_CASE("a warm replay times a second pass on the same instance, the first pass's leftovers freed") {
  // The churn without its reallocs (whether a realloc moves, one alloc more, depends
  // on the heap's state, so the passes' counts would differ); it ends with blocks live.
  const Trace full = churn(20000, 300);
  Trace t;
  std::uint64_t left = 0;
  for (std::size_t i = 0; i < full.ops.size(); ++i) {
    const Op& op = full.ops[i];
    if (op.kind == OpKind::Realloc) continue;
    t.push(op.kind, op.object, full.size_of(i));
    left += op.kind == OpKind::Free ? -1 : 1;
  }
  t.finish();
  REQUIRE(left > 0);
  // (Without a front cache: a cache's stats count its refills and flushes, not the calls.)
  for (const char* design : {"slab slab=16K align=16 source=mmap harden=off front=none retain=1M",
                             "block classes=linear:64 fit=best coalesce=none split=always split_min=64 search=own "
                             "top=64K large=256K align=16 source=region harden=off front=none retain=1M"}) {
    CAPTURE(design);
    Instance cold_inst = make(design);
    const ReplayResult cold = replay(t, cold_inst);
    REQUIRE(cold.ok);
    CHECK(cold.final_stats.allocs - cold.final_stats.frees == left);
    Instance warm_inst = make(design);
    ReplayOptions o;
    o.warm = true;
    const ReplayResult warm = replay(t, warm_inst, o);
    REQUIRE_MESSAGE(warm.ok, warm.error);
    CHECK(warm.ops == cold.ops);
    CHECK(warm.failed_allocs == 0);
    CHECK(warm.peak_live_requested == cold.peak_live_requested);
    // Two passes ran on the one instance, and between them every block the first left live was freed.
    CHECK(warm.final_stats.allocs == 2 * cold.final_stats.allocs);
    CHECK(warm.final_stats.frees == 2 * cold.final_stats.frees + left);
    CHECK(warm.final_stats.live_requested == cold.final_stats.live_requested);
    std::string err;
    CHECK_MESSAGE(warm_inst.validate(ValidateLevel::Full, &err), err);
  }
  Instance cached = make("slab slab=16K align=16 source=mmap harden=off front=tcache:64:array retain=1M");
  ReplayOptions w;
  w.warm = true;
  const ReplayResult r = replay(t, cached, w);
  CHECK_MESSAGE(r.ok, r.error);
  std::string err;
  CHECK_MESSAGE(cached.validate(ValidateLevel::Full, &err), err);
  ReplayOptions o;
  o.warm = true;
  const ReplayResult sys = replay_system(t, o);
  CHECK(sys.ok);
  CHECK(sys.ops == t.ops.size());
  CHECK(sys.failed_allocs == 0);
  CHECK(sys.peak_live_requested == t.peak_live);  // (its footprint is mallinfo2's: 0 under ASan's malloc)
  CHECK(replay_null(t, o).ops == t.ops.size());
}
