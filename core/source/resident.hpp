// core/source/resident.hpp — how much of a mapping is resident now.
//
// resident_bytes(base, bytes): the bytes of the pages of [base, base + bytes) that are
// in memory now (mincore), for bookkeeping a layer maps for itself beside the heap
// (the pointer stacks of front=tcache:B:array, core/layers/front.hpp; the transfer
// cache's slots, core/layers/transfer.hpp), counted in the footprint. base is
// page-aligned and bytes a multiple of the page (4096). When mincore fails (not a
// mapping), the whole range counts: an over-count, never a silent zero.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

namespace evo {

inline std::uint64_t resident_bytes(void* base, std::size_t bytes) noexcept {
  constexpr std::size_t page = 4096;
  const std::size_t pages = bytes / page;
  std::uint64_t total = 0;
  unsigned char vec[1024];
  for (std::size_t at = 0; at < pages; at += sizeof vec) {
    const std::size_t n = pages - at < sizeof vec ? pages - at : sizeof vec;
    if (::mincore(static_cast<char*>(base) + at * page, n * page, vec) != 0) return bytes;
    for (std::size_t i = 0; i < n; ++i) total += (vec[i] & 1) * page;
  }
  return total;
}

}  // namespace evo
