// Tests of evaluate/cpu_gate: exclusive use goes first and excludes shared use, and
// evaluate_design pauses for a threaded replay without charging it the wait.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "evaluate/cpu_gate.hpp"
#include "evaluate/metrics.hpp"
#include "evaluate/trace.hpp"

using namespace evo;
using namespace std::chrono_literals;

namespace {

void wait_for_exclusive_waiter(const CpuGate& g) {
  while (g.exclusive_waiting() == 0) std::this_thread::yield();
}

}  // namespace

TEST_CASE("cpu gate: a waiting exclusive user stops new shared users, then gets the gate") {
  CpuGate gate;
  gate.lock_shared();  // a probed replay's slice
  std::atomic<bool> got{false};
  std::thread exclusive([&] {
    std::unique_lock<CpuGate> g(gate);
    got = true;
  });
  wait_for_exclusive_waiter(gate);
  CHECK_FALSE(got.load());
  CHECK_FALSE(gate.try_lock_shared());  // the next slice waits for the threaded replay
  gate.unlock_shared();                 // the slice ends: the exclusive user goes
  exclusive.join();
  CHECK(got.load());
  CHECK(gate.exclusive_waiting() == 0);
  REQUIRE(gate.try_lock_shared());  // free again
  CHECK(gate.try_lock_shared());    // shared users share
  gate.unlock_shared();
  gate.unlock_shared();
}

TEST_CASE("cpu gate: no shared user runs while an exclusive user holds it") {
  CpuGate gate;
  std::atomic<int> shared_in{0};
  std::atomic<int> overlaps{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&] {
      while (!stop) {
        std::shared_lock<CpuGate> g(gate);
        ++shared_in;
        std::this_thread::yield();
        --shared_in;
      }
    });
  for (int k = 0; k < 200; ++k) {
    std::unique_lock<CpuGate> g(gate);
    if (shared_in.load() != 0) ++overlaps;
    std::this_thread::yield();
    if (shared_in.load() != 0) ++overlaps;
  }
  stop = true;
  for (auto& r : readers) r.join();
  CHECK(overlaps.load() == 0);
}

TEST_CASE("evaluate_design waits while the gate is held exclusively, and the wait is not its time") {
  Trace t;
  for (int r = 0; r < 20; ++r) {
    for (std::uint32_t i = 0; i < 500; ++i) t.push(OpKind::Malloc, i, 48);
    for (std::uint32_t i = 0; i < 500; ++i) t.push(OpKind::Free, i, 0);
  }
  t.finish();
  const auto hist = size_histogram(t);
  EvalOptions o;
  o.time_limit_s = 0.5;  // shorter than the hold below: the wait must not count
  auto& gate = cpu_gate();
  std::unique_lock<CpuGate> held(gate);  // a threaded replay of another design
  auto result = std::async(std::launch::async, [&] {
    return evaluate_design("minimal align=16 source=region harden=off", t, hist, o);
  });
  CHECK(result.wait_for(800ms) == std::future_status::timeout);  // the evaluation waits for us
  held.unlock();
  const Metrics m = result.get();
  CHECK(m.feasible);
  CHECK(m.reason.empty());
  CHECK(m.completed == doctest::Approx(1.0));
}
