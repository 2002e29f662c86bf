// core/block/chunk.hpp — the boundary-tag chunk layout shared by every heap of the
// block-based and textbook families (core/block/tag_heap.hpp).
//
// A chunk starts at an address = 8 (mod 16) and its size is a multiple of 16:
//
//   c+0        header word: size | flags            (flags in the low 4 bits)
//   c+8        payload (16-byte aligned) ...        free chunks keep their index
//                                                   links here (c+8, c+16, ...)
//   c+size-8   footer word = header word            (heaps with footers only)
//
// so the payload is [c+8, c+size-8) with footers and [c+8, c+size) without, and the
// next chunk starts at c+size. Flags: kInUse (allocated, or a fence), kMapped (a
// directly mapped large block, see TagHeap), kFixed (owned by a fixed-size list,
// core/simple/fixed); bit 8 is the red-black colour of a free tree node
// (core/block/indexes.hpp), kept in the header only. A word of 0|kInUse is a fence: the prologue before the first
// chunk of a segment and the epilogue header after its last chunk.
//
// Units are bytes. These helpers do not check anything: callers hold the invariants.
#pragma once

#include <cstddef>
#include <cstdint>

namespace evo::block {

inline constexpr std::size_t kInUse = 1;
inline constexpr std::size_t kMapped = 2;
inline constexpr std::size_t kFixed = 4;
inline constexpr std::size_t kFlagMask = 15;

inline std::size_t& word(char* p) { return *reinterpret_cast<std::size_t*>(p); }
inline std::size_t word(const char* p) { return *reinterpret_cast<const std::size_t*>(p); }
inline std::size_t chunk_size(const char* c) { return word(c) & ~kFlagMask; }
inline bool in_use(const char* c) { return (word(c) & kInUse) != 0; }

/// Link slot i (0-based) of a free chunk: the pointer-sized word at c + 8 + 8*i.
inline char*& link(char* c, int i) { return *reinterpret_cast<char**>(c + 8 + 8 * i); }

inline constexpr std::size_t round16(std::size_t n) { return (n + 15) & ~std::size_t{15}; }

}  // namespace evo::block
