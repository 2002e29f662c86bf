// tests/core/test_remote_queue.cpp — the tlh synchronisation pieces shared by the
// export and the threaded replay: RemoteFreeQueue (core/remote_queue.hpp) and
// HeapLock (core/heap_lock.hpp), alone and under real threads.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "core/heap_lock.hpp"
#include "core/remote_queue.hpp"

namespace {

void* ptr(std::uintptr_t v) { return reinterpret_cast<void*>(v); }

}  // namespace

TEST_CASE("RemoteFreeQueue: FIFO, full at N, reusable after a drain, reset empties it") {
  evo::RemoteFreeQueue<4> q;
  CHECK_FALSE(q.maybe_nonempty());
  std::vector<std::uintptr_t> got;
  auto take = [&](void* p) { got.push_back(reinterpret_cast<std::uintptr_t>(p)); };
  CHECK(q.drain(take) == 0);
  for (std::uintptr_t v = 1; v <= 4; ++v) CHECK(q.push(ptr(v)));
  CHECK_FALSE(q.push(ptr(5)));  // full
  CHECK(q.maybe_nonempty());
  CHECK(q.drain(take) == 4);
  CHECK(got == std::vector<std::uintptr_t>{1, 2, 3, 4});
  CHECK_FALSE(q.maybe_nonempty());
  // Wraps around the ring many times.
  got.clear();
  for (std::uintptr_t v = 10; v < 1010; ++v) {
    REQUIRE(q.push(ptr(v)));
    if (v % 3 == 0) q.drain(take);
  }
  q.drain(take);
  REQUIRE(got.size() == 1000);
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == 10 + i);
  CHECK(q.push(ptr(7)));
  q.reset();
  CHECK_FALSE(q.maybe_nonempty());
  CHECK(q.drain(take) == 0);
}

TEST_CASE("RemoteFreeQueue: producers on real threads, one consumer; every pointer arrives once") {
  constexpr int kProducers = 3;
  constexpr std::uintptr_t kEach = 200000;
  evo::RemoteFreeQueue<64> q;  // small: the ring fills and producers take the fallback
  std::mutex owner_lock;       // the owner heap's lock: drains and fallbacks under it
  std::vector<std::uint8_t> seen(kProducers * kEach, 0);
  std::atomic<int> done{0};
  std::atomic<std::uint64_t> fallbacks{0};
  auto record = [&](void* p) { ++seen[reinterpret_cast<std::uintptr_t>(p) - 1]; };
  std::vector<std::thread> producers;
  for (int t = 0; t < kProducers; ++t) {
    producers.emplace_back([&, t] {
      for (std::uintptr_t i = 0; i < kEach; ++i) {
        void* p = ptr(1 + t * kEach + i);
        if (!q.push(p)) {  // full: free under the owner's lock, draining too
          std::lock_guard<std::mutex> g(owner_lock);
          q.drain(record);
          record(p);
          ++fallbacks;
        }
      }
      ++done;
    });
  }
  while (done.load() < kProducers) {
    std::lock_guard<std::mutex> g(owner_lock);
    q.drain(record);
  }
  for (std::thread& th : producers) th.join();
  q.drain(record);
  std::uint64_t once = 0;
  for (std::uint8_t n : seen) once += n == 1;
  CHECK(once == seen.size());
  MESSAGE("fallbacks (ring full): " << fallbacks.load());
}

TEST_CASE("HeapLock: mutual exclusion under real threads, try_lock, reset") {
  evo::HeapLock lock;
  CHECK(lock.try_lock());
  CHECK_FALSE(lock.try_lock());
  lock.unlock();
  CHECK(lock.try_lock());
  lock.reset();  // as in a fork child
  CHECK(lock.try_lock());
  lock.unlock();
  std::uint64_t counter = 0;  // plain: only the lock protects it
  constexpr int kThreads = 4, kEach = 100000;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        std::lock_guard<evo::HeapLock> g(lock);
        ++counter;
      }
    });
  for (std::thread& th : ts) th.join();
  CHECK(counter == std::uint64_t{kThreads} * kEach);
}
