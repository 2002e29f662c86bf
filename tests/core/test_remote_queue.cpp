// tests/core/test_remote_queue.cpp — the tlh synchronisation pieces shared by the
// export and the threaded replay: RemoteFreeQueue and its overflow nodes
// (core/remote_queue.hpp) and HeapLock (core/heap_lock.hpp), alone and under real
// threads.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/heap_lock.hpp"
#include "core/remote_queue.hpp"

namespace {

void* ptr(std::uintptr_t v) { return reinterpret_cast<void*>(v); }

/// kProducers threads free kEach distinct pointers each into one small ring (64
/// slots of one batch each), one push per pointer or through a RemoteBatch
/// (push_batch). With `owner_drains` the owner drains meanwhile (the ring fills at
/// times: overflow nodes); without, only after the producers are done (all but the
/// first 64 batches go to overflow nodes). Every pointer must arrive exactly once.
void producers_and_owner(bool batched, bool owner_drains) {
  constexpr int kProducers = 3;
  const std::uintptr_t kEach = owner_drains ? 200000 : 20000;
  evo::RemoteNodePool pool;
  evo::RemoteFreeQueue<64> q(&pool);
  std::vector<std::uint8_t> seen(kProducers * kEach, 0);
  std::atomic<int> done{0};
  auto record = [&](void* p) { ++seen[reinterpret_cast<std::uintptr_t>(p) - 1]; };
  struct Owner {};
  Owner owner;
  std::vector<std::thread> producers;
  for (int t = 0; t < kProducers; ++t) {
    producers.emplace_back([&, t] {
      auto hand_over = [&](Owner*, void* const* ps, std::size_t n) {
        if (batched) q.push_batch(ps, n);
        else q.push(ps[0]);
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
  while (owner_drains && done.load() < kProducers) q.drain(record);
  for (std::thread& th : producers) th.join();
  const std::uint64_t queued = q.queued();
  const std::size_t last = q.drain(record);
  if (!owner_drains) {
    CHECK(queued == seen.size());  // nothing was drained before
    CHECK(last == seen.size());
    CHECK(pool.mapped_bytes() > 0);  // 64 slots cannot hold them: nodes were used
  }
  CHECK(q.queued() == 0);
  CHECK_FALSE(q.maybe_nonempty());
  std::uint64_t once = 0;
  for (std::uint8_t n : seen) once += n == 1;
  CHECK(once == seen.size());
  MESSAGE((batched ? "batches" : "single pushes") << (owner_drains ? ", owner draining" : ", drained at the end")
                                                  << ", node bytes mapped: " << pool.mapped_bytes());
  pool.unmap_all();
}

}  // namespace

TEST_CASE("RemoteFreeQueue: FIFO in the ring, overflow nodes past N, reusable after a drain, reset empties it") {
  evo::RemoteNodePool pool;
  evo::RemoteFreeQueue<4> q(&pool);
  CHECK_FALSE(q.maybe_nonempty());
  std::vector<std::uintptr_t> got;
  auto take = [&](void* p) { got.push_back(reinterpret_cast<std::uintptr_t>(p)); };
  CHECK(q.drain(take) == 0);
  for (std::uintptr_t v = 1; v <= 4; ++v) q.push(ptr(v));
  CHECK(pool.mapped_bytes() == 0);  // the ring held them
  q.push(ptr(5));                   // full ring: a node
  q.push(ptr(6));
  CHECK(pool.mapped_bytes() > 0);
  CHECK(q.queued() == 6);
  CHECK(q.maybe_nonempty());
  CHECK(q.drain(take) == 6);
  REQUIRE(got.size() == 6);
  CHECK(std::vector<std::uintptr_t>(got.begin(), got.begin() + 4) == std::vector<std::uintptr_t>{1, 2, 3, 4});
  CHECK(std::set<std::uintptr_t>(got.begin() + 4, got.end()) == std::set<std::uintptr_t>{5, 6});
  CHECK_FALSE(q.maybe_nonempty());
  CHECK(q.queued() == 0);
  // Wraps around the ring many times; the nodes go back to the pool and are reused.
  const std::uint64_t mapped = pool.mapped_bytes();
  got.clear();
  for (std::uintptr_t v = 10; v < 1010; ++v) {
    q.push(ptr(v));
    if (v % 3 == 0) q.drain(take);
  }
  q.drain(take);
  REQUIRE(got.size() == 1000);
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == 10 + i);
  for (int round = 0; round < 100; ++round) {  // 100 x 20 pushes: 16 nodes each round
    for (std::uintptr_t v = 1; v <= 20; ++v) q.push(ptr(v));
    CHECK(q.drain(take) == 20);
  }
  CHECK(pool.mapped_bytes() == mapped);  // one chunk serves them all
  q.push(ptr(7));
  q.reset();
  CHECK_FALSE(q.maybe_nonempty());
  CHECK(q.queued() == 0);
  CHECK(q.drain(take) == 0);
  pool.unmap_all();
  CHECK(pool.mapped_bytes() == 0);
}

TEST_CASE("RemoteFreeQueue: producers on real threads, one consumer; every pointer arrives once") {
  SUBCASE("one push per block, owner draining") { producers_and_owner(false, true); }
  SUBCASE("batches of kRemoteBatch (push_batch), owner draining") { producers_and_owner(true, true); }
  SUBCASE("one push per block, drained at the end (overflow nodes)") { producers_and_owner(false, false); }
  SUBCASE("batches, drained at the end (overflow nodes)") { producers_and_owner(true, false); }
}

TEST_CASE("RemoteFreeQueue::push_batch: a slot a batch, whole batches, in order, mixed with single pushes") {
  evo::RemoteNodePool pool;
  evo::RemoteFreeQueue<8> q(&pool);
  std::vector<std::uintptr_t> got;
  auto take = [&](void* p) { got.push_back(reinterpret_cast<std::uintptr_t>(p)); };
  void* a[5] = {ptr(1), ptr(2), ptr(3), ptr(4), ptr(5)};
  q.push_batch(a, 0);  // nothing to hand over
  CHECK_FALSE(q.maybe_nonempty());
  q.push(ptr(100));    // slot 0
  q.push_batch(a, 5);  // slot 1: the whole batch
  for (int k = 0; k < 6; ++k) q.push_batch(a + 3, 2);  // slots 2-7
  CHECK(pool.mapped_bytes() == 0);
  q.push_batch(a, 3);  // no slot free: the 3 go whole to one node
  CHECK(pool.mapped_bytes() > 0);
  q.push(ptr(101));  // a node of its own
  CHECK(q.queued() == 22);
  CHECK(q.drain(take) == 22);
  CHECK(q.queued() == 0);
  // The ring in order, then the nodes (newest first), each node's blocks in order.
  CHECK(got == std::vector<std::uintptr_t>{100, 1, 2, 3, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 101, 1, 2, 3});
  got.clear();
  std::vector<void*> full;
  for (std::uintptr_t v = 1; v <= evo::kRemoteBatch; ++v) full.push_back(ptr(v));
  q.push_batch(full.data(), full.size());  // the largest batch: one slot
  CHECK(q.drain(take) == evo::kRemoteBatch);
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == i + 1);
  // Around the ring: batches that wrap its end arrive whole and in order.
  got.clear();
  std::vector<void*> batch;
  std::uintptr_t next = 1;
  for (int round = 0; round < 500; ++round) {
    batch.clear();
    const std::size_t n = 1 + round % 5;
    for (std::size_t i = 0; i < n; ++i) batch.push_back(ptr(next + i));
    q.push_batch(batch.data(), n);
    next += n;
    q.drain(take);
  }
  REQUIRE(got.size() == next - 1);
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == i + 1);
  pool.unmap_all();
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
