// core/layers/transfer.hpp — TransferCache: whole batches of free blocks passed
// between the thread caches of thread model tcache, without the shared heap.
//
// Under threads=tcache every thread runs the design's front=tcache:B cache over one
// shared instance (core/layers/front.hpp). A thread that frees more blocks of a
// class than it allocates (the consumer of a producer/consumer pair) overflows its
// list; a thread that allocates more than it frees empties its list. Without this
// cache both go to the shared instance block by block under its lock: the consumer
// frees B/2 blocks into the heap (touching each block's heap metadata) and the
// producer takes B/2 blocks back out of it, so every block crosses the heap twice
// and the two threads fight over its lock.
//
// The transfer cache sits between the caches and the shared instance: per size
// class of the front cache, a stack of up to kCap block pointers, and at most
// kMaxBytes of blocks in all classes together. A flush whose class has room copies
// its batch's pointers here (the walk of its own list, whose blocks it has just
// freed: hot in its cache) and keeps the rest of its list; a refill whose class
// holds blocks takes up to its batch of pointers and links them into its list
// itself. That linking is a run of independent stores, which the CPU overlaps,
// where popping a list another core built would be a chain of dependent loads, each
// a cross-core miss. Only when the cache is full does a flush go to the shared
// instance, and only when the class is empty does a refill. This is the shape of
// tcmalloc's transfer cache (Ghemawat and Menage, "TCMalloc: Thread-Caching
// Malloc"), here over any back end of the grammar.
//
// Why 16 MiB: a producer/consumer program's traffic comes in bursts as long as the
// scheduler's time slice (while only the consumers run they free, while only the
// producers run they allocate). Whatever a burst moves beyond the budget crosses the
// shared instance block by block under its lock, and that is where back ends differ
// most. On mimalloc-bench's xmalloc-test (-w 2 -t 2 -s 64, 2 cores, 2026-12-05) a
// superblock design ran 50 M frees/s with 1 MiB per class, 57 with 4 MiB and 65 with
// 16 MiB (a slab design and mimalloc 65-68 in the same runs); docs/benchmarks.md.
// Blocks held here stay resident, so the budget is a bound on the memory this cache
// can keep from the other classes; it is one budget for all classes, not one each.
//
// Each class has its own HeapLock (core/heap_lock.hpp), held for one batch's copy;
// a relaxed look at the count first skips the lock when the class has nothing to
// give (take) or no room (put); the byte budget is one atomic counter, changed once
// a batch. Blocks held here are live to the shared instance (they count in its
// footprint, as blocks in the thread caches do); drain() gives them all back to it
// (the threaded replay at its end). Fork: lock_all/unlock_all around it,
// reset_locks in the child. The object itself is small and zero-initialised (static
// storage in the export, where a malloc may come before any constructor); the
// pointer slots (kClasses x kCap, 128 MiB of address space) are reserved by the
// first put, MAP_NORESERVE, so only the pages of slots ever used are committed
// (resident() counts them). The export never gives the reservation back (frees may
// come after exit handlers); an owner on the heap does (release_storage, Owner).
//
// The threaded replay (evaluate/replay_threaded.cpp) and the exported library
// (export/shim.cpp) use this same type through SharedBack, so the replay pays what
// ships.
#pragma once

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "core/heap_lock.hpp"
#include "core/source/resident.hpp"

namespace evo {

class TransferCache {
 public:
  static constexpr std::uint32_t kClasses = 64;                     ///< the front cache's most classes (kFrontSteps)
  static constexpr std::uint32_t kCap = 262144;                     ///< blocks held per class
  static constexpr std::size_t kMaxBytes = std::size_t{16} << 20;   ///< block bytes held, all classes together
  static constexpr std::size_t kStorageBytes = std::size_t{kClasses} * kCap * sizeof(void*);

  /// Offers the first n blocks of the list at `head` (linked through their first
  /// words), each of `size` bytes, of class c. true: the cache holds them now and
  /// `head` is advanced past them (the rest of the list); false (no room, or c out
  /// of range): nothing changed.
  bool put(std::uint32_t c, void*& head, std::uint32_t n, std::size_t size) noexcept {
    return put_with(c, n, size, [&head, n](void** to) {
      void* b = head;
      for (std::uint32_t i = 0; i < n; ++i) {  // the caller's own blocks, just freed: hot in its cache
        to[i] = b;
        b = *static_cast<void**>(b);
      }
      head = b;
    });
  }

  /// The same for a cache that keeps its blocks in an array (front=...:array): the
  /// n pointers at ptrs[0, n). true: the cache holds them now; false: nothing changed.
  bool put_array(std::uint32_t c, void* const* ptrs, std::uint32_t n, std::size_t size) noexcept {
    return put_with(c, n, size, [ptrs, n](void** to) { std::memcpy(to, ptrs, n * sizeof(void*)); });
  }

  /// Takes up to `max` blocks of class c (each of `size` bytes) into out[]; returns
  /// how many (0 when the class holds none).
  std::uint32_t take(std::uint32_t c, void** out, std::uint32_t max, std::size_t size) noexcept {
    if (c >= kClasses) return 0;
    Class& k = classes_[c];
    if (k.n.load(std::memory_order_relaxed) == 0) return 0;
    k.lock.lock();
    const std::uint32_t have = k.n.load(std::memory_order_relaxed);
    const std::uint32_t m = have < max ? have : max;
    std::memcpy(out, slots(c) + (have - m), m * sizeof(void*));  // have > 0: the storage exists
    k.n.store(have - m, std::memory_order_relaxed);
    k.lock.unlock();
    bytes_.fetch_sub(std::size_t{m} * size, std::memory_order_relaxed);
    return m;
  }

  /// Calls free_one(p) for every block held, emptying the cache (the caller makes
  /// sure no put or take runs beside it).
  template <typename F>
  std::uint64_t drain(F&& free_one) {
    std::uint64_t total = 0;
    for (std::uint32_t c = 0; c < kClasses; ++c) {
      Class& k = classes_[c];
      const std::uint32_t cnt = k.n.load(std::memory_order_relaxed);
      for (std::uint32_t i = 0; i < cnt; ++i) free_one(slots(c)[i]);
      total += cnt;
      k.n.store(0, std::memory_order_relaxed);
    }
    bytes_.store(0, std::memory_order_relaxed);
    return total;
  }

  /// Blocks held now (a snapshot; for tests and statistics).
  std::uint64_t held() const noexcept {
    std::uint64_t total = 0;
    for (const Class& k : classes_) total += k.n.load(std::memory_order_relaxed);
    return total;
  }

  /// Bytes of blocks held now (a snapshot).
  std::size_t held_bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }

  /// Bytes of the slot storage resident now (pages of pointer slots ever used; 0
  /// before the first put). They stay resident once touched, so this is also the peak.
  std::uint64_t resident() const noexcept {
    void** base = storage_.load(std::memory_order_acquire);
    return base == nullptr || base == kNoStorage() ? 0 : resident_bytes(base, kStorageBytes);
  }

  /// Unmaps the slot storage (the cache must be empty and unused from now on): for an
  /// owner that destroys the cache; the export never calls it.
  void release_storage() noexcept {
    void** base = storage_.exchange(nullptr, std::memory_order_acq_rel);
    if (base != nullptr && base != kNoStorage()) ::munmap(base, kStorageBytes);
  }

  /// Deletes a heap-allocated cache after releasing its storage (TransferCache::Owned).
  struct Delete {
    void operator()(TransferCache* t) const noexcept {
      t->release_storage();
      delete t;
    }
  };
  using Owned = std::unique_ptr<TransferCache, Delete>;

  /// Fork: the parent's prepare handler takes every class lock (so no batch is
  /// half-moved in the child) and releases them after; the child resets them.
  void lock_all() noexcept {
    for (Class& k : classes_) k.lock.lock();
  }
  void unlock_all() noexcept {
    for (Class& k : classes_) k.lock.unlock();
  }
  void reset_locks() noexcept {
    for (Class& k : classes_) k.lock.reset();
  }

 private:
  /// put's and put_array's common part: room for n blocks of `size` bytes in class c,
  /// then fill(slots) writes their n pointers there, under the class's lock.
  template <typename Fill>
  bool put_with(std::uint32_t c, std::uint32_t n, std::size_t size, Fill&& fill) noexcept {
    if (c >= kClasses || n == 0) return false;
    Class& k = classes_[c];
    const std::size_t bytes = std::size_t{n} * size;
    if (k.n.load(std::memory_order_relaxed) + n > kCap) return false;
    void** base = storage();
    if (base == nullptr) return false;
    // The budget: claimed before the class lock, given back when the class is full.
    if (bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes > kMaxBytes) {
      bytes_.fetch_sub(bytes, std::memory_order_relaxed);
      return false;
    }
    k.lock.lock();
    const std::uint32_t at = k.n.load(std::memory_order_relaxed);
    if (at + n > kCap) {
      k.lock.unlock();
      bytes_.fetch_sub(bytes, std::memory_order_relaxed);
      return false;
    }
    fill(base + std::size_t{c} * kCap + at);
    k.n.store(at + n, std::memory_order_relaxed);
    k.lock.unlock();
    return true;
  }

  /// Marks a reservation that failed (no put tries again: every put falls through).
  static void** kNoStorage() noexcept { return reinterpret_cast<void**>(alignof(void*)); }

  /// The slot storage, reserved by the first caller (a racing second one unmaps its
  /// own); nullptr when it cannot be had.
  void** storage() noexcept {
    void** base = storage_.load(std::memory_order_acquire);
    if (base != nullptr) [[likely]]
      return base == kNoStorage() ? nullptr : base;
    void* m = ::mmap(nullptr, kStorageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    void** mine = m == MAP_FAILED ? kNoStorage() : static_cast<void**>(m);
    if (!storage_.compare_exchange_strong(base, mine, std::memory_order_acq_rel)) {
      if (mine != kNoStorage()) ::munmap(mine, kStorageBytes);
      return base == kNoStorage() ? nullptr : base;
    }
    return mine == kNoStorage() ? nullptr : mine;
  }
  /// Class c's slots (the storage exists: the class holds blocks).
  void** slots(std::uint32_t c) const noexcept {
    return storage_.load(std::memory_order_acquire) + std::size_t{c} * kCap;
  }

  struct alignas(64) Class {
    HeapLock lock;
    std::atomic<std::uint32_t> n{0};  // blocks held: slots(c)[0, n)
  };
  Class classes_[kClasses];
  alignas(64) std::atomic<std::size_t> bytes_{0};  // block bytes held, all classes
  std::atomic<void**> storage_{nullptr};           // kClasses x kCap slots, or kNoStorage()
};

}  // namespace evo
