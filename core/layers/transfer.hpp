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
// class of the front cache, a stack of up to kCap block pointers (at most kMaxBytes
// of blocks). A flush whose class has room copies its batch's pointers here (the
// walk of its own list, whose blocks it has just freed: hot in its cache) and
// keeps the rest of its list; a refill whose class holds blocks takes up to its
// batch of pointers and links them into its list itself. That linking is a run of
// independent stores, which the CPU overlaps, where popping a list another core
// built would be a chain of dependent loads, each a cross-core miss. Only when the
// class is full does a flush go to the shared instance, and only when it is empty
// does a refill. This is the shape of tcmalloc's transfer cache (Ghemawat and
// Menage, "TCMalloc: Thread-Caching Malloc"), here over any back end of the
// grammar.
//
// Each class has its own HeapLock (core/heap_lock.hpp), held for one batch's copy;
// a relaxed look at the count first skips the lock when the class has nothing to
// give (take) or no room (put). Blocks held here are live to the shared instance
// (they count in its footprint, as blocks in the thread caches do); drain() gives
// them all back to it (the threaded replay at its end). Fork: lock_all/unlock_all
// around it, reset_locks in the child. The object is 64 classes x 128 KiB of
// address space, left uninitialised (static storage in the export, heap storage in
// the replay): only the pointer slots ever used are touched.
//
// The threaded replay (evaluate/replay_threaded.cpp) and the exported library
// (export/shim.cpp) use this same type through SharedBack, so the replay pays what
// ships.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/heap_lock.hpp"

namespace evo {

class TransferCache {
 public:
  static constexpr std::uint32_t kClasses = 64;                     ///< the front cache's most classes (kFrontSteps)
  static constexpr std::uint32_t kCap = 16384;                      ///< blocks held per class
  static constexpr std::size_t kMaxBytes = std::size_t{1} << 20;    ///< block bytes held per class

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
    std::memcpy(out, &k.ptr[have - m], m * sizeof(void*));
    k.bytes -= std::size_t{m} * size;
    k.n.store(have - m, std::memory_order_relaxed);
    k.lock.unlock();
    return m;
  }

  /// Calls free_one(p) for every block held, emptying the cache (the caller makes
  /// sure no put or take runs beside it).
  template <typename F>
  std::uint64_t drain(F&& free_one) {
    std::uint64_t total = 0;
    for (Class& k : classes_) {
      const std::uint32_t cnt = k.n.load(std::memory_order_relaxed);
      for (std::uint32_t i = 0; i < cnt; ++i) free_one(k.ptr[i]);
      total += cnt;
      k.n.store(0, std::memory_order_relaxed);
      k.bytes = 0;
    }
    return total;
  }

  /// Blocks held now (a snapshot; for tests and statistics).
  std::uint64_t held() const noexcept {
    std::uint64_t total = 0;
    for (const Class& k : classes_) total += k.n.load(std::memory_order_relaxed);
    return total;
  }

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
    k.lock.lock();
    const std::uint32_t at = k.n.load(std::memory_order_relaxed);
    if (at + n > kCap || k.bytes + bytes > kMaxBytes) {
      k.lock.unlock();
      return false;
    }
    fill(&k.ptr[at]);
    k.bytes += bytes;
    k.n.store(at + n, std::memory_order_relaxed);
    k.lock.unlock();
    return true;
  }

  struct alignas(64) Class {
    HeapLock lock;
    std::atomic<std::uint32_t> n{0};  // blocks held: ptr[0, n)
    std::size_t bytes = 0;
    alignas(64) void* ptr[kCap];  // left uninitialised: only what is used is ever touched
  };
  Class classes_[kClasses];
};

}  // namespace evo
