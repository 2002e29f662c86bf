// core/remote_queue.hpp — RemoteFreeQueue: blocks freed by other threads, on their
// way back to the heap that owns them (thread model tlh).
//
// Under tlh every thread has its own heap, and a block freed by another thread (a
// remote free) must go back to its owner's heap. Doing that free under the owner's
// lock makes the freeing thread and the owner fight over the lock and over the
// heap's metadata lines. Instead the freeing thread pushes the pointer onto the
// owner's queue (lock-free, no write into the heap or the block) and the owner
// drains the queue into its heap, under its own lock, the next time it allocates.
//
// A bounded multi-producer single-consumer ring of N cells, each with a sequence
// number (the array-queue of D. Vyukov, 2010): push claims a cell by a CAS on the
// tail, writes the pointer, then publishes the cell with a release store of its
// sequence; drain takes published cells in order. push returns false when the ring
// is full: the caller then frees the block under the owner's lock (the old way), so
// nothing waits and nothing is lost. drain must be called by one thread at a time
// (the caller holds the owner heap's lock). A push interrupted half-way (claimed,
// not yet published) stops the drain at its cell until it is published; in a fork
// child, where that thread does not exist, reset() after a last drain clears it
// (the one block it was freeing is leaked).
//
// Batches: a thread that frees many blocks of one owner (the consumer of a
// producer/consumer pair frees nothing else) collects them in a RemoteBatch (below,
// one per freeing thread) and hands up to kRemoteBatch of them over at once:
// push_batch claims that many consecutive cells with one CAS, so the tail's cache
// line moves between threads once per batch instead of once per block, and when
// the ring is full the fallback frees the whole batch under one taking of the
// owner's lock. A batch is handed over when it is full, when the thread frees a
// block of another owner, and when the thread exits (the export) or ends its ops
// (the replay): a thread holds at most kRemoteBatch - 1 freed blocks of other
// heaps back from their owners, as a thread cache holds blocks back from its heap.
// Measured on xmalloc-test (all frees remote): docs/benchmarks.md.
//
// The exported library (export/shim.cpp) and the threaded replay
// (evaluate/replay_threaded.cpp) use these same types, so the replay pays what ships.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace evo {

template <std::size_t N>
class RemoteFreeQueue {
  static_assert(N >= 2 && (N & (N - 1)) == 0, "N must be a power of two");

 public:
  RemoteFreeQueue() noexcept { reset(); }

  /// Another thread frees `p`: queues it. false when the ring is full.
  bool push(void* p) noexcept { return push_batch(&p, 1); }

  /// Another thread frees the n blocks ps[0..n) (n <= N): queues them all in order
  /// with one claim of n consecutive cells. false (nothing queued) when fewer than n
  /// cells are free. The cells are claimed in ring order and the owner frees cells in
  /// that order, so the last of the n being free means all of them are.
  bool push_batch(void* const* ps, std::size_t n) noexcept {
    if (n == 0) return true;
    if (n > N) return false;
    std::uint64_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      const std::uint64_t last = pos + n - 1;
      const auto dif = static_cast<std::int64_t>(cells_[last & (N - 1)].seq.load(std::memory_order_acquire) - last);
      if (dif == 0) {
        if (tail_.compare_exchange_weak(pos, pos + n, std::memory_order_relaxed)) {
          for (std::size_t i = 0; i < n; ++i) {
            Cell& c = cells_[(pos + i) & (N - 1)];
            c.ptr = ps[i];
            c.seq.store(pos + i + 1, std::memory_order_release);
          }
          return true;
        }
      } else if (dif < 0) {
        return false;  // not enough room
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  /// True when a push may be waiting (a cheap check before taking the work of drain).
  bool maybe_nonempty() const noexcept { return tail_.load(std::memory_order_relaxed) != head_; }

  /// The owner (one thread at a time): calls free_one(p) for every published block, in
  /// push order; returns how many.
  template <typename F>
  std::size_t drain(F&& free_one) {
    std::size_t n = 0;
    for (;;) {
      Cell& c = cells_[head_ & (N - 1)];
      if (c.seq.load(std::memory_order_acquire) != head_ + 1) break;  // empty, or not yet published
      void* p = c.ptr;
      c.seq.store(head_ + N, std::memory_order_release);
      ++head_;
      free_one(p);
      ++n;
    }
    return n;
  }

  /// Empties the ring without freeing anything (a fork child, after a last drain).
  void reset() noexcept {
    for (std::size_t i = 0; i < N; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
    head_ = 0;
    tail_.store(0, std::memory_order_relaxed);
  }

 private:
  struct Cell {
    std::atomic<std::uint64_t> seq;
    void* ptr;
  };
  alignas(64) std::atomic<std::uint64_t> tail_{0};  // producers
  alignas(64) std::uint64_t head_ = 0;               // the consumer
  Cell cells_[N];
};

/// The cells of a heap's ring in thread model tlh (the export and the replay).
inline constexpr std::size_t kRemoteRing = 2048;
using HeapRemoteQueue = RemoteFreeQueue<kRemoteRing>;

/// Blocks one thread freed for one owner heap, not yet handed over (see above).
inline constexpr std::size_t kRemoteBatch = 32;

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
