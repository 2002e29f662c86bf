// tests/core/test_transfer.cpp — TransferCache (core/layers/transfer.hpp), the
// batches passed between the thread caches of thread model tcache: alone (order,
// limits, drain), under real threads (every block arrives once), and inside
// FrontCache<SharedBack> (a consumer's flush feeds a producer's refill without the
// shared instance).
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "core/instance.hpp"
#include "core/layers/front.hpp"
#include "core/layers/transfer.hpp"

namespace {

/// Blocks of 16 bytes (two words: the list link and an id), linked in batches.
struct Node {
  Node* next = nullptr;
  std::uintptr_t id = 0;
};

/// Links nodes[from, from + n) into a nullptr-terminated list; returns its head.
void* link(std::vector<Node>& nodes, std::size_t from, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) nodes[from + i].next = i + 1 < n ? &nodes[from + i + 1] : nullptr;
  return &nodes[from];
}

}  // namespace

TEST_CASE("TransferCache: LIFO batches per class, bounded by slots and bytes, drain gives every block once") {
  auto t = std::make_unique<evo::TransferCache>();
  std::vector<Node> nodes(4096);
  for (std::size_t i = 0; i < nodes.size(); ++i) nodes[i].id = i;
  void* head = nullptr;
  std::uint32_t n = 0;
  CHECK_FALSE(t->take(3, &head, &n));
  REQUIRE(t->put(3, link(nodes, 0, 4), 4, 64));
  REQUIRE(t->put(3, link(nodes, 4, 2), 2, 32));
  CHECK(t->held() == 6);
  CHECK_FALSE(t->take(4, &head, &n));  // classes are separate
  REQUIRE(t->take(3, &head, &n));      // the last batch put comes out first, whole
  CHECK(n == 2);
  CHECK(static_cast<Node*>(head)->id == 4);
  CHECK(static_cast<Node*>(head)->next->id == 5);
  CHECK(static_cast<Node*>(head)->next->next == nullptr);
  REQUIRE(t->take(3, &head, &n));
  CHECK(n == 4);
  CHECK(static_cast<Node*>(head)->id == 0);
  CHECK_FALSE(t->take(3, &head, &n));
  CHECK_FALSE(t->put(evo::TransferCache::kClasses, link(nodes, 0, 1), 1, 16));  // no such class
  CHECK_FALSE(t->put(0, nullptr, 0, 0));                                          // empty batch

  // Bytes: a batch past kMaxBytes, or past what is left of it, stays with the caller.
  CHECK_FALSE(t->put(1, link(nodes, 0, 2), 2, evo::TransferCache::kMaxBytes + 1));
  REQUIRE(t->put(1, link(nodes, 0, 2), 2, evo::TransferCache::kMaxBytes - 16));
  CHECK_FALSE(t->put(1, link(nodes, 2, 2), 2, 32));
  REQUIRE(t->take(1, &head, &n));
  // Slots: kSlots batches, then full.
  std::size_t at = 0;
  for (std::uint32_t i = 0; i < evo::TransferCache::kSlots; ++i, at += 2) REQUIRE(t->put(2, link(nodes, at, 2), 2, 32));
  CHECK_FALSE(t->put(2, link(nodes, at, 2), 2, 32));
  CHECK(t->held() == 2 * evo::TransferCache::kSlots);

  std::vector<int> seen(nodes.size(), 0);
  const std::uint64_t drained = t->drain([&](void* p) { ++seen[static_cast<Node*>(p)->id]; });
  CHECK(drained == 2 * evo::TransferCache::kSlots);
  for (std::size_t i = 0; i < at; ++i) CHECK(seen[i] == 1);
  CHECK(t->held() == 0);
  CHECK_FALSE(t->take(2, &head, &n));
}

TEST_CASE("TransferCache: producers and consumers on real threads; every block arrives once") {
  // Two threads put batches of their own nodes (falling back to a locked 'heap' when
  // the class is full), two take batches; at the end the drain gives the rest.
  constexpr std::size_t kEach = 100000, kBatch = 16;
  auto t = std::make_unique<evo::TransferCache>();
  std::vector<Node> nodes(2 * kEach);
  for (std::size_t i = 0; i < nodes.size(); ++i) nodes[i].id = i;
  std::vector<std::uint8_t> seen(nodes.size(), 0);
  std::mutex heap_lock;  // the 'shared instance': fallbacks and the consumers' tallies
  std::atomic<int> producing{2};
  auto tally = [&](void* head, std::uint32_t n) {
    std::lock_guard<std::mutex> g(heap_lock);
    for (auto* b = static_cast<Node*>(head); n-- > 0; b = b->next) ++seen[b->id];
  };
  std::vector<std::thread> ts;
  for (int p = 0; p < 2; ++p)
    ts.emplace_back([&, p] {
      for (std::size_t at = p * kEach; at < (p + 1) * kEach; at += kBatch) {
        void* head = link(nodes, at, kBatch);
        if (!t->put(static_cast<std::uint32_t>(at / kBatch) % 3, head, kBatch, kBatch * 16)) tally(head, kBatch);
      }
      --producing;
    });
  for (int c = 0; c < 2; ++c)
    ts.emplace_back([&] {
      void* head = nullptr;
      std::uint32_t n = 0;
      while (producing.load() > 0)
        for (std::uint32_t k = 0; k < 3; ++k)
          if (t->take(k, &head, &n)) tally(head, n);
    });
  for (std::thread& th : ts) th.join();
  t->drain([&](void* p) { ++seen[static_cast<Node*>(p)->id]; });
  std::size_t once = 0;
  for (std::uint8_t s : seen) once += s == 1;
  CHECK(once == seen.size());
}

TEST_CASE("TransferCache in thread model tcache: one cache's flushes feed another's refills, not the heap") {
  std::string err;
  evo::Instance inst = evo::Instance::create(
      "slab slab=64K align=16 source=mmap harden=off front=none retain=0", {}, &err);
  REQUIRE_MESSAGE(inst, err);
  evo::OpsBack back{&inst.ops(), inst.state()};
  evo::HeapLock lock;
  auto transfer = std::make_unique<evo::TransferCache>();
  using Cache = evo::FrontCache<evo::SharedBack<evo::OpsBack>>;
  const bool concurrent = inst.row().traits.concurrent_usable_size;
  Cache producer(evo::SharedBack<evo::OpsBack>(&back, &lock, concurrent, transfer.get()), 64, 16, nullptr);
  Cache consumer(evo::SharedBack<evo::OpsBack>(&back, &lock, concurrent, transfer.get()), 64, 16, nullptr);
  REQUIRE(producer.init(&err));
  REQUIRE(consumer.init(&err));

  // Round 1: the producer allocates 2000 blocks (from the heap), the consumer frees
  // them all: its list overflows every 33 frees and hands each batch over whole.
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) blocks.push_back(producer.allocate(64, 16));
  const std::uint64_t heap_allocs = inst.stats().allocs, heap_frees = inst.stats().frees;
  for (void* p : blocks) consumer.deallocate(p);
  CHECK(inst.stats().frees == heap_frees);  // nothing went back to the heap
  CHECK(transfer->held() >= 2000 - 64);  // all but what the consumer's list keeps (<= its bound)

  // Round 2: the producer allocates as many again: its refills take the batches.
  const std::uint64_t held = transfer->held();
  std::vector<void*> again;
  for (int i = 0; i < 1900; ++i) again.push_back(producer.allocate(64, 16));
  CHECK(inst.stats().allocs == heap_allocs);  // not one block from the heap
  CHECK(transfer->held() < held);
  std::string verr;
  CHECK_MESSAGE(inst.validate(evo::ValidateLevel::Full, &verr), verr);
  for (void* p : again) consumer.deallocate(p);
  producer.flush_all();
  consumer.flush_all();
  transfer->drain([&](void* p) { back.deallocate(p); });
  const evo::AllocStats s = inst.stats();
  CHECK(s.allocs == s.frees);  // every block is back in the heap once
  CHECK(s.live_requested == 0);
  CHECK_MESSAGE(inst.validate(evo::ValidateLevel::Full, &verr), verr);
}
