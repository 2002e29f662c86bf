// Every byte of allocator metadata lives in the instance's own memory (issue #6):
// for EVERY registry row (and a hardened variant of each family), a replay of a
// seeded op sequence makes no heap allocation, the footprint counts the metadata
// tables from construction on, and the metadata address stream seen by a probe is
// the same for two instances whatever the process heap did in between (compared
// after renaming pages in order of first touch, as the cache model does,
// evaluate/cache_model.hpp).
//
// Heap allocations are counted by this executable's own replacement of the global
// operator new (every form) and, outside sanitizer builds (ASan owns malloc there),
// of malloc/calloc/realloc/aligned forms, forwarding to glibc's __libc_* functions.
// The counter is thread-local and only counts while t_counting is set.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "core/instance.hpp"
#include "tests/core/stress.hpp"

namespace {
thread_local bool t_counting = false;
thread_local std::uint64_t t_heap_calls = 0;
inline void count_call() {
  if (t_counting) ++t_heap_calls;
}
void* counted_new(std::size_t n, std::size_t align = 0) {
  count_call();
  if (n == 0) n = 1;
  void* p = nullptr;
  if (align > alignof(std::max_align_t)) {
    if (posix_memalign(&p, align, n) != 0) p = nullptr;
  } else {
    p = std::malloc(n);
  }
  return p;
}
}  // namespace

// ---- the interposers ----
void* operator new(std::size_t n) {
  if (void* p = counted_new(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_new(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_new(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  if (void* p = counted_new(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  if (void* p = counted_new(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_new(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_new(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

#ifndef EVOALLOC_SANITIZE
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* malloc(std::size_t n) {
  count_call();
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t s) {
  count_call();
  return __libc_calloc(n, s);
}
void* realloc(void* p, std::size_t n) {
  count_call();
  return __libc_realloc(p, n);
}
void* memalign(std::size_t a, std::size_t n) {
  count_call();
  return __libc_memalign(a, n);
}
void* aligned_alloc(std::size_t a, std::size_t n) {
  count_call();
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, std::size_t a, std::size_t n) {
  count_call();
  void* p = __libc_memalign(a, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}
#endif

namespace {

using evo::test::heap_noise;
using evo::test::with_harden;

constexpr std::size_t kOps = evo::test::stress_ops(20000, 3000);
constexpr std::size_t kSlots = 512;

/// A probe that folds the metadata address stream, pages renamed by first touch
/// (frame number, offset in page), into a hash. Its page table is preallocated.
struct RenamedStream {
  static constexpr std::size_t kCap = std::size_t{1} << 17;
  std::vector<std::uintptr_t> pages = std::vector<std::uintptr_t>(kCap, 0);
  std::vector<std::uint32_t> frames = std::vector<std::uint32_t>(kCap, 0);
  std::uint32_t next_frame = 0;
  std::uint64_t hash = 1469598103934665603ull;
  std::uint64_t touches = 0;
  bool overflow = false;

  struct Result {
    std::uint64_t hash, touches;
    std::uint32_t frames;
  };
  Result result() const { return {hash, touches, next_frame}; }

  std::uint32_t frame(std::uintptr_t page) {
    std::size_t i = static_cast<std::size_t>((page * 0x9E3779B97F4A7C15ull) >> 47) & (kCap - 1);
    for (std::size_t n = 0; n < kCap; ++n, i = (i + 1) & (kCap - 1)) {
      if (pages[i] == page + 1) return frames[i];
      if (pages[i] == 0) {
        pages[i] = page + 1;
        frames[i] = next_frame++;
        return frames[i];
      }
    }
    overflow = true;
    return 0;
  }
  static void on_touch(void* ctx, const void* addr, std::uint32_t bytes) {
    auto* s = static_cast<RenamedStream*>(ctx);
    auto a = reinterpret_cast<std::uintptr_t>(addr);
    std::uint64_t v = (std::uint64_t{s->frame(a >> 12)} << 12 | (a & 4095)) * 31 + bytes;
    s->hash = (s->hash ^ v) * 1099511628211ull;
    ++s->touches;
  }
};

/// A seeded op sequence with no heap use of its own: malloc of mostly small,
/// sometimes large sizes, aligned allocations, realloc up and down, free.
/// Returns false (and *what) when the instance fails a request or validate(Full).
bool replay(evo::Instance& inst, std::uint64_t seed, std::vector<void*>& slots, std::string* what) {
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  auto rnd = [&s]() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  };
  for (std::size_t i = 0; i < kOps; ++i) {
    std::uint64_t r = rnd();
    std::size_t k = static_cast<std::size_t>(r % kSlots);
    void*& p = slots[k];
    unsigned kind = static_cast<unsigned>((r >> 20) % 16);
    std::size_t size = (r >> 32) % 8 == 0 ? 1 + (r >> 36) % (200 * 1024) : 1 + (r >> 36) % 600;
    if (p == nullptr) {
      p = kind == 0 ? inst.allocate(size, std::size_t{64} << ((r >> 40) % 3)) : inst.allocate(size);
      if (p == nullptr) {
        *what = "allocation failed at op " + std::to_string(i);
        return false;
      }
      std::memset(p, 0x5a, size < 64 ? size : 64);
    } else if (kind < 3) {
      void* q = inst.reallocate(p, size);
      if (q == nullptr) {
        *what = "reallocation failed at op " + std::to_string(i);
        return false;
      }
      p = q;
    } else {
      inst.deallocate(p);
      p = nullptr;
    }
  }
  for (void*& p : slots) {
    if (p != nullptr) inst.deallocate(p);
    p = nullptr;
  }
  return true;
}

/// Every row's canonical text, plus harden=canary and harden=checked variants of
/// the first row of each family.
std::vector<std::string> designs() {
  std::vector<std::string> v;
  std::string last_family;
  for (const evo::RegistryRow& row : evo::rows()) {
    v.push_back(row.name);
    if (row.family != last_family) {
      v.push_back(with_harden(row.name, "canary"));
      v.push_back(with_harden(row.name, "checked"));
      last_family = std::string(row.family);
    }
  }
  return v;
}

}  // namespace

TEST_CASE("the interposer counts heap allocations (the test can fail)") {
  t_heap_calls = 0;
  t_counting = true;
  auto* v = new std::vector<int>(100);
  t_counting = false;
  CHECK(t_heap_calls >= 2);
  delete v;
#ifndef EVOALLOC_SANITIZE
  t_heap_calls = 0;
  t_counting = true;
  void* p = std::malloc(24);
  t_counting = false;
  CHECK(t_heap_calls == 1);
  std::free(p);
#endif
}

TEST_CASE("no registry row allocates on the heap while it serves requests, and its metadata counts in the footprint") {
  std::vector<void*> slots(kSlots, nullptr);
  std::size_t checked = 0;
  for (const std::string& text : designs()) {
    CAPTURE(text);
    std::string err;
    evo::Instance inst = evo::Instance::create(text, {}, &err);
    REQUIRE_MESSAGE(inst, err);
    const std::string_view family = inst.row().family;
    // Families with tables (bin heads, class tables, pagemaps, live counters) have
    // mapped them in the instance's own source before the first request.
    if (family != "minimal" && family != "pad" && family != "vm") {
      evo::AllocStats st = inst.stats();
      CHECK(st.footprint > 0);
      CHECK(st.footprint % 4096 == 0);
    }
    std::string what;
    t_heap_calls = 0;
    t_counting = true;
    bool ok = replay(inst, 99, slots, &what);
    t_counting = false;
    CHECK_MESSAGE(ok, what);
    CHECK(t_heap_calls == 0);
    CHECK_MESSAGE(inst.validate(evo::ValidateLevel::Full, &err), err);
    ++checked;
  }
  CHECK(checked > evo::rows().size());
}

TEST_CASE("the metadata address stream of every row does not depend on the process heap") {
  std::vector<void*> slots(kSlots, nullptr);
  std::vector<std::vector<char>> keep;
  for (const std::string& text : designs()) {
    CAPTURE(text);
    RenamedStream a, b;
    evo::Probe pa{&RenamedStream::on_touch, &a}, pb{&RenamedStream::on_touch, &b};
    evo::InstanceOptions oa, ob;
    oa.probe = &pa;
    ob.probe = &pb;
    std::string err, what;
    evo::Instance ia = evo::Instance::create(text, oa, &err);
    REQUIRE_MESSAGE(ia, err);
    REQUIRE(replay(ia, 7, slots, &what));
    const RenamedStream::Result ra = a.result();  // before the instance's teardown touches
    ia.reset();
    heap_noise(keep.size() + 1, keep);
    evo::Instance ib = evo::Instance::create(text, ob, &err);
    REQUIRE_MESSAGE(ib, err);
    REQUIRE(replay(ib, 7, slots, &what));
    const RenamedStream::Result rb = b.result();
    CHECK(!a.overflow);
    CHECK(ra.touches > 0);
    CHECK(ra.touches == rb.touches);
    CHECK(ra.frames == rb.frames);
    CHECK(ra.hash == rb.hash);
  }
}
