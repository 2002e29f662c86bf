// Tests of core/source/memory_source: exact footprint accounting, the region
// break, chunk placement and reuse, the limit; the lazily committed LazyTable.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "core/source/lazy_table.hpp"
#include "core/source/memory_source.hpp"
#include "core/source/meta_arena.hpp"

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

TEST_CASE("region keeps up to retain bytes committed above its break (trim threshold)") {
  for (const bool simulated : {false, true}) {
    CAPTURE(simulated);
    MemorySource src(std::size_t{64} << 20, 0, simulated ? evo::SourceBacking::Simulated : evo::SourceBacking::Real);
    REQUIRE(src.ok());
    src.set_retain(8 * kPageSize);
    char* a = static_cast<char*>(src.grow(20 * kPageSize));
    REQUIRE(a != nullptr);
    std::memset(a, 0x5a, 20 * kPageSize);
    const std::uint64_t calls = src.os_calls();
    src.shrink(12 * kPageSize);  // 12 pages above the break: 8 stay committed, 4 go back
    CHECK(src.footprint() == 16 * kPageSize);
    CHECK(src.os_calls() == calls + 1);
    CHECK(src.grow(8 * kPageSize) == a + 8 * kPageSize);  // within the kept pages: no commit
    CHECK(src.footprint() == 16 * kPageSize);
    CHECK(src.os_calls() == calls + 1);
    a[16 * kPageSize - 1] = 1;  // still writable
    src.shrink(2 * kPageSize);  // 2 pages above the break, under the budget: nothing returned
    CHECK(src.footprint() == 16 * kPageSize);
    src.set_retain(0);
    src.shrink(14 * kPageSize);  // retain=0 trims to the break at once
    CHECK(src.region_size() == 0);
    CHECK(src.footprint() == 0);
  }
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

// ---- remap: resize a mapped chunk in place, or move its pages ----

namespace {

// The byte a test writes at offset i of a chunk tagged `tag`.
char pattern(std::size_t i, unsigned tag) { return static_cast<char>((i * 131 + tag * 7 + 1) % 251); }

void fill(char* p, std::size_t n, unsigned tag) {
  for (std::size_t i = 0; i < n; ++i) p[i] = pattern(i, tag);
}

bool holds(const char* p, std::size_t n, unsigned tag) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != pattern(i, tag)) return false;
  return true;
}

bool zero(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

// Every way a move can be done: both backings, mremap or the copy fallback.
struct Flavour {
  SourceBacking backing;
  bool by_copy;
};
constexpr Flavour kFlavours[] = {{SourceBacking::Real, false},
                                 {SourceBacking::Real, true},
                                 {SourceBacking::Simulated, false},
                                 {SourceBacking::Simulated, true}};
std::ostream& operator<<(std::ostream& o, const Flavour& f) {
  return o << evo::source_backing_name(f.backing) << (f.by_copy ? ", moves by copy" : ", moves by mremap");
}

/// A 64 MiB source of flavour f, with `limit` (0: none).
struct FlavourSource : MemorySource {
  explicit FlavourSource(const Flavour& f, std::size_t limit = 0) : MemorySource(std::size_t{64} << 20, limit, f.backing) {
    set_remap_by_copy(f.by_copy);
  }
};

}  // namespace

TEST_CASE("remap grows in place when the range after the chunk is free") {
  for (const Flavour f : kFlavours) {
    CAPTURE(f);
    FlavourSource src(f);
    char* a = static_cast<char*>(src.map(2 * kPageSize));
    REQUIRE(a != nullptr);
    fill(a, 2 * kPageSize, 1);
    const auto calls = src.os_calls();
    char* b = static_cast<char*>(src.remap(a, 2 * kPageSize, 5 * kPageSize - 100));
    CHECK(b == a);
    CHECK(src.footprint() == 5 * kPageSize);
    CHECK(src.peak_footprint() == 5 * kPageSize);
    CHECK(src.os_calls() == calls + 1);
    CHECK(holds(b, 2 * kPageSize, 1));
    CHECK(zero(b + 2 * kPageSize, 3 * kPageSize));
    // The grown pages are no longer free: the next chunk comes after them.
    CHECK(src.map(kPageSize) == a + 5 * kPageSize);
  }
}

TEST_CASE("remap moves a chunk whose neighbour is taken, keeps its bytes, frees the old range") {
  for (const Flavour f : kFlavours) {
    CAPTURE(f);
    FlavourSource src(f);
    char* a = static_cast<char*>(src.map(3 * kPageSize));
    char* wall = static_cast<char*>(src.map(kPageSize));
    REQUIRE(wall == a + 3 * kPageSize);
    fill(a, 3 * kPageSize, 2);
    fill(wall, kPageSize, 3);
    const auto calls = src.os_calls();
    char* b = static_cast<char*>(src.remap(a, 3 * kPageSize, 64 * kPageSize, std::size_t{1} << 16));
    REQUIRE(b != nullptr);
    CHECK(b != a);
    CHECK(reinterpret_cast<std::uintptr_t>(b) % (std::size_t{1} << 16) == 0);
    CHECK(src.footprint() == 65 * kPageSize);
    CHECK(src.peak_footprint() == 65 * kPageSize);
    CHECK(src.os_calls() == calls + 2);
    CHECK(holds(b, 3 * kPageSize, 2));
    CHECK(zero(b + 3 * kPageSize, 61 * kPageSize));
    CHECK(holds(wall, kPageSize, 3));
    // The old range is free address space again, and reads zero when mapped again.
    char* c = static_cast<char*>(src.map(3 * kPageSize));
    CHECK(c == a);
    CHECK(zero(c, 3 * kPageSize));
    CHECK(src.dirty_bytes() == 0);
  }
}

TEST_CASE("remap shrinks in place and gives the tail back") {
  for (const Flavour f : kFlavours) {
    CAPTURE(f);
    FlavourSource src(f);
    char* a = static_cast<char*>(src.map(8 * kPageSize));
    fill(a, 8 * kPageSize, 4);
    const auto calls = src.os_calls();
    CHECK(src.remap(a, 8 * kPageSize, 3 * kPageSize) == a);
    CHECK(src.footprint() == 3 * kPageSize);
    CHECK(src.peak_footprint() == 8 * kPageSize);
    CHECK(src.os_calls() == calls + 1);
    CHECK(holds(a, 3 * kPageSize, 4));
    CHECK(src.remap(a, 3 * kPageSize, 3 * kPageSize - 10) == a);  // same pages: nothing to do
    CHECK(src.os_calls() == calls + 1);
    // The tail is free again: a 5-page chunk fits right after, and reads zero.
    char* t = static_cast<char*>(src.map(5 * kPageSize));
    CHECK(t == a + 3 * kPageSize);
    CHECK(zero(t, 5 * kPageSize));
  }
}

TEST_CASE("remap past the limit fails and leaves the chunk intact") {
  for (const Flavour f : kFlavours) {
    CAPTURE(f);
    FlavourSource src(f, 8 * kPageSize);
    char* a = static_cast<char*>(src.map(4 * kPageSize));
    fill(a, 4 * kPageSize, 5);
    const auto calls = src.os_calls();
    // In place (the range after is free) and by move (a wall after it): both refused.
    CHECK(src.remap(a, 4 * kPageSize, 9 * kPageSize) == nullptr);
    char* wall = static_cast<char*>(src.map(kPageSize));
    REQUIRE(wall == a + 4 * kPageSize);
    CHECK(src.remap(a, 4 * kPageSize, 8 * kPageSize) == nullptr);
    CHECK(src.footprint() == 5 * kPageSize);
    CHECK(src.os_calls() == calls + 1);  // the wall's commit only
    CHECK(holds(a, 4 * kPageSize, 5));
    // Up to the limit it moves.
    char* b = static_cast<char*>(src.remap(a, 4 * kPageSize, 7 * kPageSize));
    REQUIRE(b != nullptr);
    CHECK(src.footprint() == 8 * kPageSize);
    CHECK(holds(b, 4 * kPageSize, 5));
  }
}

TEST_CASE("remap: a prepare hook that refuses cancels the move") {
  MemorySource src(std::size_t{64} << 20);
  char* a = static_cast<char*>(src.map(kPageSize));
  src.map(kPageSize);  // wall
  fill(a, kPageSize, 6);
  void* seen = nullptr;
  auto refuse = [](void* ctx, void* dst) {
    *static_cast<void**>(ctx) = dst;
    return false;
  };
  CHECK(src.remap(a, kPageSize, 4 * kPageSize, kPageSize, refuse, &seen) == nullptr);
  CHECK(seen != nullptr);
  CHECK(holds(a, kPageSize, 6));
  CHECK(src.footprint() == 2 * kPageSize);
  // The destination it was offered is free again.
  CHECK(src.map(4 * kPageSize) == seen);
}

TEST_CASE("simulated backing: a move onto dirty pages reads zero past the old size") {
  for (bool by_copy : {false, true}) {
    MemorySource src(std::size_t{64} << 20, 0, SourceBacking::Simulated);
    src.set_remap_by_copy(by_copy);
    char* a = static_cast<char*>(src.map(kPageSize));
    src.map(kPageSize);  // wall
    char* d = static_cast<char*>(src.map(6 * kPageSize));
    std::memset(d, 0x6d, 6 * kPageSize);
    src.unmap(d, 6 * kPageSize);
    CHECK(src.dirty_bytes() == 6 * kPageSize);
    fill(a, kPageSize, 7);
    char* b = static_cast<char*>(src.remap(a, kPageSize, 6 * kPageSize));
    CHECK(b == d);
    CHECK(holds(b, kPageSize, 7));
    CHECK(zero(b + kPageSize, 5 * kPageSize));
    // The moved pages are not dirty; the copy fallback leaves the old page dirty.
    CHECK(src.dirty_bytes() == (by_copy ? kPageSize : 0));
  }
}

namespace {

// A fixed-seed mix of map/unmap/remap checking contents after every remap.
// Counts what the remaps did: kinds[0] in place, [1] moved, [2] failed.
std::vector<Step> remap_script(MemorySource& s, std::uint64_t seed, int calls, std::size_t kinds[3]) {
  std::vector<Step> out;
  struct Chunk {
    char* p;
    std::size_t bytes;
    unsigned tag;
  };
  std::vector<Chunk> chunks;
  std::uint64_t x = seed;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  unsigned tags = 0;
  for (int c = 0; c < calls; ++c) {
    const void* got = nullptr;
    const std::uint64_t op = next() % 6;
    if (op < 2 || chunks.empty()) {
      const std::size_t n = (1 + next() % 6) * kPageSize;
      char* p = static_cast<char*>(s.map(n));
      got = p;
      if (p != nullptr) {
        CHECK(zero(p, n));
        fill(p, n, ++tags);
        chunks.push_back({p, n, tags});
      }
    } else if (op == 2) {
      const std::size_t i = next() % chunks.size();
      s.unmap(chunks[i].p, chunks[i].bytes);
      chunks.erase(chunks.begin() + static_cast<long>(i));
    } else {
      Chunk& ch = chunks[next() % chunks.size()];
      const std::size_t n = (1 + next() % 24) * kPageSize;
      char* p = static_cast<char*>(s.remap(ch.p, ch.bytes, n, std::size_t{1} << (12 + next() % 3)));
      got = p;
      ++kinds[p == nullptr ? 2 : p == ch.p ? 0 : 1];
      if (p != nullptr) {
        const std::size_t kept = n < ch.bytes ? n : ch.bytes;
        CHECK(holds(p, kept, ch.tag));
        CHECK(zero(p + kept, n - kept));
        fill(p, n, ch.tag);
        ch = {p, n, ch.tag};
      } else {
        CHECK(holds(ch.p, ch.bytes, ch.tag));
      }
    }
    out.push_back({offset_of(s, got), s.footprint(), s.peak_footprint(), s.os_calls()});
  }
  return out;
}

}  // namespace

TEST_CASE("remap: the same addresses, footprint, peak and os_calls in every backing and path") {
  for (std::uint64_t seed : {3ull, 99ull}) {
    std::vector<std::vector<Step>> runs;
    for (const Flavour f : kFlavours) {
      FlavourSource src(f, 160 * kPageSize);
      src.set_dirty_budget(16 * kPageSize);  // batch releases happen too
      std::size_t kinds[3] = {};
      runs.push_back(remap_script(src, seed, 300, kinds));
      CHECK(kinds[0] > 10);  // the script exercises every outcome
      CHECK(kinds[1] > 10);
      CHECK(kinds[2] > 0);
    }
    for (std::size_t r = 1; r < runs.size(); ++r) {
      REQUIRE(runs[r].size() == runs[0].size());
      std::size_t first_diff = runs[0].size();
      for (std::size_t i = 0; i < runs[0].size(); ++i)
        if (!(runs[r][i] == runs[0][i])) {
          first_diff = i;
          break;
        }
      CHECK_MESSAGE(first_diff == runs[0].size(), "seed " << seed << ", flavour " << r << " differs at call " << first_diff);
    }
  }
}

namespace {

// Permissions ("rw-p", "---p") of the kernel mapping holding p, "" if none.
std::string perms_of(const void* p) {
  std::FILE* f = std::fopen("/proc/self/maps", "r");
  if (f == nullptr) return "?";
  char line[512];
  std::string out;
  const auto a = reinterpret_cast<unsigned long>(p);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long lo = 0, hi = 0;
    char perm[5] = {};
    if (std::sscanf(line, "%lx-%lx %4s", &lo, &hi, perm) == 3 && a >= lo && a < hi) {
      out = perm;
      break;
    }
  }
  std::fclose(f);
  return out;
}

}  // namespace

TEST_CASE("real backing: after a move the old range is reserved again (PROT_NONE), the new one read/write") {
  for (bool by_copy : {false, true}) {
    CAPTURE(by_copy);
    MemorySource src(std::size_t{64} << 20);
    src.set_remap_by_copy(by_copy);
    char* a = static_cast<char*>(src.map(2 * kPageSize));
    src.map(kPageSize);  // wall
    char* b = static_cast<char*>(src.remap(a, 2 * kPageSize, 6 * kPageSize));
    REQUIRE(b != nullptr);
    CHECK(perms_of(a) == "---p");
    CHECK(perms_of(a + kPageSize) == "---p");
    CHECK(perms_of(b) == "rw-p");
    CHECK(perms_of(b + 5 * kPageSize) == "rw-p");
    // Shrinking gives the tail back the same way.
    CHECK(src.remap(b, 6 * kPageSize, 2 * kPageSize) == b);
    CHECK(perms_of(b + 2 * kPageSize) == "---p");
  }
}

TEST_CASE("retention: an unmapped chunk is kept committed and handed out again without a system call") {
  for (evo::SourceBacking backing : {evo::SourceBacking::Real, evo::SourceBacking::Simulated}) {
    CAPTURE(evo::source_backing_name(backing));
    MemorySource src(std::size_t{64} << 20, 0, backing);
    src.set_retain(64 * kPageSize);
    void* a = src.map(16 * kPageSize, 16 * kPageSize);
    REQUIRE(a != nullptr);
    std::memset(a, 0x5a, 16 * kPageSize);
    const std::uint64_t calls = src.os_calls();
    src.unmap(a, 16 * kPageSize);
    CHECK(src.os_calls() == calls);                   // nothing returned to the OS
    CHECK(src.footprint() == 16 * kPageSize);         // kept bytes stay in the footprint
    CHECK(src.kept_bytes() == 16 * kPageSize);
    void* b = src.map(16 * kPageSize, 16 * kPageSize, false);
    CHECK(b == a);
    CHECK(src.os_calls() == calls);
    CHECK(static_cast<unsigned char*>(b)[5] == 0x5a);  // zero = false: contents as they were
    src.unmap(b, 16 * kPageSize);
    void* c = src.map(4 * kPageSize);                  // best fit: a piece of the kept chunk, zeroed
    CHECK(c == a);
    CHECK(static_cast<unsigned char*>(c)[5] == 0);
    CHECK(src.kept_bytes() == 12 * kPageSize);
    CHECK(src.footprint() == 16 * kPageSize);
  }
}

TEST_CASE("retention: the budget returns the oldest kept chunks first; 0 keeps nothing") {
  MemorySource src(std::size_t{64} << 20);
  src.set_retain(8 * kPageSize);
  void* a = src.map(4 * kPageSize);
  void* b = src.map(4 * kPageSize);
  void* c = src.map(4 * kPageSize);
  src.unmap(a, 4 * kPageSize);
  src.unmap(b, 4 * kPageSize);
  CHECK(src.kept_bytes() == 8 * kPageSize);
  src.unmap(c, 4 * kPageSize);  // a goes back to the OS
  CHECK(src.kept_bytes() == 8 * kPageSize);
  CHECK(src.footprint() == 8 * kPageSize);
  src.unmap(src.map(16 * kPageSize), 16 * kPageSize);  // bigger than the budget: returned at once
  CHECK(src.footprint() == 8 * kPageSize);
  src.set_retain(0);
  CHECK(src.kept_bytes() == 0);
  CHECK(src.footprint() == 0);
}

TEST_CASE("retention: a budget of many small chunks keeps them all (16 MiB of 16 KiB slabs)") {
  // The kept table once held 64 chunks, so retain=16M kept 1 MiB of 16 KiB slabs
  // and a slab design churned through the OS whatever its retain key said.
  constexpr std::size_t kSlab = 4 * kPageSize, kSlabs = 1000;
  for (evo::SourceBacking backing : {evo::SourceBacking::Real, evo::SourceBacking::Simulated}) {
    CAPTURE(evo::source_backing_name(backing));
    MemorySource src(std::size_t{256} << 20, 0, backing);
    src.set_retain(std::size_t{16} << 20);
    std::vector<void*> slabs;
    for (std::size_t i = 0; i < kSlabs; ++i) slabs.push_back(src.map(kSlab, kSlab, false));
    const std::uint64_t calls = src.os_calls();
    for (void* s : slabs) src.unmap(s, kSlab);
    CHECK(src.os_calls() == calls);  // every one kept
    CHECK(src.kept_bytes() == kSlabs * kSlab);
    for (std::size_t i = 0; i < kSlabs; ++i) CHECK(src.map(kSlab, kSlab, false) != nullptr);
    CHECK(src.os_calls() == calls);  // and handed out again without a system call
    CHECK(src.kept_bytes() == 0);
  }
}

TEST_CASE("retention auto: the budget grows to twice the largest block given back, up to 64 MiB") {
  constexpr std::size_t MiB = std::size_t{1} << 20;
  for (evo::SourceBacking backing : {evo::SourceBacking::Real, evo::SourceBacking::Simulated}) {
    CAPTURE(evo::source_backing_name(backing));
    MemorySource src(std::size_t{512} << 20, 0, backing);
    REQUIRE(src.ok());
    src.set_retain(MemorySource::kRetainAuto);
    CHECK(src.retain_auto());
    CHECK(src.retain() == MemorySource::kAutoRetainStart);
    // Under the starting budget: kept, the budget unchanged.
    src.unmap(src.map(MiB / 2), MiB / 2);
    CHECK(src.kept_bytes() == MiB / 2);
    CHECK(src.retain() == MemorySource::kAutoRetainStart);
    // A 3 MiB buffer: the first one given back raises the budget to 6 MiB and is kept,
    // so the program's next one costs no system call.
    void* a = src.map(3 * MiB, kPageSize, false);
    REQUIRE(a != nullptr);
    src.unmap(a, 3 * MiB);
    CHECK(src.retain() == 6 * MiB);
    CHECK(src.kept_bytes() == 3 * MiB + MiB / 2);
    const std::uint64_t calls = src.os_calls();
    CHECK(src.map(3 * MiB, kPageSize, false) == a);
    CHECK(src.os_calls() == calls);
    src.unmap(a, 3 * MiB);
    // 40 MiB: twice that is past the cap, the budget stops at 64 MiB.
    void* big = src.map(40 * MiB, kPageSize, false);
    REQUIRE(big != nullptr);
    src.unmap(big, 40 * MiB);
    CHECK(src.retain() == MemorySource::kAutoRetainMax);
    CHECK(src.kept_bytes() == 40 * MiB + 3 * MiB + MiB / 2);
    // Past the cap: returned at once, the budget stays.
    void* huge = src.map(100 * MiB, kPageSize, false);
    REQUIRE(huge != nullptr);
    const std::uint64_t before = src.footprint();
    src.unmap(huge, 100 * MiB);
    CHECK(src.footprint() == before - 100 * MiB);
    CHECK(src.retain() == MemorySource::kAutoRetainMax);
    // A fixed budget does not move.
    src.set_retain(MiB);
    CHECK_FALSE(src.retain_auto());
    src.unmap(src.map(3 * MiB), 3 * MiB);
    CHECK(src.retain() == MiB);
    CHECK(src.kept_bytes() <= MiB);
  }
}

TEST_CASE("retention auto: a large shrink of the region raises the budget and stays committed") {
  constexpr std::size_t MiB = std::size_t{1} << 20;
  MemorySource src(std::size_t{256} << 20);
  src.set_retain(MemorySource::kRetainAuto);
  REQUIRE(src.grow(5 * MiB) != nullptr);
  const std::uint64_t committed = src.footprint();
  const std::uint64_t calls = src.os_calls();
  src.shrink(5 * MiB);
  CHECK(src.retain() == 10 * MiB);
  CHECK(src.footprint() == committed);  // kept above the break, no system call
  CHECK(src.os_calls() == calls);
  REQUIRE(src.grow(5 * MiB) != nullptr);
  CHECK(src.os_calls() == calls);
}

TEST_CASE("retention: under a limit, kept chunks go back before a map fails") {
  MemorySource src(std::size_t{64} << 20, 8 * kPageSize);
  src.set_retain(8 * kPageSize);
  void* a = src.map(6 * kPageSize);
  REQUIRE(a != nullptr);
  src.unmap(a, 6 * kPageSize);
  CHECK(src.footprint() == 6 * kPageSize);
  void* b = src.map(8 * kPageSize);  // does not fit beside the kept chunk
  CHECK(b != nullptr);
  CHECK(src.footprint() == 8 * kPageSize);
  CHECK(src.kept_bytes() == 0);
}

TEST_CASE("the default reservation falls back to a smaller one under an address-space cap") {
  // A child process with RLIMIT_AS at 8 GiB: 64 GiB cannot be reserved, a half of a
  // half of... can (valgrind caps address space the same way).
#ifdef EVOALLOC_SANITIZE
  // ASan's shadow memory alone is terabytes of address space: under any such cap
  // nothing more can be mapped at all.
  MESSAGE("not run under EVOALLOC_SANITIZE: ASan's shadow exceeds any address-space cap");
  return;
#endif
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    rlimit lim{std::size_t{8} << 30, std::size_t{8} << 30};
    if (setrlimit(RLIMIT_AS, &lim) != 0) _exit(3);
    MemorySource src;
    if (!src.ok()) _exit(1);
    if (src.reserved() >= MemorySource::kDefaultReserve || src.reserved() < MemorySource::kMinFallbackReserve) _exit(2);
    MemorySource strict(std::size_t{32} << 30);  // another explicit size is all or nothing
    _exit(strict.ok() ? 4 : 0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("lazy table: unset entries read zero for free; a page of entries is committed on its first nonzero write") {
  for (evo::SourceBacking backing : {evo::SourceBacking::Real, evo::SourceBacking::Simulated}) {
    CAPTURE(static_cast<int>(backing));
    MemorySource src(std::size_t{64} << 20, std::size_t{64} << 20, backing);
    REQUIRE(src.ok());
    evo::MetaArena arena(src);
    evo::LazyTable<std::uint8_t> t;
    const std::size_t n = 3 * kPageSize + 5;  // four pages of entries, the last one partly used
    REQUIRE(t.init(src, arena, n));
    CHECK(t.size() == n);
    const std::uint64_t base = src.footprint();
    CHECK(t.get(0, nullptr) == 0);
    CHECK(t.get(n - 1, nullptr) == 0);
    CHECK(t.set(kPageSize + 7, 0, nullptr));  // clearing an uncommitted page commits nothing
    CHECK(src.footprint() == base);
    REQUIRE(t.set(kPageSize + 7, 9, nullptr));
    CHECK(src.footprint() == base + kPageSize);
    REQUIRE(t.set(2 * kPageSize - 1, 3, nullptr));  // the same page
    CHECK(src.footprint() == base + kPageSize);
    REQUIRE(t.set(n - 1, 200, nullptr));  // the last page
    CHECK(src.footprint() == base + 2 * kPageSize);
    CHECK(t.get(kPageSize + 7, nullptr) == 9);
    CHECK(t.get(2 * kPageSize - 1, nullptr) == 3);
    CHECK(t.get(n - 1, nullptr) == 200);
    CHECK(t.get(kPageSize + 8, nullptr) == 0);
    REQUIRE(t.set(kPageSize + 7, 0, nullptr));  // clearing a committed entry keeps its page
    CHECK(t.get(kPageSize + 7, nullptr) == 0);
    CHECK(src.footprint() == base + 2 * kPageSize);
  }
}

TEST_CASE("lazy table: a write past the source's limit fails and leaves the table as it was") {
  MemorySource src(std::size_t{64} << 20, std::size_t{64} << 10);
  REQUIRE(src.ok());
  evo::MetaArena arena(src);
  evo::LazyTable<std::uint64_t> t;
  REQUIRE(t.init(src, arena, 64 * kPageSize));  // 512 KiB of entries, over the 64 KiB limit
  std::size_t page = 0;
  while (t.set(page * (kPageSize / 8), page + 1, nullptr)) ++page;  // one entry a page, until refused
  CHECK(page > 0);
  CHECK(page < 16);
  CHECK(src.footprint() <= src.limit());
  CHECK(t.get(page * (kPageSize / 8), nullptr) == 0);
  for (std::size_t i = 0; i < page; ++i) CHECK(t.get(i * (kPageSize / 8), nullptr) == i + 1);
}

TEST_CASE("a full table of free ranges drops the smallest addresses, never the rest of the reservation") {
  // 1250 one-page holes: more free ranges than the table holds (kMaxRanges = 1024).
  MemorySource src(std::size_t{64} << 20);
  std::vector<void*> pages;
  for (int i = 0; i < 2500; ++i) {
    pages.push_back(src.map(kPageSize));
    REQUIRE(pages.back() != nullptr);
  }
  void* big = src.map(32 * kPageSize);  // between two mapped pages: no free neighbour
  REQUIRE(big != nullptr);
  void* guard = src.map(kPageSize);
  REQUIRE(guard != nullptr);
  for (int i = 0; i < 2500; i += 2) src.unmap(pages[static_cast<std::size_t>(i)], kPageSize);
  // A freed chunk larger than every hole takes a hole's entry: it is handed out again.
  src.unmap(big, 32 * kPageSize);
  CHECK(src.map(32 * kPageSize) == big);
  // Aligned chunks from the trailing range (its start is not 64 KiB aligned, so each
  // map splits it in two with the table full): the unaligned head is dropped, the
  // rest of the reservation stays available.
  for (int k = 0; k < 100; ++k) {
    void* c = src.map(16 * kPageSize, 64 * 1024);
    REQUIRE_MESSAGE(c != nullptr, "map " << k << " failed with the footprint at " << src.footprint());
    CHECK(reinterpret_cast<std::uintptr_t>(c) % (64 * 1024) == 0);
  }
}
