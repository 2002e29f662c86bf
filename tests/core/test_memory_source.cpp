// Tests of core/source/memory_source: exact footprint accounting, the region
// break, chunk placement and reuse, the limit.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/source/memory_source.hpp"

using evo::kPageSize;
using evo::MemorySource;

TEST_CASE("region grows by bytes and commits whole pages") {
  MemorySource src(std::size_t{64} << 20);
  REQUIRE(src.ok());
  CHECK(src.footprint() == 0);
  char* a = static_cast<char*>(src.grow(10));
  CHECK(a == src.region_base());
  CHECK(src.footprint() == kPageSize);
  char* b = static_cast<char*>(src.grow(kPageSize));
  CHECK(b == a + 10);
  CHECK(src.footprint() == 2 * kPageSize);
  std::memset(a, 0xab, 10 + kPageSize);  // committed memory is writable
  src.shrink(kPageSize);
  CHECK(src.region_size() == 10);
  CHECK(src.footprint() == kPageSize);
  CHECK(src.peak_footprint() == 2 * kPageSize);
}

TEST_CASE("region refuses to grow past its half of the reservation") {
  MemorySource src(std::size_t{4} << 20);
  CHECK(src.grow(src.region_capacity() + 1) == nullptr);
  CHECK(src.grow(src.region_capacity()) != nullptr);
  CHECK(src.grow(1) == nullptr);
}

TEST_CASE("chunks honour alignment, read as zero, and are reused after unmap") {
  MemorySource src(std::size_t{64} << 20);
  void* a = src.map(3 * kPageSize, 64 * 1024);
  REQUIRE(a != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(a) % (64 * 1024) == 0);
  CHECK(static_cast<unsigned char*>(a)[100] == 0);
  CHECK(src.footprint() == 3 * kPageSize);
  void* b = src.map(kPageSize);
  REQUIRE(b != nullptr);
  CHECK(b != a);
  std::memset(a, 1, 3 * kPageSize);
  src.unmap(a, 3 * kPageSize);
  CHECK(src.footprint() == kPageSize);
  void* c = src.map(3 * kPageSize, 64 * 1024);
  CHECK(c == a);  // first fit returns the lowest free address again
  CHECK(static_cast<unsigned char*>(c)[0] == 0);  // returned pages come back zeroed
  CHECK(src.os_calls() == 4);
}

TEST_CASE("the limit caps the footprint") {
  MemorySource src(std::size_t{64} << 20, 8 * kPageSize);
  CHECK(src.map(8 * kPageSize) != nullptr);
  CHECK(src.map(kPageSize) == nullptr);
  CHECK(src.grow(1) == nullptr);
  CHECK(src.footprint() == 8 * kPageSize);
}

TEST_CASE("unmapped neighbours coalesce into one free range") {
  MemorySource src(std::size_t{64} << 20);
  void* p[4];
  for (auto& q : p) q = src.map(kPageSize);
  for (int i = 0; i < 3; ++i) CHECK(static_cast<char*>(p[i]) + kPageSize == p[i + 1]);
  src.unmap(p[0], kPageSize);
  src.unmap(p[2], kPageSize);
  src.unmap(p[1], kPageSize);
  CHECK(src.map(3 * kPageSize) == p[0]);
}

// ---- the two backings: same accounting, same addresses, fresh memory reads zero ----

namespace {

using evo::SourceBacking;

// One observation after a call: what it returned (offset from base, or -1) and the counters.
struct Step {
  long long off;
  std::uint64_t footprint, peak, os_calls;
  bool operator==(const Step&) const = default;
};

long long offset_of(const MemorySource& s, const void* p) {
  return p == nullptr ? -1 : static_cast<long long>(static_cast<const char*>(p) - s.base());
}

// A fixed-seed mix of grow/shrink/map/unmap/reserve/commit_pages, writing into what it
// gets and checking that every freshly committed byte reads zero. Returns the steps.
std::vector<Step> script(MemorySource& s, std::uint64_t seed, int calls) {
  std::vector<Step> out;
  struct Chunk {
    char* p;
    std::size_t bytes;
  };
  std::vector<Chunk> chunks;
  std::uint64_t x = seed;
  auto next = [&x] {  // xorshift64: deterministic, no library dependence
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  auto all_zero = [](const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      if (p[i] != 0) return false;
    return true;
  };
  for (int c = 0; c < calls; ++c) {
    const void* got = nullptr;
    switch (next() % 5) {
      case 0: {  // grow: the new bytes past the old committed end read zero
        const std::size_t n = 1 + next() % (5 * kPageSize);
        char* old_commit_end = s.region_base() + ((s.region_size() + kPageSize - 1) & ~(kPageSize - 1));
        char* p = static_cast<char*>(s.grow(n));
        got = p;
        if (p != nullptr) {
          if (p + n > old_commit_end) CHECK(all_zero(old_commit_end, static_cast<std::size_t>(p + n - old_commit_end)));
          std::memset(p, 0x5a, n);
        }
        break;
      }
      case 1:
        s.shrink(next() % (3 * kPageSize + 1));
        break;
      case 2: {
        const std::size_t n = (1 + next() % 8) * kPageSize - next() % 100;
        const std::size_t align = std::size_t{1} << (12 + next() % 5);
        char* p = static_cast<char*>(s.map(n, align));
        got = p;
        if (p != nullptr) {
          CHECK(all_zero(p, n));
          std::memset(p, 0xa5, n);
          chunks.push_back({p, n});
        }
        break;
      }
      case 3:
        if (!chunks.empty()) {
          const std::size_t i = next() % chunks.size();
          s.unmap(chunks[i].p, chunks[i].bytes);
          chunks.erase(chunks.begin() + static_cast<long>(i));
        }
        break;
      default: {  // reserve, then commit a part of it
        char* r = static_cast<char*>(s.reserve(4 * kPageSize));
        got = r;
        if (r != nullptr && s.commit_pages(r + kPageSize, 2 * kPageSize)) {
          CHECK(all_zero(r + kPageSize, 2 * kPageSize));
          std::memset(r + kPageSize, 0x11, 2 * kPageSize);
        }
        break;
      }
    }
    out.push_back({offset_of(s, got), s.footprint(), s.peak_footprint(), s.os_calls()});
  }
  return out;
}

}  // namespace

TEST_CASE("simulated backing: the same footprint, peak, os_calls and addresses as the real one") {
  for (std::uint64_t seed : {1ull, 7ull, 12345ull}) {
    MemorySource real(std::size_t{64} << 20, 0, SourceBacking::Real);
    MemorySource sim(std::size_t{64} << 20, 0, SourceBacking::Simulated);
    REQUIRE(real.ok());
    REQUIRE(sim.ok());
    CHECK(real.backing() == SourceBacking::Real);
    CHECK(sim.backing() == SourceBacking::Simulated);
    const auto a = script(real, seed, 400);
    const auto b = script(sim, seed, 400);
    REQUIRE(a.size() == b.size());
    std::size_t first_diff = a.size();
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!(a[i] == b[i])) {
        first_diff = i;
        break;
      }
    CHECK_MESSAGE(first_diff == a.size(), "seed " << seed << " differs at call " << first_diff);
    CHECK(a.back().os_calls > 100);  // the script really commits and decommits
    CHECK(real.dirty_bytes() == 0);  // the real backing keeps no dirty pages
  }
}

TEST_CASE("simulated backing: re-committed pages read zero (region and chunks)") {
  MemorySource src(std::size_t{64} << 20, 0, SourceBacking::Simulated);
  char* a = static_cast<char*>(src.grow(3 * kPageSize));
  REQUIRE(a != nullptr);
  std::memset(a, 0x77, 3 * kPageSize);
  src.shrink(3 * kPageSize);
  CHECK(src.footprint() == 0);
  CHECK(src.dirty_bytes() == 3 * kPageSize);
  char* b = static_cast<char*>(src.grow(3 * kPageSize));
  CHECK(b == a);
  for (std::size_t i = 0; i < 3 * kPageSize; i += 511) CHECK(b[i] == 0);
  CHECK(src.dirty_bytes() == 0);
  // Chunks: unmap a dirty chunk, then map a bigger one over it and its clean neighbours.
  char* c = static_cast<char*>(src.map(2 * kPageSize));
  std::memset(c, 0x33, 2 * kPageSize);
  src.unmap(c + kPageSize, kPageSize);  // tail only
  CHECK(src.dirty_bytes() == kPageSize);
  CHECK(c[0] == 0x33);  // the part still mapped keeps its contents
  char* d = static_cast<char*>(src.map(4 * kPageSize));
  CHECK(d == c + kPageSize);
  for (std::size_t i = 0; i < 4 * kPageSize; i += 255) CHECK(d[i] == 0);
  CHECK(src.dirty_bytes() == 0);
}

TEST_CASE("the limit works the same with both backings") {
  for (SourceBacking b : {SourceBacking::Real, SourceBacking::Simulated}) {
    MemorySource src(std::size_t{64} << 20, 8 * kPageSize, b);
    CHECK(src.map(6 * kPageSize) != nullptr);
    CHECK(src.grow(2 * kPageSize) != nullptr);
    CHECK(src.map(kPageSize) == nullptr);
    CHECK(src.grow(1) == nullptr);
    CHECK(src.footprint() == 8 * kPageSize);
    src.shrink(2 * kPageSize);
    CHECK(src.map(2 * kPageSize) != nullptr);
    CHECK(src.os_calls() == 4);
  }
}

TEST_CASE("simulated backing: dirty pages past the budget are released in one batch") {
  MemorySource src(std::size_t{64} << 20, 0, SourceBacking::Simulated);
  src.set_dirty_budget(4 * kPageSize);
  char* p[6];
  for (auto& q : p) {
    q = static_cast<char*>(src.map(kPageSize));
    std::memset(q, 0x42, kPageSize);
  }
  // Unmap every other page first (three runs), then the rest: the fifth decommit
  // crosses the budget of four pages.
  for (int i : {0, 2, 4, 1}) src.unmap(p[i], kPageSize);
  CHECK(src.dirty_bytes() == 4 * kPageSize);
  CHECK(src.dirty_releases() == 0);
  src.unmap(p[3], kPageSize);
  CHECK(src.dirty_releases() == 1);
  CHECK(src.dirty_bytes() == 0);
  CHECK(p[5][0] == 0x42);  // a live page is not released
  // Released pages come back zero without being cleaned (their bits are clear).
  char* q = static_cast<char*>(src.map(5 * kPageSize));
  REQUIRE(q == p[0]);
  for (std::size_t i = 0; i < 5 * kPageSize; i += 127) CHECK(q[i] == 0);
  CHECK(src.footprint() == 6 * kPageSize);
}
