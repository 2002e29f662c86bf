// core/remote_queue.hpp — RemoteFreeQueue: blocks freed by other threads, on their
// way back to the heap that owns them (thread model tlh).
//
// Under tlh every thread has its own heap, and a block freed by another thread (a
// remote free) must go back to its owner's heap. The freeing thread never touches
// the owner's heap: it pushes the pointer onto the owner's queue (lock-free, no
// write into the heap or the block) and the owner drains the queue into its heap
// the next time it allocates. So the owner's heap is the owner's alone, and when
// the family's usable_size may run beside other calls (slab, superblock) the owner
// takes no lock at all (export/shim.cpp).
//
// The queue never refuses a block and never waits for the owner (who may not
// allocate again for a long time: a producer blocked until its consumers are done):
//  * the ring: a bounded multi-producer single-consumer ring of N slots, each
//    holding one batch (up to kRemoteBatch pointers, dense) and a sequence number
//    (D. Vyukov's bounded array queue, 2010, with a batch in each slot): a push claims a slot
//    by a CAS on the tail, copies the pointers in, then publishes the slot with a
//    release store of its sequence; drain takes published slots in order;
//  * the overflow: when the ring has no free slot, the batch is copied into a node (a
//    RemoteNode, from a RemoteNodePool shared by every queue of the process) and the
//    node is pushed onto the queue's overflow stack by one CAS; drain takes the
//    whole stack with one exchange and gives the nodes back to the pool.
// drain must be called by one thread at a time (the owner). A push interrupted
// half-way (claimed, not yet published) stops the ring's drain at its slot until
// it is published; in a fork child, where that thread does not exist, reset() after
// a last drain clears it (the one batch it was handing over is leaked).
//
// Batches: a thread that frees many blocks of one owner (the consumer of a
// producer/consumer pair frees nothing else) collects them in a RemoteBatch (below,
// one per freeing thread) and hands up to kRemoteBatch of them over at once: one
// CAS on the tail and one slot per batch, so the tail's cache line moves between
// threads once per batch instead of once per block, and the owner reads 64 pointers
// from 8 cache lines and one sequence number. (Until 2026-12-06 the ring's cells
// held one pointer and a sequence number each, 16 bytes a block.) A batch is handed
// over when it is full, when the thread frees a block of another owner, and when the
// thread exits (the export) or ends its ops (the replay): a thread holds at most
// kRemoteBatch - 1 freed blocks of other heaps back from their owners, as a thread
// cache holds blocks back from its heap.
// 64 blocks a batch against 32 (2026-12-06, a tlh slab design, two benches of 7
// interleaved rounds): xmalloc-test (all frees remote; its consumers free 4096
// blocks at a time, which 64 slots of 32 could not hold, so half of each burst went
// through overflow nodes) 3-10% more frees/s (4.37x glibc's against 3.98x, 3.96x
// against 3.84x), 128 and 256 no further; fdfind and larson no slower.
// Measured: docs/benchmarks.md.
//
// The exported library (export/shim.cpp) and the threaded replay
// (evaluate/replay_threaded.cpp) use these same types, so the replay pays what ships.
#pragma once

#include <sys/mman.h>

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "core/heap_lock.hpp"

namespace evo {

/// Blocks one thread freed for one owner heap, not yet handed over (see above).
inline constexpr std::size_t kRemoteBatch = 64;

/// A batch that found no room in its owner's ring, on the owner's overflow stack.
struct RemoteNode {
  RemoteNode* next;
  std::size_t n;
  void* blocks[kRemoteBatch];
};

/// Where overflow nodes come from: chunks of nodes mapped from the OS (never from
/// malloc: the export is the malloc), kept on a free list behind a HeapLock, taken
/// once per batch that overflows and once per drain that found nodes. Chunks are
/// never unmapped while the pool is in use; unmap_all() returns them (the replay's
/// pool, once its run is over; the export's lives as long as the process, and has
/// no destructor that could unmap nodes under a late free).
class RemoteNodePool {
 public:
  /// A node, or nullptr when no chunk can be mapped.
  RemoteNode* get() noexcept {
    std::lock_guard<HeapLock> g(lock_);
    if (free_ == nullptr && !grow()) return nullptr;
    RemoteNode* x = free_;
    free_ = x->next;
    return x;
  }
  /// Gives back the nodes first..last (linked through next).
  void put_list(RemoteNode* first, RemoteNode* last) noexcept {
    std::lock_guard<HeapLock> g(lock_);
    last->next = free_;
    free_ = first;
  }
  /// Bytes mapped for nodes so far (memory the thread model holds beside the heaps).
  std::uint64_t mapped_bytes() const noexcept { return mapped_.load(std::memory_order_relaxed); }
  /// Returns every chunk to the OS: no node may be in use any more.
  void unmap_all() noexcept {
    while (chunks_ != nullptr) {
      void* next = *static_cast<void**>(chunks_);
      ::munmap(chunks_, kChunk);
      chunks_ = next;
    }
    free_ = nullptr;
    mapped_.store(0, std::memory_order_relaxed);
  }
  // Fork: prepare takes the lock, the parent releases it, the child resets it.
  void lock() noexcept { lock_.lock(); }
  void unlock() noexcept { lock_.unlock(); }
  void reset_lock() noexcept { lock_.reset(); }

 private:
  // (64 KiB - 64) / sizeof(RemoteNode) nodes after the chunk link
  static constexpr std::size_t kChunk = 64 * 1024;
  bool grow() noexcept {
    void* c = ::mmap(nullptr, kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) return false;
    *static_cast<void**>(c) = chunks_;
    chunks_ = c;
    char* const end = static_cast<char*>(c) + kChunk;
    for (char* at = static_cast<char*>(c) + 64; at + sizeof(RemoteNode) <= end; at += sizeof(RemoteNode)) {
      auto* x = reinterpret_cast<RemoteNode*>(at);
      x->next = free_;
      free_ = x;
    }
    mapped_.fetch_add(kChunk, std::memory_order_relaxed);
    return true;
  }
  HeapLock lock_;
  RemoteNode* free_ = nullptr;
  void* chunks_ = nullptr;  // each chunk's first word links the next
  std::atomic<std::uint64_t> mapped_{0};
};

template <std::size_t N>
class RemoteFreeQueue {
  static_assert(N >= 2 && (N & (N - 1)) == 0, "N must be a power of two");

 public:
  explicit RemoteFreeQueue(RemoteNodePool* pool) noexcept : pool_(pool) { reset(); }

  /// Another thread frees `p`: queues it.
  void push(void* p) noexcept { push_batch(&p, 1); }

  /// Another thread frees the n blocks ps[0..n) (1 <= n <= kRemoteBatch): queues them
  /// as one batch, in the ring's next slot when it has one free, else as one node on
  /// the overflow stack. Only when no node can be mapped (the OS refuses 64 KiB) are
  /// the blocks dropped: they stay allocated, never reused.
  void push_batch(void* const* ps, std::size_t n) noexcept {
    assert(n <= kRemoteBatch && "a batch is at most kRemoteBatch blocks (a slot's and a node's array)");
    if (n == 0) return;
    pushed_.fetch_add(n, std::memory_order_relaxed);  // before the batch is seen: queued() >= 0
    if (ring_push(ps, n)) [[likely]]
      return;
    overflow_push(ps, n);
  }

  /// True when a push may be waiting (a cheap check before taking the work of drain).
  bool maybe_nonempty() const noexcept {
    return tail_.load(std::memory_order_relaxed) != head_.load(std::memory_order_relaxed) ||
           overflow_.load(std::memory_order_relaxed) != nullptr;
  }

  /// The owner (one thread at a time): calls free_one(p) for every published block
  /// (the ring's batches in push order, then the overflow's); returns how many.
  template <typename F>
  std::size_t drain(F&& free_one) {
    std::size_t n = 0;
    std::uint64_t h = head_.load(std::memory_order_relaxed);
    for (;;) {
      Slot& c = slots_[h & (N - 1)];
      if (c.seq.load(std::memory_order_acquire) != h + 1) break;  // empty, or not yet published
      const std::size_t k = c.n;
      for (std::size_t i = 0; i < k; ++i) free_one(c.blocks[i]);
      c.seq.store(h + N, std::memory_order_release);
      ++h;
      n += k;
    }
    head_.store(h, std::memory_order_relaxed);
    if (overflow_.load(std::memory_order_relaxed) != nullptr) {
      RemoteNode* first = overflow_.exchange(nullptr, std::memory_order_acquire);
      RemoteNode* last = first;
      for (RemoteNode* x = first; x != nullptr; x = x->next) {
        for (std::size_t i = 0; i < x->n; ++i) free_one(x->blocks[i]);
        n += x->n;
        last = x;
      }
      if (first != nullptr) pool_->put_list(first, last);
    }
    drained_.store(drained_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    return n;
  }

  /// Blocks queued and not yet drained, as another thread sees them (a statistic:
  /// exact once the pushing threads and the owner are quiet).
  std::uint64_t queued() const noexcept {
    return pushed_.load(std::memory_order_relaxed) - drained_.load(std::memory_order_relaxed);
  }

  /// Empties the queue without freeing anything (a fork child, after a last drain).
  void reset() noexcept {
    for (std::size_t i = 0; i < N; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
    head_.store(0, std::memory_order_relaxed);
    tail_.store(0, std::memory_order_relaxed);
    overflow_.store(nullptr, std::memory_order_relaxed);
    pushed_.store(0, std::memory_order_relaxed);
    drained_.store(0, std::memory_order_relaxed);
  }

 private:
  bool ring_push(void* const* ps, std::size_t n) noexcept {
    std::uint64_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      Slot& c = slots_[pos & (N - 1)];
      const auto dif = static_cast<std::int64_t>(c.seq.load(std::memory_order_acquire) - pos);
      if (dif == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          c.n = static_cast<std::uint32_t>(n);
          std::memcpy(c.blocks, ps, n * sizeof(void*));
          c.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (dif < 0) {
        return false;  // full
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  void overflow_push(void* const* ps, std::size_t n) noexcept {
    RemoteNode* x = pool_->get();
    if (x == nullptr) [[unlikely]] {
      pushed_.fetch_sub(n, std::memory_order_relaxed);  // dropped: they stay live
      return;
    }
    x->n = n;
    std::memcpy(x->blocks, ps, n * sizeof(void*));
    RemoteNode* head = overflow_.load(std::memory_order_relaxed);
    do {
      x->next = head;
    } while (!overflow_.compare_exchange_weak(head, x, std::memory_order_release, std::memory_order_relaxed));
  }

  /// One batch: its blocks dense (64 pointers on 8 cache lines), published by one
  /// store of its sequence number.
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> seq;
    std::uint32_t n;
    void* blocks[kRemoteBatch];
  };
  // Producers' line: the ring's tail, the overflow stack, its pool and the count of
  // blocks pushed (the owner's check before a drain reads the first two in one line).
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  std::atomic<RemoteNode*> overflow_{nullptr};
  std::atomic<std::uint64_t> pushed_{0};
  RemoteNodePool* pool_;
  // The owner's line (relaxed atomics: other threads read them for queued()).
  alignas(64) std::atomic<std::uint64_t> head_{0};
  std::atomic<std::uint64_t> drained_{0};
  Slot slots_[N];
};

/// The batch slots of a heap's ring in thread model tlh (the export and the
/// replay): 64 slots of up to kRemoteBatch blocks, 4096 blocks in full batches.
inline constexpr std::size_t kRemoteRing = 64;
using HeapRemoteQueue = RemoteFreeQueue<kRemoteRing>;

template <class Owner>
struct RemoteBatch {
  Owner* owner = nullptr;
  std::uint32_t n = 0;
  void* blocks[kRemoteBatch] = {};  // zeroed: a __thread batch needs a constant initialiser

  /// Adds p, a block of `o`: hand_over(owner, blocks, n) takes the batch first when
  /// it holds another owner's blocks, and after p when p filled it.
  template <typename F>
  void add(Owner* o, void* p, F&& hand_over) {
    if (o != owner) {
      flush(hand_over);
      owner = o;
    }
    blocks[n++] = p;
    if (n == kRemoteBatch) flush(hand_over);
  }

  /// Hands the batch over (when it holds any block) and empties it.
  template <typename F>
  void flush(F&& hand_over) {
    if (n != 0) hand_over(owner, static_cast<void* const*>(blocks), static_cast<std::size_t>(n));
    n = 0;
  }
};

}  // namespace evo
