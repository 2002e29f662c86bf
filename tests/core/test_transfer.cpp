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

using Cache = evo::FrontCache<evo::SharedBack<evo::OpsBack>>;

/// Thread model tcache in miniature: one slab instance behind a lock and a transfer
/// cache, and thread caches over it (make), as the threaded replay builds them.
struct TcacheRig {
  std::string err;
  evo::Instance inst = evo::Instance::create("slab slab=64K align=16 source=mmap harden=off front=none retain=0", {}, &err);
  evo::OpsBack back{&inst.ops(), inst.state()};
  evo::HeapLock lock;
  evo::TransferCache::Owned transfer{new evo::TransferCache};

  TcacheRig() { REQUIRE_MESSAGE(inst, err); }

  /// A thread's cache of configuration word `word` (parse_front's) over the instance.
  std::unique_ptr<Cache> make(std::uint32_t word) {
    auto c = std::make_unique<Cache>(
        evo::SharedBack<evo::OpsBack>(&back, &lock, inst.row().traits.concurrent_usable_size, transfer.get()), word, 16,
        nullptr);
    REQUIRE(c->init(&err));
    return c;
  }
};

}  // namespace

TEST_CASE("TransferCache: a class's blocks come back last in, first out; classes are separate") {
  evo::TransferCache::Owned t(new evo::TransferCache);
  std::vector<Node> nodes(16);
  for (std::size_t i = 0; i < nodes.size(); ++i) nodes[i].id = i;
  auto id = [](void* p) { return static_cast<Node*>(p)->id; };
  void* out[64];
  CHECK(t->take(3, out, 64, 16) == 0);
  CHECK(t->resident() == 0);  // no storage before the first put
  void* head = link(nodes, 0, 6);
  REQUIRE(t->put(3, head, 4, 16));  // the first 4 of the list; head moves past them
  CHECK(id(head) == 4);
  REQUIRE(t->put(3, head, 2, 16));
  CHECK(head == nullptr);
  CHECK(t->held() == 6);
  CHECK(t->held_bytes() == 6 * 16);
  CHECK(t->resident() > 0);
  CHECK(t->take(4, out, 64, 16) == 0);  // classes are separate
  REQUIRE(t->take(3, out, 3, 16) == 3);  // the last three put
  CHECK(id(out[0]) == 3);
  CHECK(id(out[1]) == 4);
  CHECK(id(out[2]) == 5);
  REQUIRE(t->take(3, out, 64, 16) == 3);
  CHECK(id(out[0]) == 0);
  CHECK(t->take(3, out, 64, 16) == 0);
  CHECK(t->held_bytes() == 0);
  head = link(nodes, 0, 1);
  CHECK_FALSE(t->put(evo::TransferCache::kClasses, head, 1, 16));  // no such class
  CHECK_FALSE(t->put(0, head, 0, 16));                             // empty batch
  CHECK(id(head) == 0);                                            // a refused batch stays the caller's
}

TEST_CASE("TransferCache: kMaxBytes bounds all classes together") {
  evo::TransferCache::Owned t(new evo::TransferCache);
  const std::uint32_t per = static_cast<std::uint32_t>(evo::TransferCache::kMaxBytes / 1024);
  std::vector<Node> nodes(per + 2);
  void* out[64];
  void* head = link(nodes, 0, per + 2);
  REQUIRE(t->put(1, head, per / 2, 1024));  // half the budget in class 1, half in class 5
  REQUIRE(t->put(5, head, per / 2, 1024));
  CHECK(t->held_bytes() == evo::TransferCache::kMaxBytes);
  CHECK_FALSE(t->put(1, head, 1, 1024));
  CHECK_FALSE(t->put(9, head, 1, 1024));  // a class with room in its slots: the budget is shared
  CHECK(t->take(5, out, 64, 1024) == 64);
  CHECK(t->put(9, head, 1, 1024));  // room again, for any class
  CHECK(t->held() == per - 64 + 1);
  CHECK(t->held_bytes() == (std::size_t{per} - 63) * 1024);
}

TEST_CASE("TransferCache: kCap blocks per class; drain gives every block once") {
  evo::TransferCache::Owned t(new evo::TransferCache);
  std::vector<Node> nodes(evo::TransferCache::kCap + 100);
  for (std::size_t i = 0; i < nodes.size(); ++i) nodes[i].id = i;
  void* head = link(nodes, 0, evo::TransferCache::kCap + 1);
  REQUIRE(t->put(2, head, evo::TransferCache::kCap, 16));
  CHECK_FALSE(t->put(2, head, 1, 16));
  CHECK(t->put(3, head, 1, 16));  // another class has room
  head = link(nodes, evo::TransferCache::kCap + 1, 10);
  REQUIRE(t->put(7, head, 10, 48));
  CHECK(t->held() == evo::TransferCache::kCap + 11);
  // The touched slot pages are resident: at least the kCap pointers of class 2.
  CHECK(t->resident() >= evo::TransferCache::kCap * sizeof(void*));
  CHECK(t->resident() <= evo::TransferCache::kStorageBytes);

  std::vector<int> seen(nodes.size(), 0);
  const std::uint64_t drained = t->drain([&](void* p) { ++seen[static_cast<Node*>(p)->id]; });
  CHECK(drained == evo::TransferCache::kCap + 11);
  for (std::size_t i = 0; i < evo::TransferCache::kCap + 11; ++i) CHECK(seen[i] == 1);
  CHECK(t->held() == 0);
  CHECK(t->held_bytes() == 0);
  void* out[4];
  CHECK(t->take(2, out, 4, 16) == 0);
}

TEST_CASE("TransferCache: producers and consumers on real threads; every block arrives once") {
  // Two threads put batches of their own nodes (falling back to a locked 'heap' when
  // the class is full), two take blocks; at the end the drain gives the rest.
  constexpr std::size_t kEach = 100000, kBatch = 16;
  evo::TransferCache::Owned t(new evo::TransferCache);
  std::vector<Node> nodes(2 * kEach);
  for (std::size_t i = 0; i < nodes.size(); ++i) nodes[i].id = i;
  std::vector<std::uint8_t> seen(nodes.size(), 0);
  std::mutex heap_lock;  // the 'shared instance': fallbacks and the consumers' tallies
  std::atomic<int> producing{2};
  std::vector<std::thread> ts;
  for (int p = 0; p < 2; ++p)
    ts.emplace_back([&, p] {
      for (std::size_t at = p * kEach; at < (p + 1) * kEach; at += kBatch) {
        void* head = link(nodes, at, kBatch);
        if (!t->put(static_cast<std::uint32_t>(at / kBatch) % 3, head, kBatch, 16)) {
          std::lock_guard<std::mutex> g(heap_lock);
          for (auto* b = static_cast<Node*>(head); b != nullptr; b = b->next) ++seen[b->id];
        }
      }
      --producing;
    });
  for (int c = 0; c < 2; ++c)
    ts.emplace_back([&] {
      void* out[40];
      while (producing.load() > 0)
        for (std::uint32_t k = 0; k < 3; ++k) {
          const std::uint32_t n = t->take(k, out, 40, 16);
          std::lock_guard<std::mutex> g(heap_lock);
          for (std::uint32_t i = 0; i < n; ++i) ++seen[static_cast<Node*>(out[i])->id];
        }
    });
  for (std::thread& th : ts) th.join();
  t->drain([&](void* p) { ++seen[static_cast<Node*>(p)->id]; });
  std::size_t once = 0;
  for (std::uint8_t s : seen) once += s == 1;
  CHECK(once == seen.size());
}

TEST_CASE("TransferCache in thread model tcache: one cache's flushes feed another's refills, not the heap") {
  TcacheRig rig;
  auto producer_cache = rig.make(64), consumer_cache = rig.make(64);
  Cache& producer = *producer_cache;
  Cache& consumer = *consumer_cache;

  // Round 1: the producer allocates 2000 blocks (from the heap), the consumer frees
  // them all: its list overflows every 33 frees and hands each batch over whole.
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) blocks.push_back(producer.allocate(64, 16));
  const std::uint64_t heap_allocs = rig.inst.stats().allocs, heap_frees = rig.inst.stats().frees;
  for (void* p : blocks) consumer.deallocate(p);
  CHECK(rig.inst.stats().frees == heap_frees);  // nothing went back to the heap
  CHECK(rig.transfer->held() >= 2000 - 64);  // all but what the consumer's list keeps (<= its bound)

  // Round 2: the producer allocates as many again: its refills take the batches.
  const std::uint64_t held = rig.transfer->held();
  std::vector<void*> again;
  for (int i = 0; i < 1900; ++i) again.push_back(producer.allocate(64, 16));
  CHECK(rig.inst.stats().allocs == heap_allocs);  // not one block from the heap
  CHECK(rig.transfer->held() < held);
  std::string verr;
  CHECK_MESSAGE(rig.inst.validate(evo::ValidateLevel::Full, &verr), verr);

  // A small bound flushes a refill's worth (min(bound, 64) blocks), not bound/2: a
  // cache of bound 16 that frees 17 blocks hands over 16 and keeps 1.
  auto small_cache = rig.make(16);
  Cache& small = *small_cache;
  std::vector<void*> big;
  for (int i = 0; i < 17; ++i) big.push_back(producer.allocate(256, 16));
  const std::uint64_t before = rig.transfer->held();
  for (int i = 0; i < 16; ++i) small.deallocate(big[i]);
  CHECK(rig.transfer->held() == before);  // within the bound: all in the list
  small.deallocate(big[16]);
  CHECK(rig.transfer->held() == before + 16);
  small.flush_all();

  for (void* p : again) consumer.deallocate(p);
  producer.flush_all();
  consumer.flush_all();
  rig.transfer->drain([&](void* p) { rig.back.deallocate(p); });
  const evo::AllocStats s = rig.inst.stats();
  CHECK(s.allocs == s.frees);  // every block is back in the heap once
  CHECK(s.live_requested == 0);
  CHECK_MESSAGE(rig.inst.validate(evo::ValidateLevel::Full, &verr), verr);
}

TEST_CASE("TransferCache in thread model tcache: a class that churns moves half batches and lands half full") {
  TcacheRig rig;
  const std::uint32_t word = 64u | evo::kFrontArray;
  auto producer = rig.make(word), consumer = rig.make(word), churner = rig.make(word);
  std::uint32_t cls = 0;
  while (cls < churner->classes() && churner->class_size(cls) < 64) ++cls;
  REQUIRE(churner->class_size(cls) == 64);

  // A consumer's flushes go one way: whole batches of 64 (a refill's worth).
  std::vector<void*> blocks;
  for (int i = 0; i < 400; ++i) blocks.push_back(producer->allocate(64, 16));
  for (int i = 0; i < 300; ++i) consumer->deallocate(blocks[i]);
  CHECK(rig.transfer->held() == 256);  // four flushes of 64; 44 stay in the consumer's stack
  CHECK(consumer->cached(cls) == 44);

  // The churner's first refill takes a whole batch too (no direction yet) ...
  void* own = churner->allocate(64, 16);
  CHECK(churner->cached(cls) == 63);
  CHECK(rig.transfer->held() == 192);
  // ... but its first flush comes after a refill: half the limit leaves, not the stack.
  churner->deallocate(own);          // 64: the stack is full
  churner->deallocate(blocks[300]);  // overflows
  CHECK(churner->cached(cls) == 33);  // 64 - 32, then the push (a whole batch left 1)
  CHECK(rig.transfer->held() == 224);
  // And a refill after that flush takes half the limit (32): the stack lands at 31.
  std::vector<void*> taken;
  for (int i = 0; i < 34; ++i) taken.push_back(churner->allocate(64, 16));
  CHECK(churner->cached(cls) == 31);
  CHECK(rig.transfer->held() == 192);

  std::string verr;
  CHECK_MESSAGE(rig.inst.validate(evo::ValidateLevel::Full, &verr), verr);
  for (void* p : taken) churner->deallocate(p);
  for (int i = 301; i < 400; ++i) producer->deallocate(blocks[i]);
  producer->flush_all();
  consumer->flush_all();
  churner->flush_all();
  rig.transfer->drain([&](void* p) { rig.back.deallocate(p); });
  const evo::AllocStats st = rig.inst.stats();
  CHECK(st.allocs == st.frees);  // every block is back in the heap once
  CHECK(st.live_requested == 0);
}
