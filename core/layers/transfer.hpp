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
// class of the front cache, a small stack of batches, each batch the linked list of
// blocks a cache gave up (threaded through the blocks' first words, as in the
// caches' own lists, terminated by nullptr) with its length. A flush puts its batch
// here in O(1) (no block touched beyond the list walk the cache does anyway), and a
// refill whose class has a batch takes it in O(1) and makes it its list. Only when
// the class's stack is full (kSlots batches, or kMaxBytes of blocks) does a flush
// go to the shared instance, and only when it is empty does a refill. This is the
// shape of tcmalloc's transfer cache (Ghemawat and Menage, "TCMalloc: Thread-Caching
// Malloc"), here over any back end of the grammar.
//
// Each class has its own HeapLock (core/heap_lock.hpp), held for a push or pop of
// one batch; a relaxed look at the count first skips the lock when the class has
// nothing to give (take) or no room (put). Blocks held here are live to the shared
// instance (they count in its footprint, as blocks in the thread caches do);
// drain() gives them all back to it (the threaded replay at its end; a fork child
// resets the locks with reset_locks()). The object is 64 classes x 4 KiB (static
// storage in the export, where only the classes used are ever touched; heap
// storage in the replay).
//
// The threaded replay (evaluate/replay_threaded.cpp) and the exported library
// (export/shim.cpp) use this same type through SharedBack, so the replay pays what
// ships.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/heap_lock.hpp"

namespace evo {

class TransferCache {
 public:
  static constexpr std::uint32_t kClasses = 64;             ///< the front cache's most classes (kFrontSteps)
  static constexpr std::uint32_t kSlots = 256;              ///< batches held per class
  static constexpr std::size_t kMaxBytes = std::size_t{1} << 20;  ///< block bytes held per class

  /// Offers the batch [head .. nullptr] of n blocks of `bytes` bytes in all, of class
  /// c. true: the cache holds it now; false (full, or c out of range): the caller
  /// keeps it.
  bool put(std::uint32_t c, void* head, std::uint32_t n, std::size_t bytes) noexcept {
    if (c >= kClasses || n == 0) return false;
    Class& k = classes_[c];
    if (k.n.load(std::memory_order_relaxed) >= kSlots) return false;
    k.lock.lock();
    const std::uint32_t i = k.n.load(std::memory_order_relaxed);
    if (i >= kSlots || bytes > kMaxBytes || k.bytes + bytes > kMaxBytes) {
      k.lock.unlock();
      return false;
    }
    k.slot[i] = Batch{head, n, static_cast<std::uint32_t>(bytes)};
    k.bytes += bytes;
    k.n.store(i + 1, std::memory_order_relaxed);
    k.lock.unlock();
    return true;
  }

  /// Takes the most recently put batch of class c: *head (a nullptr-terminated
  /// list) and *n blocks. false when the class has none.
  bool take(std::uint32_t c, void** head, std::uint32_t* n) noexcept {
    if (c >= kClasses) return false;
    Class& k = classes_[c];
    if (k.n.load(std::memory_order_relaxed) == 0) return false;
    k.lock.lock();
    const std::uint32_t i = k.n.load(std::memory_order_relaxed);
    if (i == 0) {
      k.lock.unlock();
      return false;
    }
    const Batch b = k.slot[i - 1];
    k.bytes -= b.bytes;
    k.n.store(i - 1, std::memory_order_relaxed);
    k.lock.unlock();
    *head = b.head;
    *n = b.count;
    return true;
  }

  /// Calls free_one(p) for every block held, emptying the cache (the caller makes
  /// sure no put or take runs beside it).
  template <typename F>
  std::uint64_t drain(F&& free_one) {
    std::uint64_t total = 0;
    for (Class& k : classes_) {
      const std::uint32_t cnt = k.n.load(std::memory_order_relaxed);
      for (std::uint32_t i = 0; i < cnt; ++i) {
        void* b = k.slot[i].head;
        for (std::uint32_t j = 0; j < k.slot[i].count && b != nullptr; ++j) {
          void* next = *static_cast<void**>(b);
          free_one(b);
          b = next;
          ++total;
        }
      }
      k.n.store(0, std::memory_order_relaxed);
      k.bytes = 0;
    }
    return total;
  }

  /// Blocks held now (a snapshot; for tests and statistics).
  std::uint64_t held() const noexcept {
    std::uint64_t total = 0;
    for (const Class& k : classes_) {
      const std::uint32_t cnt = k.n.load(std::memory_order_relaxed);
      for (std::uint32_t i = 0; i < cnt && i < kSlots; ++i) total += k.slot[i].count;
    }
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
  struct Batch {
    void* head = nullptr;
    std::uint32_t count = 0;
    std::uint32_t bytes = 0;  // <= kMaxBytes
  };
  static_assert(kMaxBytes <= UINT32_MAX);
  struct alignas(64) Class {  // a cache line of its own per class: no false sharing between classes
    HeapLock lock;
    std::atomic<std::uint32_t> n{0};
    std::size_t bytes = 0;
    Batch slot[kSlots];
  };
  Class classes_[kClasses];
};

}  // namespace evo
