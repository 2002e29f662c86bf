// core/layers/front.hpp — the cache front end (common key
// front=none|tcache:B[:grow][:array]): per size-class LIFO lists of free blocks in
// front of any back end (any family).
//
// FrontCache<Back> keeps, for each of its classes (block sizes up to kFrontMaxSmall
// bytes), a singly linked LIFO list of blocks the program freed, threaded through
// each block's first word, with at most B blocks per class:
//
//   allocate(n, a)  1 <= n <= kFrontMaxSmall and a <= the design's alignment: class of n by
//                   one table lookup; pop the list head (the hot path: no back-end
//                   call); an empty list is refilled in one batch from the back end
//                   (bump order: the first block is returned, the next ones come off
//                   the list in address order). Otherwise the back end serves it.
//   deallocate(p)   the block's size comes from the back end's own metadata
//                   (usable_size: the superblock/slab families keep no header, the
//                   size is found from the page's superblock or slab); a block of a
//                   cached size is pushed on its class list, and a list past B
//                   blocks gives half back to the back end in one batch (the most
//                   recently freed half, still in the cache, as tcmalloc does).
//   reallocate      a cached-size block is kept when the new size fits and is at
//                   least half its size, else allocate + copy + free through the
//                   cache; larger blocks go to the back end's reallocate (remap).
//
// Adaptive limit (front=tcache:B:grow): each list starts with a limit of
// min(B, 8) blocks instead of B. A list found empty on an allocation doubles its limit
// (up to B) before it is refilled, so a class the program allocates steadily earns a
// long list and its refills and flushes become rare; a list that overflows its
// limit more than 3 times without running empty halves it, so a class the program
// mostly frees gives its blocks back instead of hoarding B of them; but never below
// B/4 nor below 64 blocks (or B when smaller), and a list under that
// floor that overflows doubles its limit instead: a thread that only frees a class
// (a consumer) passes whole batches on to the transfer cache, where a thread that
// only allocates it (the producer) takes them from.
// Refills take half the limit (at most 8 KiB worth and 64 blocks); flushes leave
// half the limit. B is the cap, as in the fixed form: memory held per class and
// thread is at most B blocks either way. (The scheme follows the slow-start
// thread-cache lists of gperftools' tcmalloc, which grow a list on each fetch from
// the central cache and shrink it after repeated overflows; the constants here are
// ours.)
//
// Array storage (front=tcache:B:array, and tcache:B:grow:array): each class keeps its
// free blocks as a stack of pointers in an array of B slots (one mapping per cache,
// class c at slots c*B .. c*B+B-1; pages are touched, and so resident, only as far
// as a class's stack reaches) instead of a list threaded through the blocks. Free
// pushes the pointer and allocate pops it: neither touches the block itself, so a
// block the program last touched long ago (or on another core) costs no miss in the
// allocator, the program's own first write is its only one. So that write finds
// its line on its way, free prefetches the block it caches (for writing: it is as
// cold as the program left it, often a random victim or a block last written on
// another core), and allocate prefetches the new top of the stack and, while its
// pops run through the blocks of a refill (the stack's bottom up to its `cold`
// mark), the block it will return kFrontPrefetchAhead pops later (a refill from the
// transfer cache prefetches the first ones it hands out). Flushes give back the
// bottom of the stack (the blocks freed longest ago), and the transfer cache takes
// and gives whole runs of slots (a copy, no walk). Same limits, same refill and
// flush sizes as the list. (Pointer-array thread caches are what jemalloc's tcache
// bins and tcmalloc's per-CPU caches use.) The slots' resident pages count in the
// footprint (mincore, at stats time: the pages are never given back before the
// cache is destroyed, so the count is also their peak).
//
// Classes: the back end's own rounding (good_size, see core/ops.hpp) of every
// 16-byte step up to kFrontMaxSmall, so a freed block comes back to the list its
// size was allocated from. A block is cached in the largest class whose size is
// <= its usable size (an aligned block carved inside a larger one is cached by
// what is usable from its address on).
//
// Accounting: footprint, peak and os_calls are the back end's (cached blocks are
// live to it: the memory they hold is in the footprint, as it is in the exported
// library); allocs/frees count the program's calls. Probe: list heads, table
// entries and block links are reported as metadata touches.
//
// Back is a handle with the allocator contract (core/adapter.hpp) plus
// good_size(n) and release() (destroys the back end): TypedBack<A> calls a class
// directly (the exported library: one inlined pipeline), OpsBack calls a registry
// row through its function pointers (evaluation: front=tcache:B is applied by
// Instance::create around the row, as harden is). The same template runs in both.
//
// Thread model tcache (threads=tcache, core/spec.hpp): the same cache runs in every
// thread, each with its own lists, over ONE shared instance of the rest of the
// design: Back = SharedBack<Inner>, which takes the shared instance's HeapLock. A
// refill or a flush holds it once for the whole batch (enter/leave); a block freed
// by any thread goes to that thread's cache (no owner, no remote free); a cache
// destroyed (its thread exited) gives every block back (flush_all). Between the
// caches and the shared instance sits a TransferCache (core/layers/transfer.hpp):
// a flush leaves its blocks there (half the limit, or min(limit, 128) when that
// is more: a refill's worth), without the instance's lock, and a refill of an empty
// list takes up to min(limit, 128) blocks from there first (kFrontTransferBatch); only a full transfer cache sends
// a flush to the instance, and only an empty one sends a refill there. A class whose
// previous batch went the other way (a refill after a flush, a flush after a refill:
// the thread allocates and frees it alike) moves half the limit instead, so its list
// lands half full rather than at the end it just left (refill_transfer_batch, flush_batch). The
// threaded replay (evaluate/replay_threaded.cpp) and the exported library
// (export/shim.cpp) build exactly this composition; split_thread_cache says what
// is shared.
#pragma once

#include <sys/mman.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <sys/single_threaded.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <string>
#include <string_view>

#include "core/adapter.hpp"
#include "core/heap_lock.hpp"
#include "core/layers/transfer.hpp"
#include "core/ops.hpp"
#include "core/probe.hpp"
#include "core/registry.hpp"
#include "core/source/resident.hpp"

namespace evo {

/// Largest request served from the cache (bytes).
inline constexpr std::size_t kFrontMaxSmall = 1024;
inline constexpr std::uint32_t kFrontSteps = kFrontMaxSmall / 16;  // table entries 1..kFrontSteps
inline constexpr std::uint8_t kFrontNone = 0xFF;                   // "no class" in the tables
static_assert(TransferCache::kClasses >= kFrontSteps, "the transfer cache holds every front class");

/// A front's configuration word (what parse_front returns, what the export writes
/// as kFrontBound): the bound B in the low 16 bits, kFrontGrow set for the adaptive
/// limit (tcache:B:grow). 0 = no cache.
inline constexpr std::uint32_t kFrontGrow = 1u << 16;
/// ... and kFrontArray for pointer-array storage (tcache:B[:grow]:array).
inline constexpr std::uint32_t kFrontArray = 1u << 17;
inline constexpr std::uint32_t front_cap(std::uint32_t word) { return word & 0xFFFFu; }
inline constexpr bool front_grows(std::uint32_t word) { return (word & kFrontGrow) != 0; }
inline constexpr bool front_array(std::uint32_t word) { return (word & kFrontArray) != 0; }
/// The first adaptive limit.
inline constexpr std::uint32_t kFrontGrowMin = 8;
/// The most blocks a refill takes from the transfer cache (thread model tcache).
/// 128 against 64: 5-13% more frees/s on xmalloc-test in every round, larson within
/// its noise (docs/benchmarks.md); a batch crosses between threads under one lock
/// hold each way, so a longer batch halves the holds.
inline constexpr std::uint32_t kFrontTransferBatch = 128;
/// Whether this processor has PREFETCHW (CPUID 0x80000001, ECX bit 8: PRFCHW).
inline bool cpu_has_prefetchw() noexcept {
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(0x80000001u, &a, &b, &c, &d) != 0 && (c & (1u << 8)) != 0;
#else
  return false;
#endif
}
/// Set while the program (or the preloaded library) is initialised; false before,
/// which only means a read prefetch for the allocations made until then.
inline const bool g_cpu_prefetchw = cpu_has_prefetchw();

/// Asks for the cache line at p in the state a write needs (exclusive), without
/// waiting for it. __builtin_prefetch(p, 1) compiles to a plain read prefetch unless
/// the build targets PRFCHW (-march=x86-64, the default, does not): the line then
/// arrives shared, and the program's first write to a block another core wrote
/// last pays a second round trip to invalidate that core's copy. So PREFETCHW is
/// issued directly where the processor says it has it (some early x86-64
/// processors fault on it), a read prefetch elsewhere. A hint either way: it never
/// faults on an address, not even a null one.
inline void prefetch_for_write(const void* p) noexcept {
#if defined(__x86_64__)
  if (g_cpu_prefetchw) [[likely]] {
    asm volatile("prefetchw (%0)" : : "r"(p));
    return;
  }
#endif
  __builtin_prefetch(p, 1);
}

/// Array storage: an allocation prefetches (for writing, prefetch_for_write) the
/// block the allocation this many pops later will return, so that a block last
/// written on another core (a producer's block freed by its consumer, a thread
/// cache refilled from the transfer cache) is on its way by the time the program
/// writes it. xmalloc-test (slab design, tcache:256:grow:array), alternating runs:
/// 43-49 M frees/s one pop ahead with a read prefetch, 49-58 M eight ahead, 53-64 M
/// eight ahead with PREFETCHW, 58-61 M sixteen ahead (mimalloc 56-60 M in the same
/// runs); docs/benchmarks.md. Only while the pops run through a refill's blocks:
/// in random churn (larson: frees and allocations of random classes) a block this
/// many pops down is rarely the one handed out next, and the fetch cost a
/// single-threaded larson 37 against 44 M ops/s (2026-12-05).
inline constexpr std::uint32_t kFrontPrefetchAhead = 16;
/// The least a shrinking limit goes down to: max(min(B, 64), B / 4).
inline constexpr std::uint32_t front_shrink_floor(std::uint32_t bound) {
  const std::uint32_t batch = bound < 64 ? bound : 64;
  return bound / 4 > batch ? bound / 4 : batch;
}

/// Parses a `front` value: "none" -> 0, "tcache:B" -> B (1..65535), "tcache:B:grow" ->
/// B | kFrontGrow, "tcache:B:array" -> B | kFrontArray, "tcache:B:grow:array" -> both.
/// false on anything else.
inline bool parse_front(std::string_view value, std::uint32_t& word) {
  if (value == "none") {
    word = 0;
    return true;
  }
  constexpr std::string_view kPrefix = "tcache:";
  constexpr std::string_view kGrow = ":grow";
  constexpr std::string_view kArray = ":array";
  if (!value.starts_with(kPrefix)) return false;
  value.remove_prefix(kPrefix.size());
  const bool array = value.ends_with(kArray);
  if (array) value.remove_suffix(kArray.size());
  const bool grow = value.ends_with(kGrow);
  if (grow) value.remove_suffix(kGrow.size());
  if (value.empty() || value.size() > 5) return false;
  std::uint32_t v = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  word = v | (grow ? kFrontGrow : 0) | (array ? kFrontArray : 0);
  return true;
}

/// The `front` value of a configuration word, parse_front's inverse: 0 -> "none",
/// else "tcache:B" with ":grow" and ":array" as the word's flags say.
inline std::string front_text(std::uint32_t word) {
  if (front_cap(word) == 0) return "none";
  return "tcache:" + std::to_string(front_cap(word)) + (front_grows(word) ? ":grow" : "") +
         (front_array(word) ? ":array" : "");
}

/// A registry row's state called through its function pointers (evaluation).
struct OpsBack {
  const AllocatorOps* ops = nullptr;
  void* state = nullptr;
  void* allocate(std::size_t n, std::size_t a) { return ops->allocate(state, n, a); }
  void deallocate(void* p) { ops->deallocate(state, p); }
  void* reallocate(void* p, std::size_t n) { return ops->reallocate(state, p, n); }
  std::size_t usable_size(const void* p) const { return ops->usable_size(state, p); }
  std::size_t good_size(std::size_t n) const {
    return ops->good_size != nullptr ? ops->good_size(state, n) : align_up(n == 0 ? 1 : n, 16);
  }
  void stats(AllocStats* out) const { ops->stats(state, out); }
  bool validate(ValidateLevel l, std::string* err) const { return ops->validate(state, l, err); }
  void release() {
    if (state != nullptr) ops->destroy(state);
    state = nullptr;
  }
};

/// A class called directly (the export).
template <class A>
struct TypedBack {
  A* a = nullptr;
  void* allocate(std::size_t n, std::size_t al) { return a->allocate(n, al); }
  void deallocate(void* p) { a->deallocate(p); }
  void* reallocate(void* p, std::size_t n) { return a->reallocate(p, n); }
  std::size_t usable_size(const void* p) const { return a->usable_size(p); }
  std::size_t good_size(std::size_t n) const { return RowAdapter<A>::good_size(a, n); }
  void stats(AllocStats* out) const { a->stats(out); }
  bool validate(ValidateLevel l, std::string* err) const { return a->validate(l, err); }
  void release() {
    delete a;
    a = nullptr;
  }
};

/// The back end of thread model tcache: one Inner back end (OpsBack, TypedBack, or
/// the export's heap; owned elsewhere) shared by every thread's cache, behind one
/// HeapLock (core/heap_lock.hpp). Each cache holds its own SharedBack, so the batch
/// depth is per thread: enter()/leave() hold the lock over a refill or flush, and
/// any other call takes it for itself. usable_size (on every cache's free path)
/// takes no lock when the row declares Traits::concurrent_usable_size. While the
/// process has one thread (__libc_single_threaded) no lock is taken at all: nobody
/// else can hold it, and no thread can start while this one is inside a call.
template <class Inner>
class SharedBack {
 public:
  static constexpr bool kShared = true;
  SharedBack() = default;
  SharedBack(Inner* inner, HeapLock* lock, bool concurrent_usable, TransferCache* transfer = nullptr)
      : inner_(inner), lock_(lock), concurrent_usable_(concurrent_usable), transfer_(transfer) {}

  /// The batches passed between the caches (core/layers/transfer.hpp), or nullptr.
  TransferCache* transfer() const { return transfer_; }

  void enter() const {
    if (depth_++ == 0) take();
  }
  void leave() const {
    if (--depth_ == 0) give();
  }
  void* allocate(std::size_t n, std::size_t a) {
    Hold h(*this);
    return inner_->allocate(n, a);
  }
  void deallocate(void* p) {
    Hold h(*this);
    inner_->deallocate(p);
  }
  void* reallocate(void* p, std::size_t n) {
    Hold h(*this);
    return inner_->reallocate(p, n);
  }
  std::size_t usable_size(const void* p) const {
    if (concurrent_usable_) [[likely]]
      return inner_->usable_size(p);
    return usable_size_locked(p);
  }
  /// usable_size for a back end that needs its lock for it (out of line: the
  /// caches' inlined free path stays free of the lock's code).
  [[gnu::noinline]] std::size_t usable_size_locked(const void* p) const {
    Hold h(*this);
    return inner_->usable_size(p);
  }
  std::size_t good_size(std::size_t n) const {
    Hold h(*this);
    return inner_->good_size(n);
  }
  void stats(AllocStats* out) const {
    Hold h(*this);
    inner_->stats(out);
  }
  bool validate(ValidateLevel l, std::string* err) const {
    Hold h(*this);
    return inner_->validate(l, err);
  }
  void release() {}  // the shared back end is destroyed by its owner

 private:
  struct Hold {
    const SharedBack& b;
    explicit Hold(const SharedBack& x) : b(x) { b.enter(); }
    ~Hold() { b.leave(); }
  };
  void take() const {
    locked_ = __libc_single_threaded == 0;
    if (locked_) lock_->lock();
  }
  void give() const {
    if (locked_) lock_->unlock();
  }
  Inner* inner_ = nullptr;
  HeapLock* lock_ = nullptr;
  bool concurrent_usable_ = false;
  TransferCache* transfer_ = nullptr;
  mutable bool locked_ = false;
  mutable unsigned depth_ = 0;
};

template <class Back>
class FrontCache {
  static constexpr bool kSharedBack = requires { Back::kShared; };

 public:
  /// `word`: parse_front's configuration word (the bound, and kFrontGrow).
  FrontCache(Back back, std::uint32_t word, std::size_t min_align, const Probe* probe)
      : back_(back),
        bound_(front_cap(word)),
        grow_(front_grows(word)),
        array_(front_array(word)),
        min_align_(min_align < 16 ? 16 : min_align),
        probe_(probe) {}
  ~FrontCache() {
    if constexpr (kSharedBack) flush_all();  // the shared back end lives on
    back_.release();                         // else cached blocks go with the back end's memory
    if (slots_ != nullptr) ::munmap(slots_, slots_bytes_);
  }
  FrontCache(const FrontCache&) = delete;
  FrontCache& operator=(const FrontCache&) = delete;

  /// The export's entry (Back = TypedBack<A>): builds the back end A, then the cache
  /// around it. With OpsBack the cache is made by make_ops_front instead.
  static FrontCache* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    if constexpr (requires { Back{}.a; }) {
      std::uint32_t bound = 0;
      const std::string* f = spec.get("front");
      if (f == nullptr || !parse_front(*f, bound) || bound == 0) {
        if (err) *err = "front: the design has no front=tcache:B";
        return nullptr;
      }
      using A = std::remove_pointer_t<decltype(Back{}.a)>;
      A* a = A::create(spec, opt, err);
      if (a == nullptr) return nullptr;
      auto* fc = new (std::nothrow) FrontCache(Back{a}, bound, common_params(spec).min_align, opt.probe);
      if (fc == nullptr) {
        delete a;
        if (err) *err = "front: out of memory";
        return nullptr;
      }
      if (!fc->init(err)) {
        delete fc;
        return nullptr;
      }
      return fc;
    } else {
      (void)spec, (void)opt;
      if (err) *err = "front: a row's cache is made by make_ops_front";
      return nullptr;
    }
  }

  /// Builds the class tables from the back end's rounding. false + *err when the
  /// back end rounds a size down (broken good_size).
  bool init(std::string* err) {
    if (array_ && slots_ == nullptr) {  // (a pooled cache keeps its slots)
      const std::size_t page = 4096;
      slots_bytes_ = (std::size_t{kFrontSteps} * bound_ * sizeof(void*) + page - 1) / page * page;
      void* m = ::mmap(nullptr, slots_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (m == MAP_FAILED) {
        if (err) *err = "front: no memory for the cache's slot arrays (" + std::to_string(slots_bytes_) + " B)";
        slots_bytes_ = 0;
        return false;
      }
      slots_ = static_cast<void**>(m);
    }
    std::memset(lut_, kFrontNone, sizeof lut_);
    std::memset(floor_, kFrontNone, sizeof floor_);
    nclasses_ = 0;
    for (std::uint32_t k = 1; k <= kFrontSteps; ++k) {
      const std::size_t g = back_.good_size(std::size_t{k} * 16);
      if (g < std::size_t{k} * 16) {
        if (err) *err = "front: the back end's good_size(" + std::to_string(k * 16) + ") is smaller than the request";
        return false;
      }
      if (g > kFrontMaxSmall) break;  // the rest are not cached
      if (nclasses_ == 0 || sizes_[nclasses_ - 1] != g) {
        if (nclasses_ != 0 && g < sizes_[nclasses_ - 1]) {
          if (err) *err = "front: the back end's good_size is not monotone";
          return false;
        }
        sizes_[nclasses_] = static_cast<std::uint32_t>(g);
        batch_[nclasses_] = refill_count(g, bound_);
        lists_[nclasses_].limit = static_cast<std::uint16_t>(grow_ && bound_ > kFrontGrowMin ? kFrontGrowMin : bound_);
        lists_[nclasses_].slots = slots_ != nullptr ? slots_ + std::size_t{nclasses_} * bound_ : nullptr;
        ++nclasses_;
      }
      lut_[k] = static_cast<std::uint8_t>(nclasses_ - 1);
    }
    lut_[0] = lut_[1];
    max_cached_ = nclasses_ == 0 ? 0 : sizes_[nclasses_ - 1];
    max_request_ = 0;
    while (max_request_ < kFrontSteps && lut_[max_request_ + 1] != kFrontNone) ++max_request_;
    max_request_ *= 16;
    for (std::uint32_t k = 0; k <= kFrontSteps; ++k) {
      std::uint8_t c = kFrontNone;
      for (std::uint32_t i = 0; i < nclasses_ && sizes_[i] <= k * 16; ++i) c = static_cast<std::uint8_t>(i);
      floor_[k] = c;
    }
    return true;
  }

  // ---- the allocator contract ----
  void* allocate(std::size_t n, std::size_t a) {
    if (n - 1 < max_request_ && a <= min_align_) [[likely]] {  // 1 <= n <= max_request_
      if (void* p = try_allocate(n)) [[likely]]
        return p;
      return refill(lut_[(n + 15) >> 4]);
    }
    void* p = back_.allocate(n, a);
    if (p != nullptr) ++allocs_;
    return p;
  }

  /// The fast path alone (inlined into the exported malloc, which stays a leaf: no
  /// call, no stack frame): a cached block for a request of n bytes at the default
  /// alignment, or nullptr when n is not a cached size or its class is empty
  /// (allocate does the rest: a refill, or the back end).
  [[gnu::always_inline]] void* try_allocate(std::size_t n) {
    if (n - 1 >= max_request_) return nullptr;        // 0, or past the cached sizes
    if (n > kFrontMaxSmall) __builtin_unreachable();  // max_request_ <= kFrontMaxSmall
    const std::uint8_t* e = &lut_[(n + 15) >> 4];
    touch(probe_, e, 1);
    List& l = lists_[*e];
    touch(probe_, &l, sizeof l);
    if (array_) {
      if (l.count == 0) [[unlikely]]
        return nullptr;
      void** s = &l.slots[--l.count];
      touch(probe_, s, sizeof(void*));
      // On their way for the program's first write: the block the next pop returns
      // unless a free of the class comes first (the new top; a block this thread
      // freed was prefetched then), and, while the pops run through a refill's
      // blocks (cold: last written by another thread, or never), the one
      // kFrontPrefetchAhead pops from now.
      const std::uint32_t c = l.count;
      if (c < l.cold) {
        l.cold = c;
        prefetch_for_write(l.slots[c > kFrontPrefetchAhead ? c - kFrontPrefetchAhead : 0]);
      }
      prefetch_for_write(l.slots[c != 0 ? c - 1 : 0]);
      ++allocs_;
      return *s;
    }
    void* b = l.head;
    if (b == nullptr) [[unlikely]]
      return nullptr;
    touch(probe_, b, sizeof(void*));
    void* next = *static_cast<void**>(b);
    l.head = next;
    prefetch_for_write(next);  // the next allocation reads its link, the program writes it
    --l.count;
    ++allocs_;
    return b;
  }

  void deallocate(void* p) {
    if (p == nullptr) return;
    deallocate_block(p);
  }

  /// deallocate of a block (p not null), inlined into the exported free: a push
  /// when p's class has room, else a call to deallocate_rest (out of line, so the
  /// push saves no registers).
  [[gnu::always_inline]] void deallocate_block(void* p) {
    const std::uint8_t c = class_of(back_.usable_size(p));
    if (c != kFrontNone) [[likely]] {
      List& l = lists_[c];
      touch(probe_, &l, sizeof l);
      if (l.count < l.limit) [[likely]] {
        push(l, p);
        ++frees_;
        return;
      }
    }
    deallocate_rest(p, c);
  }

  /// What deallocate_block leaves: a block of no cached class (c == kFrontNone: to
  /// the back end), and a full class: an array is flushed first (the stack never
  /// holds more than its limit), a list takes p and then flushes (from limit + 1).
  [[gnu::noinline]] void deallocate_rest(void* p, std::uint8_t c) {
    ++frees_;
    if (c == kFrontNone) {
      back_.deallocate(p);
      return;
    }
    List& l = lists_[c];
    if (array_) {
      flush(l);
      push(l, p);
      return;
    }
    push(l, p);
    flush(l);
  }

  void* reallocate(void* p, std::size_t n) {
    if (p == nullptr) return allocate(n, 16);
    if (n == 0) {
      deallocate(p);
      return nullptr;
    }
    const std::size_t u = back_.usable_size(p);
    if (class_of(u) == kFrontNone) return back_.reallocate(p, n);
    if (n <= u && n >= u / 2) return p;
    void* q = allocate(n, 16);
    if (q == nullptr) return nullptr;
    std::memcpy(q, p, u < n ? u : n);
    deallocate(p);
    return q;
  }

  std::size_t usable_size(const void* p) const { return back_.usable_size(p); }
  std::size_t good_size(std::size_t n) const { return back_.good_size(n); }

  void stats(AllocStats* out) const {
    back_.stats(out);
    out->allocs = allocs_;
    out->frees = frees_;
    const std::uint64_t slots = slots_resident();
    out->footprint += slots;
    out->peak_footprint += slots;
  }

  /// Bytes of the slot arrays resident now (array storage; 0 for lists). Pages of
  /// slots stay resident once touched, so this is also their peak.
  std::uint64_t slots_resident() const { return slots_ == nullptr ? 0 : resident_bytes(slots_, slots_bytes_); }

  bool validate(ValidateLevel level, std::string* err) const {
    if (allocs_ < frees_) return fail(err, "front: more frees than allocations");
    if (level == ValidateLevel::Full) {
      for (std::uint32_t c = 0; c < nclasses_; ++c) {
        if (array_) {
          if (lists_[c].count > lists_[c].limit) return fail(err, "front: a class stack holds more than its limit");
          if (lists_[c].cold > lists_[c].count) return fail(err, "front: a class stack's refill mark is past its top");
          if (lists_[c].limit > bound_) return fail(err, "front: a class stack's limit is past the bound");
          for (std::uint32_t i = 0; i < lists_[c].count; ++i) {
            const void* b = lists_[c].slots[i];
            if (reinterpret_cast<std::uintptr_t>(b) % min_align_ != 0) return fail(err, "front: misaligned cached block");
            if (back_.usable_size(b) < sizes_[c]) return fail(err, "front: a cached block is smaller than its class");
          }
          continue;
        }
        std::uint32_t n = 0;
        for (void* b = lists_[c].head; b != nullptr; b = *static_cast<void**>(b)) {
          if (++n > lists_[c].count) return fail(err, "front: a class list is longer than its count (cycle?)");
          if (reinterpret_cast<std::uintptr_t>(b) % min_align_ != 0) return fail(err, "front: misaligned cached block");
          if (back_.usable_size(b) < sizes_[c]) return fail(err, "front: a cached block is smaller than its class");
        }
        if (n != lists_[c].count) return fail(err, "front: a class list is shorter than its count");
        if (n > lists_[c].limit) return fail(err, "front: a class list holds more than its limit");
        if (lists_[c].limit > bound_) return fail(err, "front: a class list's limit is past the bound");
      }
    }
    return back_.validate(level, err);
  }

  /// Gives every cached block back to the back end, in one batch (thread model
  /// tcache: a thread's cache when the thread exits).
  void flush_all() {
    Batch g(back_);
    for (std::uint32_t c = 0; c < nclasses_; ++c) {
      List& l = lists_[c];
      if (array_) {
        for (std::uint32_t i = 0; i < l.count; ++i) back_.deallocate(l.slots[i]);
        l.count = 0;
        l.cold = 0;
        continue;
      }
      for (void* b = l.head; b != nullptr;) {
        void* next = *static_cast<void**>(b);
        back_.deallocate(b);
        b = next;
      }
      l.head = nullptr;
      l.count = 0;
    }
  }

  /// The program's calls served so far (thread model tcache sums them over the caches).
  std::uint64_t allocs() const { return allocs_; }
  std::uint64_t frees() const { return frees_; }

  /// Forgets the back end without destroying it (make_ops_front's failure path).
  void detach() { back_ = Back{}; }

  // For tests.
  std::uint32_t classes() const { return nclasses_; }
  std::uint32_t class_size(std::uint32_t c) const { return sizes_[c]; }
  std::uint32_t cached(std::uint32_t c) const { return lists_[c].count; }
  std::uint32_t bound() const { return bound_; }
  bool grows() const { return grow_; }
  bool arrays() const { return array_; }
  std::uint32_t limit(std::uint32_t c) const { return lists_[c].limit; }

 private:
  /// Holds a shared back end's lock over a batch of calls (no-op for a private one).
  struct Batch {
    Back& b;
    explicit Batch(Back& x) : b(x) {
      if constexpr (kSharedBack) b.enter();
    }
    ~Batch() {
      if constexpr (kSharedBack) b.leave();
    }
  };

  struct List {
    void* head = nullptr;    // list storage: the first free block
    void** slots = nullptr;  // array storage: the stack, slots[0, count)
    std::uint32_t count = 0;
    std::uint16_t limit = 0;      // the bound, or the adaptive limit (grow)
    std::uint16_t overflows = 0;  // flushes since the list last ran empty (grow)
    std::uint32_t cold = 0;       // array storage: slots[0, cold) hold a refill's blocks, not yet popped
    std::uint8_t last = kNoBatch;  // the list's last transfer batch: kRefilled or kFlushed
  };
  static constexpr std::uint8_t kNoBatch = 0, kRefilled = 1, kFlushed = 2;

  /// Blocks taken from the back end per refill: half the limit, at most 8 KiB worth.
  std::uint32_t refill_count(std::size_t size, std::uint32_t limit) const {
    std::size_t n = (limit + 1) / 2;
    const std::size_t cap = 8192 / size;
    if (n > cap) n = cap;
    return static_cast<std::uint32_t>(n == 0 ? 1 : n);
  }

  /// Blocks a refill takes from the transfer cache (thread model tcache): up to the
  /// limit, at most kFrontTransferBatch; a flush to it gives at least as many, so that one refill's
  /// worth crosses under one lock hold each way (a small bound would otherwise
  /// flush half a refill's worth at a time).
  static std::uint32_t transfer_batch(const List& l) {
    return l.limit > kFrontTransferBatch ? kFrontTransferBatch : l.limit;
  }

  /// The blocks a refill of l takes from the transfer cache, and the blocks a flush
  /// of l gives it when n must leave (count - limit / 2); each records its direction
  /// in l.last. A class the thread moves one way only (a producer's refills, a
  /// consumer's flushes) passes whole transfer batches, a refill's worth each. A
  /// class whose last batch went the other way is churning (it allocates and frees
  /// alike: larson's random sizes): a whole batch would leave its list at the other
  /// end, full after a refill, empty after a flush, and the next few calls would send
  /// it back; so it moves half the limit, and the list lands half full. (The seed-1
  /// pick of configs/threaded.yaml, front=tcache:64:array, spent 5% of larson's
  /// samples refilling and flushing whole 64-block stacks; docs/benchmarks.md,
  /// session 28.)
  static std::uint32_t refill_transfer_batch(List& l) {
    const bool churn = l.last == kFlushed;
    l.last = kRefilled;
    const std::uint32_t tb = transfer_batch(l), half = l.limit / 2u;
    return churn && half != 0 && half < tb ? half : tb;
  }
  /// (Without a transfer cache a flush gives the back end n.)
  std::uint32_t flush_batch(List& l, std::uint32_t n) {
    if constexpr (kSharedBack) {
      if (back_.transfer() == nullptr) return n;
      const bool churn = l.last == kRefilled;
      l.last = kFlushed;
      const std::uint32_t tb = transfer_batch(l);
      return churn || n >= tb ? n : tb;
    } else {
      (void)l;
      return n;
    }
  }

  /// grow: an empty list doubles its limit (up to the bound) before its refill.
  void on_empty(List& l) {
    if (!grow_) return;
    const std::uint32_t twice = 2u * l.limit;
    l.limit = static_cast<std::uint16_t>(twice < bound_ ? twice : bound_);
    l.overflows = 0;  // in demand: the overflows before this do not count
  }
  /// grow: a list under the shrink floor that overflows doubles its limit (up to
  /// the floor); above it, a list that keeps overflowing halves it (down to the floor).
  void on_overflow(List& l) {
    if (!grow_) return;
    const std::uint32_t floor = front_shrink_floor(bound_);
    if (l.limit < floor) {
      l.limit = static_cast<std::uint16_t>(2u * l.limit < floor ? 2u * l.limit : floor);
      return;
    }
    if (l.limit == floor || ++l.overflows <= 3) return;
    l.limit = static_cast<std::uint16_t>(l.limit / 2 < floor ? floor : l.limit / 2);
    l.overflows = 0;
  }

  /// Caches p on top of l: an array's stack has room (the caller made it); a list
  /// may go one past its limit, and its caller flushes then.
  [[gnu::always_inline]] void push(List& l, void* p) {
    if (array_) {
      touch(probe_, &l.slots[l.count], sizeof(void*));
      // Nothing here touches the block: it is as cold as the program left it (a
      // random victim, or last written on another core). On its way now, it is in
      // this core's cache when a pop of its class hands it out. (Measured without
      // it, front=tcache:64:array, 2026-12-07: larson's throughput 0.81x, median of
      // 30 paired rounds, 23 of 30 slower; xmalloc-test, whose consumer frees what
      // another core will write, 1.02x: the prefetch pays where the freeing thread
      // reuses its blocks.)
      prefetch_for_write(p);
      l.slots[l.count++] = p;
      return;
    }
    touch(probe_, p, sizeof(void*));
    *static_cast<void**>(p) = l.head;
    l.head = p;
    ++l.count;
  }

  /// The class a free block of usable size u is cached in, or kFrontNone.
  std::uint8_t class_of(std::size_t u) const {
    if (u > max_cached_ || u < 16) return kFrontNone;
    const std::uint8_t* e = &floor_[u >> 4];
    touch(probe_, e, 1);
    return *e;
  }

  [[gnu::noinline]] void* refill(std::uint8_t c) {
    on_empty(lists_[c]);
    if (array_) return refill_array(c);
    if constexpr (kSharedBack) {
      if (TransferCache* t = back_.transfer()) {  // blocks another thread's flush left
        void* got[kFrontTransferBatch];
        const std::uint32_t n = t->take(c, got, refill_transfer_batch(lists_[c]), sizes_[c]);
        if (n > 0) {
          List& l = lists_[c];  // empty: the blocks become the list, got[1] first
          for (std::uint32_t i = 1; i + 1 < n; ++i) *static_cast<void**>(got[i]) = got[i + 1];
          if (n > 1) *static_cast<void**>(got[n - 1]) = nullptr;
          l.head = n > 1 ? got[1] : nullptr;
          l.count = n - 1;
          ++allocs_;
          return got[0];
        }
      }
    }
    // Take the batch, then push it in reverse so the list hands blocks out in the
    // order the back end produced them (address order for bump allocation).
    void* got[64];
    std::uint32_t n = 0;
    void* first = back_batch(c, got, &n);
    if (first == nullptr) return nullptr;
    List& l = lists_[c];
    while (n > 0) {
      void* b = got[--n];
      touch(probe_, b, sizeof(void*));
      *static_cast<void**>(b) = l.head;
      l.head = b;
      ++l.count;
    }
    return first;
  }

  /// A refill's batch of class c from the back end, under one hold of its lock: the
  /// first block (returned; nullptr when the back end has none) and up to 63 more in
  /// got[0, *n), in the order the back end produced them.
  void* back_batch(std::uint8_t c, void** got, std::uint32_t* n) {
    Batch g(back_);
    const std::size_t size = sizes_[c];
    void* first = back_.allocate(size, 16);
    if (first == nullptr) return nullptr;
    ++allocs_;
    const std::uint32_t batch = grow_ ? refill_count(size, lists_[c].limit) : batch_[c];
    const std::uint32_t want = batch > 64 ? 64 : batch;
    while (*n + 1 < want) {
      void* b = back_.allocate(size, 16);
      if (b == nullptr) break;
      got[(*n)++] = b;
    }
    return first;
  }

  /// refill for array storage: the transfer cache's pointers go straight into the
  /// stack; else one batch from the back end, stacked so that the blocks come off it
  /// in the order the back end produced them.
  void* refill_array(std::uint8_t c) {
    List& l = lists_[c];
    if constexpr (kSharedBack) {
      if (TransferCache* t = back_.transfer()) {
        const std::uint32_t n = t->take(c, l.slots, refill_transfer_batch(l), sizes_[c]);
        if (n > 0) {
          // The blocks handed out before the pops' own prefetches reach them.
          for (std::uint32_t i = n > kFrontPrefetchAhead ? n - kFrontPrefetchAhead : 0; i + 1 < n; ++i)
            prefetch_for_write(l.slots[i]);
          l.count = n - 1;
          l.cold = n - 1;
          ++allocs_;
          return l.slots[n - 1];
        }
      }
    }
    void* got[64];
    std::uint32_t n = 0;
    void* first = back_batch(c, got, &n);
    if (first == nullptr) return nullptr;
    for (std::uint32_t i = 0; i < n; ++i) l.slots[i] = got[n - 1 - i];
    if (n != 0) touch(probe_, l.slots, n * sizeof(void*));
    l.count = n;
    l.cold = n;
    return first;
  }

  /// flush for array storage (called with a full stack, before a push): gives back
  /// the bottom of the stack, the blocks freed longest ago, and moves the rest down.
  void flush_array(List& l) {
    std::uint32_t n = l.count - l.limit / 2u;
    const std::uint32_t tb = flush_batch(l, n);  // from the limit the stack overflowed
    on_overflow(l);
    // The push that follows must fit the new limit too: when on_overflow halved it,
    // keeping half the old one would leave the stack one past it.
    if (l.count - n + 1 > l.limit) n = l.count + 1 - l.limit;
    std::uint32_t m = n;
    bool done = false;
    if constexpr (kSharedBack) {
      if (TransferCache* t = back_.transfer()) {
        const auto c = static_cast<std::uint32_t>(&l - lists_);
        m = n < tb ? tb : n;  // <= count: the stack is full (count = the old limit >= tb)
        done = t->put_array(c, l.slots, m, sizes_[c]);
      }
    }
    if (!done) {
      m = n;
      Batch g(back_);
      for (std::uint32_t i = 0; i < m; ++i) back_.deallocate(l.slots[i]);
    }
    l.count -= m;
    l.cold = l.cold > m ? l.cold - m : 0;
    std::memmove(l.slots, l.slots + m, l.count * sizeof(void*));
    touch(probe_, l.slots, (l.count + m) * sizeof(void*));
  }

  /// Gives half the list back to the back end, from the head: the blocks the
  /// program freed last, still in the cache (walking to the cold half would miss
  /// on every block; the older half stays listed for the next allocations).
  [[gnu::noinline]] void flush(List& l) {
    if (array_) return flush_array(l);
    std::uint32_t n = l.count - l.limit / 2u;
    const std::uint32_t tb = flush_batch(l, n);  // both from the limit the list overflowed
    on_overflow(l);                              // the new limit applies from the next push on
    if constexpr (kSharedBack) {
      if (TransferCache* t = back_.transfer()) {  // for another thread's refill
        const auto c = static_cast<std::uint32_t>(&l - lists_);
        const std::uint32_t m = n < tb ? tb : n;  // <= count = the overflowed limit + 1
        if (t->put(c, l.head, m, sizes_[c])) {
          l.count -= m;
          return;
        }
      }
    }
    Batch g(back_);
    l.count -= n;
    void* b = l.head;
    while (n-- > 0) {
      touch(probe_, b, sizeof(void*));
      void* next = *static_cast<void**>(b);
      back_.deallocate(b);
      b = next;
    }
    l.head = b;
  }

  Back back_;
  std::uint32_t bound_;
  bool grow_;
  bool array_;
  std::size_t min_align_;
  const Probe* probe_;
  std::size_t max_cached_ = 0;   // largest class size (frees of blocks up to it are cached)
  std::size_t max_request_ = 0;  // largest request served by the cache (16 * last table step)
  std::uint32_t nclasses_ = 0;
  std::uint64_t allocs_ = 0, frees_ = 0;
  std::uint8_t lut_[kFrontSteps + 1];    // ceil(n/16) -> class
  std::uint8_t floor_[kFrontSteps + 1];  // floor(u/16) -> largest class <= 16*floor(u/16)
  std::uint32_t sizes_[kFrontSteps];
  std::uint32_t batch_[kFrontSteps];
  List lists_[kFrontSteps];
  void** slots_ = nullptr;  // array storage: kFrontSteps * bound_ slots (mmap), class c's at c * bound_
  std::size_t slots_bytes_ = 0;
};

/// The cache around a row's state, called through the row's function pointers.
using OpsFront = FrontCache<OpsBack>;

/// OpsFront lives on pages of its own (page-aligned storage from the process heap,
/// whole pages): its list heads and tables are probed metadata, and the cache model
/// renames pages but keeps offsets within a page, so a heap-placed object would give
/// modeled misses that depend on what the process allocated before (not
/// reproducible); and its lists are written on every call, so a heap neighbour
/// written by another thread (evolve evaluates designs in parallel) would slow the
/// measured speed by false sharing. Unprobed builds (the export) need no more than
/// cache lines of their own.
#ifdef EVOALLOC_NO_PROBE
inline constexpr std::size_t kOpsFrontAlign = 64;
#else
inline constexpr std::size_t kOpsFrontAlign = 4096;
#endif

inline constexpr std::size_t kOpsFrontBytes = (sizeof(OpsFront) + kOpsFrontAlign - 1) / kOpsFrontAlign * kOpsFrontAlign;

inline void destroy_ops_front(void* s) {
  auto* fc = static_cast<OpsFront*>(s);
  fc->~OpsFront();
  ::operator delete(fc, kOpsFrontBytes, std::align_val_t{kOpsFrontAlign});
}

/// The function-pointer row of OpsFront.
inline AllocatorOps ops_front_row_ops() {
  using R = RowAdapter<OpsFront>;
  return AllocatorOps{&R::allocate, &R::deallocate, &R::reallocate, &R::usable_size,
                      &R::stats,    &R::validate,   &destroy_ops_front, &R::good_size};
}

/// A cache of bound B around (ops, state); nullptr + *err on failure (the inner
/// state then stays the caller's).
inline OpsFront* make_ops_front(const AllocatorOps* ops, void* state, std::uint32_t bound, std::size_t min_align,
                                const Probe* probe, std::string* err) {
  void* mem = ::operator new(kOpsFrontBytes, std::align_val_t{kOpsFrontAlign}, std::nothrow);
  if (mem == nullptr) {
    if (err) *err = "front: out of memory";
    return nullptr;
  }
  auto* fc = new (mem) OpsFront(OpsBack{ops, state}, bound, min_align, probe);
  if (!fc->init(err)) {
    fc->detach();
    destroy_ops_front(fc);
    return nullptr;
  }
  return fc;
}

/// Thread model tcache: what runs in every thread and what is shared. The design's
/// front=tcache:B cache runs per thread (bound B, the design's alignment) over one
/// shared instance of `back`: the same design with front=none and no threads key.
struct ThreadCacheSplit {
  AllocatorSpec back;
  std::uint32_t bound = 0;  ///< the front word (parse_front: B, and kFrontGrow)
  std::size_t min_align = 16;
};
/// false + *err when the design has no front cache to run per thread, or has
/// harden=checked (the caches sit above the hardening layer, which would not see a
/// double free of a cached block; harden=canary still checks every block that
/// leaves a cache).
bool split_thread_cache(const AllocatorSpec& spec, ThreadCacheSplit* out, std::string* err);

/// Instance::create's step for front=tcache:B: replaces (row, state) by a wrapper
/// row whose state is a FrontCache<OpsBack> owning the inner (row, state).
/// "none" leaves them untouched. false + *err (row and state untouched) on failure.
bool wrap_front(std::string_view value, const RegistryRow*& row, void*& state, std::string* err,
                std::size_t min_align = 16, const Probe* probe = nullptr);

}  // namespace evo
