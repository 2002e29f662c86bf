// Tests of the Fibonacci buddy (core/buddy/fib_heap.hpp): Fibonacci block sizes,
// unequal splits, merging back to one free superblock, and the stress harness.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/buddy/fib_heap.hpp"
#include "core/instance.hpp"
#include "tests/core/stress.hpp"

namespace {

constexpr std::size_t kOps = evo::test::stress_ops(40000, 5000);

evo::buddy::FibBuddyHeap make_heap(std::size_t sb) {
  evo::buddy::FibConfig c;
  c.sb = sb;
  c.large = sb;
  return evo::buddy::FibBuddyHeap(c);
}

}  // namespace

TEST_CASE("fibbuddy: block sizes are Fibonacci multiples of the unit") {
  std::string err;
  evo::Instance a = evo::Instance::create("fibbuddy", {}, &err);
  REQUIRE_MESSAGE(a, err);
  const std::size_t fib[] = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233};
  for (std::size_t req : {1, 16, 17, 33, 49, 81, 100, 129, 200, 300, 500, 800}) {
    void* p = a.allocate(req);
    std::size_t u = a.usable_size(p);
    CAPTURE(req);
    CHECK(u >= req);
    CHECK(std::find(std::begin(fib), std::end(fib), u / 16) != std::end(fib));
    CHECK(u % 16 == 0);
    std::size_t smaller = 0;
    for (std::size_t f : fib)
      if (f * 16 < u) smaller = f * 16;
    CHECK(smaller < std::max<std::size_t>(req, 1));  // the smallest Fibonacci block that fits
  }
  CHECK(a.validate(evo::ValidateLevel::Full, &err));
}

TEST_CASE("fibbuddy: a split gives unequal buddies that merge back") {
  auto h = make_heap(16 * 1024);  // unit 16: superblock of 987 units (15792 B)
  std::string err;
  REQUIRE(h.init(&err));
  CHECK(h.superblock_bytes() == 987 * 16);
  char* a = static_cast<char*>(h.allocate(16, 16));  // keeps splitting the right child: ends at the far right
  char* b = static_cast<char*>(h.allocate(16, 16));
  CHECK(a != b);
  CHECK(h.validate(evo::ValidateLevel::Full, &err));
  h.deallocate(a);
  h.deallocate(b);
  CHECK(h.validate(evo::ValidateLevel::Full, &err));
  // Everything merged: the whole superblock is one block again.
  void* whole = h.allocate(h.superblock_bytes(), 16);
  CHECK(h.usable_size(whole) == h.superblock_bytes());
  CHECK(h.superblocks() == 1);
  h.deallocate(whole);
}

TEST_CASE("fibbuddy: random frees in any order merge back to one free superblock") {
  auto h = make_heap(64 * 1024);
  std::string err;
  REQUIRE(h.init(&err));
  std::mt19937_64 rng(9);
  std::vector<void*> v;
  for (int i = 0; i < 400; ++i) v.push_back(h.allocate(1 + rng() % 300, 16));
  std::size_t sbs = h.superblocks();
  CHECK(sbs >= 1);
  std::shuffle(v.begin(), v.end(), rng);
  for (std::size_t i = 0; i < v.size(); ++i) {
    h.deallocate(v[i]);
    if (i % 50 == 0) CHECK_MESSAGE(h.validate(evo::ValidateLevel::Full, &err), err);
  }
  CHECK(h.superblocks() == 1);  // emptied extra superblocks went back to the OS
  void* whole = h.allocate(h.superblock_bytes(), 16);
  CHECK(h.usable_size(whole) == h.superblock_bytes());  // the remaining one is whole again
  CHECK(h.superblocks() == 1);
}

TEST_CASE("fibbuddy rows survive the stress harness, small and default superblocks, align=64") {
  for (const char* text : {"fibbuddy", "fibbuddy sb=16K large=2K", "fibbuddy min=32 align=64", "fibbuddy harden=checked"}) {
    CAPTURE(text);
    std::string err;
    evo::Instance inst = evo::Instance::create(text, {}, &err);
    REQUIRE_MESSAGE(inst, err);
    evo::test::StressConfig cfg;
    cfg.seed = 21;
    cfg.ops = kOps;
    cfg.max_size = 300 * 1024;
    cfg.full_every = 2000;
    evo::test::StressResult r = evo::test::run_stress(inst, cfg);
    CHECK_MESSAGE(r.ok, r.error);
  }
}
