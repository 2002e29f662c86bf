// core/heap_lock.hpp — HeapLock: a lock that is nearly always free.
//
// Thread model tlh (one heap per thread) takes a heap's lock on every call when the
// family's usable_size may not run beside the owner's calls, and always on the
// common heap (export/shim.cpp); tcache takes the shared heap's once a batch. So the
// lock is nearly always free, and what matters is its cost when free: lock() is one
// atomic exchange and unlock() one release store (a plain store on x86), both
// inlined; pthread_mutex_lock/unlock cost a call each and two locked instructions.
//
// Contended, lock() spins on a plain load (with the CPU's pause hint) for a short
// while, then yields the core between tries (sched_yield), so a holder that was
// preempted gets to run. There is no queue and no sleeping: a lock held for long
// or wanted by many threads at once (thread model lock's one global lock) should
// be a mutex.
//
// The exported library (export/shim.cpp) and the threaded replay
// (evaluate/replay_threaded.cpp) use this same type, so the replay pays what ships.
#pragma once

#include <sched.h>

#include <atomic>

namespace evo {

class HeapLock {
 public:
  void lock() noexcept {
    if (!busy_.exchange(true, std::memory_order_acquire)) [[likely]]
      return;
    lock_contended();
  }
  bool try_lock() noexcept {
    return !busy_.load(std::memory_order_relaxed) && !busy_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { busy_.store(false, std::memory_order_release); }
  /// Frees the lock whoever held it (a fork child, where the holder does not exist).
  void reset() noexcept { busy_.store(false, std::memory_order_relaxed); }

 private:
  [[gnu::noinline]] void lock_contended() noexcept {
    for (unsigned spins = 0;;) {
      while (busy_.load(std::memory_order_relaxed)) {
        if (spins < kSpins) {
          ++spins;
#if defined(__x86_64__) || defined(__i386__)
          __builtin_ia32_pause();
#endif
        } else {
          sched_yield();
        }
      }
      if (!busy_.exchange(true, std::memory_order_acquire)) return;
    }
  }
  static constexpr unsigned kSpins = 128;
  std::atomic<bool> busy_{false};
};

}  // namespace evo
