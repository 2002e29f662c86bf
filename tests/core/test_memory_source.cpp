// Tests of core/source/memory_source: exact footprint accounting, the region
// break, chunk placement and reuse, the limit.
#include <doctest/doctest.h>

#include <cstring>

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
