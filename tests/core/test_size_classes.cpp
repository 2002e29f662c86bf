// Tests of core/sizeclass: the class schemes, the fitted (DP) scheme against brute
// force, and the size -> class lookup table.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "core/sizeclass/size_classes.hpp"
#include "tests/core/stress.hpp"

using evo::class_sizes;
using evo::SizeCount;

namespace {

std::vector<std::uint32_t> sizes(std::string_view scheme, std::size_t large, std::size_t q = 16,
                                 std::vector<SizeCount> hist = {}) {
  std::vector<std::uint32_t> v;
  std::string err;
  REQUIRE_MESSAGE(class_sizes(scheme, large, q, hist, v, &err), err);
  return v;
}

std::uint64_t waste(const std::vector<std::uint32_t>& classes, const std::vector<SizeCount>& hist, std::size_t q,
                    std::size_t large) {
  std::uint64_t w = 0;
  for (const SizeCount& h : hist) {
    if (h.size > large) continue;
    std::uint64_t r = (std::max<std::uint64_t>(h.size, 1) + q - 1) / q * q;
    auto it = std::lower_bound(classes.begin(), classes.end(), r);
    REQUIRE(it != classes.end());
    w += h.count * (*it - r);
  }
  return w;
}

}  // namespace

TEST_CASE("jemalloc spacing: 16..128 by 16, then four classes per doubling, up to large") {
  auto v = sizes("jemalloc", 16384);
  std::vector<std::uint32_t> head(v.begin(), v.begin() + 16);
  CHECK(head == std::vector<std::uint32_t>{16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512});
  CHECK(v.back() == 16384);
  CHECK(std::is_sorted(v.begin(), v.end()));
  CHECK(std::adjacent_find(v.begin(), v.end()) == v.end());
}

TEST_CASE("pow2 and linear schemes end with the large threshold") {
  CHECK(sizes("pow2", 4096) == std::vector<std::uint32_t>{16, 32, 64, 128, 256, 512, 1024, 2048, 4096});
  auto lin = sizes("linear:48", 1024);
  CHECK(lin.front() == 48);
  CHECK(lin[1] == 96);
  CHECK(lin[lin.size() - 2] == 1008);
  CHECK(lin.back() == 1024);
  auto pow2_odd = sizes("pow2", 3072);  // a large threshold that is not a power of two
  CHECK(pow2_odd.back() == 3072);
  CHECK(pow2_odd[pow2_odd.size() - 2] == 2048);
}

TEST_CASE("a quantum of 64 rounds every class to 64") {
  auto v = sizes("jemalloc", 16384, 64);
  CHECK(v.front() == 64);
  for (auto s : v) CHECK(s % 64 == 0);
  CHECK(std::adjacent_find(v.begin(), v.end()) == v.end());
}

TEST_CASE("fitted classes minimise the trace's internal fragmentation; the pow2 backbone bounds everything else") {
  std::vector<SizeCount> hist = {{24, 100}, {40, 50}, {1000, 10}, {20000, 5}};
  CHECK(evo::fitted_classes(3, 16384, 16, hist) == std::vector<std::uint32_t>{48, 1008, 16384});
  const auto v = sizes("fitted:3", 16384, 16, hist);
  CHECK(v == std::vector<std::uint32_t>{16, 32, 48, 64, 128, 256, 512, 1008, 1024, 2048, 4096, 8192, 16384});
  // The trace's sizes round no worse than with the fitted classes alone ...
  CHECK(waste(v, hist, 16, 16384) <= waste(evo::fitted_classes(3, 16384, 16, hist), hist, 16, 16384));
  // ... and a size the trace never asked for to at most twice itself (not to 16384).
  for (std::uint32_t n = 1; n <= 16384; n += 7) {
    const auto it = std::lower_bound(v.begin(), v.end(), n);
    REQUIRE(it != v.end());
    CHECK(*it <= std::max<std::uint32_t>(16, 2 * n));
  }
  // No histogram: the documented fallback is jemalloc.
  CHECK(sizes("fitted:3", 16384) == sizes("jemalloc", 16384));
}

TEST_CASE("fitted DP equals brute force on random histograms") {
  evo::test::StressRng rng(7);
  for (int round = 0; round < 40; ++round) {
    std::vector<SizeCount> hist;
    std::size_t n = 1 + rng.below(7);
    for (std::size_t i = 0; i < n; ++i) hist.push_back({1 + rng.below(2000), 1 + rng.below(1000)});
    std::size_t k = 1 + rng.below(4);
    const std::size_t large = 2048;
    auto fitted = evo::fitted_classes(k, large, 16, hist);  // the DP alone
    CHECK(fitted.size() <= k);
    // Brute force over all subsets of the distinct rounded sizes of size <= k-1.
    std::vector<std::uint64_t> cand;
    for (auto& h : hist) cand.push_back((h.size + 15) / 16 * 16);
    std::sort(cand.begin(), cand.end());
    cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
    cand.erase(std::remove(cand.begin(), cand.end(), large), cand.end());
    std::uint64_t best = UINT64_MAX;
    for (std::uint32_t mask = 0; mask < (1u << cand.size()); ++mask) {
      if (static_cast<std::size_t>(__builtin_popcount(mask)) > k - 1) continue;
      std::vector<std::uint32_t> cl;
      for (std::size_t i = 0; i < cand.size(); ++i)
        if (mask >> i & 1) cl.push_back(static_cast<std::uint32_t>(cand[i]));
      cl.push_back(large);
      best = std::min(best, waste(cl, hist, 16, large));
    }
    CHECK(waste(fitted, hist, 16, large) == best);
  }
}

TEST_CASE("bad schemes and thresholds are refused") {
  std::vector<std::uint32_t> v;
  std::string err;
  CHECK_FALSE(class_sizes("golden", 16384, 16, {}, v, &err));
  CHECK(err.find("golden") != std::string::npos);
  CHECK_FALSE(class_sizes("pow2", 1000, 16, {}, v, &err));  // not a multiple of 16
  CHECK_FALSE(class_sizes("pow2", 1024, 24, {}, v, &err));  // quantum not a power of two
}

TEST_CASE("the lookup table maps each size to the smallest class that fits") {
  evo::MemorySource src(std::size_t{64} << 20);
  evo::MetaArena arena(src);
  evo::SizeClasses sc;
  std::string err;
  REQUIRE(sc.build("jemalloc", 16384, 16, {}, arena, &err));
  CHECK(sc.validate(&err));
  CHECK(sc.lookup(1, nullptr) == 0);
  CHECK(sc.lookup(16, nullptr) == 0);
  CHECK(sc.lookup(17, nullptr) == 1);
  CHECK(sc.size(sc.lookup(129, nullptr)) == 160);
  CHECK(sc.size(sc.lookup(16384, nullptr)) == 16384);
  CHECK(sc.lookup(16384, nullptr) == sc.count() - 1);
  for (std::size_t s = 1; s <= 16384; s += 7) {
    std::uint32_t c = sc.lookup(s, nullptr);
    CHECK(sc.size(c) >= s);
    if (c > 0) CHECK(sc.size(c - 1) < s);
  }
  CHECK(src.footprint() > 0);  // the table lives in the instance's own memory
}
