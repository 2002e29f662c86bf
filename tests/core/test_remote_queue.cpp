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

/// kProducers threads free kEach distinct pointers each into one small ring (64
/// cells: it fills, and producers take the fallback), one push per pointer or
/// through a RemoteBatch (push_batch). The fallback, as in the export, frees under
/// the owner's lock and drains the ring; the owner drains under that lock meanwhile.
/// Every pointer must arrive exactly once.
void producers_and_owner(bool batched) {
  constexpr int kProducers = 3;
  constexpr std::uintptr_t kEach = 200000;
  evo::RemoteFreeQueue<64> q;
  std::mutex owner_lock;
  std::vector<std::uint8_t> seen(kProducers * kEach, 0);
  std::atomic<int> done{0};
  std::atomic<std::uint64_t> fallbacks{0};
  auto record = [&](void* p) { ++seen[reinterpret_cast<std::uintptr_t>(p) - 1]; };
  struct Owner {};
  Owner owner;
  std::vector<std::thread> producers;
  for (int t = 0; t < kProducers; ++t) {
    producers.emplace_back([&, t] {
      auto hand_over = [&](Owner*, void* const* ps, std::size_t n) {
        if (batched ? q.push_batch(ps, n) : q.push(ps[0])) return;
        std::lock_guard<std::mutex> g(owner_lock);  // no room: under the owner's lock, draining too
        q.drain(record);
        for (std::size_t i = 0; i < n; ++i) record(ps[i]);
        ++fallbacks;
      };
      evo::RemoteBatch<Owner> b;
      for (std::uintptr_t i = 0; i < kEach; ++i) {
        void* p = ptr(1 + t * kEach + i);
        if (batched) b.add(&owner, p, hand_over);
        else hand_over(&owner, &p, 1);
      }
      b.flush(hand_over);
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
  MESSAGE((batched ? "batches" : "single pushes") << ", fallbacks (no room): " << fallbacks.load());
}

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
  SUBCASE("one push per block") { producers_and_owner(false); }
  SUBCASE("batches of kRemoteBatch (push_batch)") { producers_and_owner(true); }
}

TEST_CASE("RemoteFreeQueue::push_batch: all or nothing, in order, mixed with single pushes") {
  evo::RemoteFreeQueue<8> q;
  std::vector<std::uintptr_t> got;
  auto take = [&](void* p) { got.push_back(reinterpret_cast<std::uintptr_t>(p)); };
  void* a[5] = {ptr(1), ptr(2), ptr(3), ptr(4), ptr(5)};
  CHECK(q.push_batch(a, 0));  // nothing to hand over
  CHECK_FALSE(q.maybe_nonempty());
  CHECK(q.push(ptr(100)));
  CHECK(q.push_batch(a, 5));         // 6 of 8 cells used
  CHECK_FALSE(q.push_batch(a, 3));   // 2 free: nothing is queued
  CHECK(q.push_batch(a + 3, 2));     // exactly the 2 left
  CHECK_FALSE(q.push(ptr(101)));
  CHECK(q.drain(take) == 8);
  CHECK(got == std::vector<std::uintptr_t>{100, 1, 2, 3, 4, 5, 4, 5});
  void* nine[9] = {};
  CHECK_FALSE(q.push_batch(nine, 9));  // more than the ring holds: never
  // Around the ring: batches that wrap its end arrive whole and in order.
  got.clear();
  std::vector<void*> batch;
  std::uintptr_t next = 1;
  for (int round = 0; round < 500; ++round) {
    batch.clear();
    const std::size_t n = 1 + round % 5;
    for (std::size_t i = 0; i < n; ++i) batch.push_back(ptr(next + i));
    REQUIRE(q.push_batch(batch.data(), n));
    next += n;
    q.drain(take);
  }
  REQUIRE(got.size() == next - 1);
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == i + 1);
}

TEST_CASE("RemoteBatch: one owner at a time, handed over when full or displaced") {
  struct Owner {
    std::vector<std::uintptr_t> got;
    int handovers = 0;
  };
  Owner x, y;
  auto hand_over = [](Owner* o, void* const* ps, std::size_t n) {
    ++o->handovers;
    for (std::size_t i = 0; i < n; ++i) o->got.push_back(reinterpret_cast<std::uintptr_t>(ps[i]));
  };
  evo::RemoteBatch<Owner> b;
  b.flush(hand_over);  // empty: nothing happens
  CHECK(x.handovers + y.handovers == 0);
  for (std::uintptr_t v = 1; v < evo::kRemoteBatch; ++v) b.add(&x, ptr(v), hand_over);
  CHECK(x.handovers == 0);  // kRemoteBatch - 1 held back
  b.add(&x, ptr(evo::kRemoteBatch), hand_over);  // fills it: handed over at once
  CHECK(x.handovers == 1);
  CHECK(x.got.size() == evo::kRemoteBatch);
  CHECK(b.n == 0);
  b.add(&x, ptr(1000), hand_over);
  b.add(&y, ptr(2000), hand_over);  // another owner displaces x's batch
  CHECK(x.handovers == 2);
  CHECK(x.got.back() == 1000);
  CHECK(y.handovers == 0);
  b.flush(hand_over);
  CHECK(y.got == std::vector<std::uintptr_t>{2000});
  for (std::size_t i = 0; i < evo::kRemoteBatch; ++i) CHECK(x.got[i] == i + 1);
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
