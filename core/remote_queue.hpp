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
// The exported library (export/shim.cpp) and the threaded replay
// (evaluate/replay_threaded.cpp) use this same type, so the replay pays what ships.
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
  bool push(void* p) noexcept {
    std::uint64_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& c = cells_[pos & (N - 1)];
      const std::uint64_t seq = c.seq.load(std::memory_order_acquire);
      const auto dif = static_cast<std::int64_t>(seq - pos);
      if (dif == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          c.ptr = p;
          c.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (dif < 0) {
        return false;  // full: the cell still holds an undrained block
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

}  // namespace evo
