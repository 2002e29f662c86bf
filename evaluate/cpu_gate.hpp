// evaluate/cpu_gate.hpp — a threaded replay has the machine's cores to itself.
//
// The search evaluates designs in parallel, one OpenMP thread a design
// (evolve/evolution.cpp). A threaded replay (evaluate/replay_threaded.hpp) runs every
// trace thread on its own OS thread and times the wall clock; timed while another
// design's probed replay kept one of two cores busy, the replay of traces/fd.trace
// took 180-1040 ns/op instead of 27-42 (docs/benchmarks.md, session 28): its time was
// the neighbour's, not the design's. So work that uses the cores is gated:
//
//   - a threaded replay holds the gate exclusively (std::unique_lock): no other
//     evaluation work runs while it is timed;
//   - all other evaluation work holds it shared (std::shared_lock): the probed
//     replay in slices of 4096 ops (a few milliseconds), a sequential timed replay
//     whole (one measurement; tens of milliseconds on the shipped traces), so an
//     exclusive holder waits for at most one such piece of each other thread;
//   - a thread waiting for exclusive use stops new shared holders (a steady stream
//     of slices cannot starve it).
//
// Rules for callers: never take the gate while holding it (a shared holder that asks
// again while an exclusive waiter waits would wait for itself). The gate is process
// wide (cpu_gate()); processes on one machine (MPI ranks) do not see each other's.
#pragma once

#include <condition_variable>
#include <mutex>

namespace evo {

/// A reader-writer gate whose writers (exclusive users) go first. Meets the standard
/// Lockable and SharedLockable requirements (std::unique_lock, std::shared_lock).
class CpuGate {
 public:
  void lock();
  void unlock();
  void lock_shared();
  bool try_lock_shared();
  void unlock_shared();

  /// Threads waiting for exclusive use now (for tests and diagnostics).
  int exclusive_waiting() const;

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  int shared_ = 0;           ///< shared holders now
  int exclusive_waiting_ = 0;
  bool exclusive_ = false;   ///< an exclusive holder now
};

/// The process's gate (evaluate_design and measure_speed_ns use it).
CpuGate& cpu_gate();

}  // namespace evo
