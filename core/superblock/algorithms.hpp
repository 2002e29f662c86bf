// core/superblock/algorithms.hpp — the superblock header and the per-superblock
// block algorithms (alg=bump|reap|bitmap|stack|bumpstack).
//
// A superblock is `sb` bytes mapped from the source; its header sits at its start,
// followed (bitmap only) by the bitmap, then `capacity` blocks of `size` bytes from
// `begin` (aligned to the quantum). The header also carries the links used by bins
// (next/prev/bucket/in_bin), by caches (cnext/cprev/in_cache/marked) and by the
// heap's list of all superblocks (anext/aprev).
//
// Algorithm contract (every policy A; `live` is maintained by the caller, which
// increments it after alloc and decrements it BEFORE calling free):
//   static constexpr bool kBitmap;          // needs capacity bits after the header
//   static void init(Superblock*, const Probe*);               // fresh or reused sb
//   static bool has_space(const Superblock*);                  // alloc would succeed
//   static void* alloc(Superblock*, const Probe*);             // precondition has_space
//   static void free(Superblock*, void* block, const Probe*);  // block start, was live
//   static bool validate(const Superblock*, std::string* err); // Full-level walk
// Semantics:
//   bump       hands out blocks in address order; freed blocks are not reused while
//              the superblock lives; once every block came back the superblock is
//              empty and goes to the empty-superblock cache policy.
//   reap       bump + a live counter: when the last block comes back the bump
//              pointer resets at once, so the superblock is reused in place.
//   bitmap     one bit per block (1 = allocated), first-fit scan from a word hint.
//   stack      a LIFO free list threaded through every block when the sb is set up.
//   bumpstack  bump until exhausted, then a LIFO free list built lazily from frees.
#pragma once

#include <bit>
#include <cstdint>
#include <string>

#include "core/ops.hpp"
#include "core/probe.hpp"

namespace evo {

struct Superblock {
  Superblock* next;   ///< bin links
  Superblock* prev;
  Superblock* cnext;  ///< cache links (eager list / lazy marked list)
  Superblock* cprev;
  Superblock* anext;  ///< list of all superblocks of the heap
  Superblock* aprev;
  char* begin;        ///< first block
  void* free;         ///< free list head (stack, bumpstack)
  std::uint32_t size;      ///< block size in bytes
  std::uint32_t capacity;  ///< number of blocks
  std::uint32_t live;      ///< blocks handed out and not yet freed
  std::uint32_t bump;      ///< blocks handed out by the bump pointer so far
  std::uint32_t cls;       ///< size class
  std::uint32_t hint;      ///< bitmap: first word that may have a free bit
  std::uint8_t bucket;     ///< fullness bucket (bins)
  std::uint8_t in_bin;
  std::uint8_t in_cache;
  std::uint8_t marked;     ///< lazy cache: empty and listed, still in its bin
  std::uint64_t magic;     ///< UINT64_MAX / size + 1: exact division of 32-bit offsets by size
  std::uint64_t reserved_;
  std::uint64_t* bits() { return reinterpret_cast<std::uint64_t*>(this + 1); }
  const std::uint64_t* bits() const { return reinterpret_cast<const std::uint64_t*>(this + 1); }
  std::uint32_t words() const { return (capacity + 63) / 64; }
  char* block(std::uint32_t i) const { return begin + std::size_t{i} * size; }
  void set_size(std::uint32_t s) {
    size = s;
    magic = UINT64_MAX / s + 1;
  }
  /// Index of the block holding p (p in the block area): (p - begin) / size without
  /// a divide instruction (Lemire's fastdiv, exact for 32-bit offsets).
  std::uint32_t index_of(const void* p) const {
    auto off = static_cast<std::uint32_t>(static_cast<const char*>(p) - begin);
    return static_cast<std::uint32_t>((static_cast<unsigned __int128>(magic) * off) >> 64);
  }
  bool owns_block(const void* p) const {
    auto a = static_cast<const char*>(p);
    return a >= begin && a < begin + std::size_t{capacity} * size && (a - begin) % size == 0;
  }
};
static_assert(sizeof(Superblock) % 16 == 0);

namespace sbalg_detail {
/// Length of a free list threaded through blocks (stops past `limit` entries).
inline bool walk_free_list(const Superblock* sb, std::uint32_t expect, std::string* err) {
  std::uint32_t n = 0;
  for (void* p = sb->free; p != nullptr; p = *static_cast<void**>(p)) {
    if (!sb->owns_block(p)) return fail(err, "free list entry outside the superblock's blocks");
    if (sb->bump != 0 && static_cast<char*>(p) >= sb->block(sb->bump) && sb->bump <= sb->capacity)
      return fail(err, "free list entry above the bump pointer");
    if (++n > expect) return fail(err, "free list longer than the free blocks (cycle or double free)");
  }
  if (n != expect)
    return fail(err, "free list has " + std::to_string(n) + " blocks, expected " + std::to_string(expect));
  return true;
}
}  // namespace sbalg_detail

struct BumpAlg {
  static constexpr const char* kName = "bump";
  static constexpr bool kBitmap = false;
  static void init(Superblock* sb, const Probe*) { sb->bump = 0; }
  static bool has_space(const Superblock* sb) { return sb->bump < sb->capacity; }
  static void* alloc(Superblock* sb, const Probe*) { return sb->block(sb->bump++); }
  static void free(Superblock*, void*, const Probe*) {}
  static bool validate(const Superblock* sb, std::string* err) {
    if (sb->bump > sb->capacity || sb->live > sb->bump) return fail(err, "bump: live > bump > capacity");
    return true;
  }
};

struct ReapAlg : BumpAlg {
  static constexpr const char* kName = "reap";
  static void free(Superblock* sb, void*, const Probe*) {
    if (sb->live == 0) sb->bump = 0;  // every block came back: start over in place
  }
  static bool validate(const Superblock* sb, std::string* err) {
    if (!BumpAlg::validate(sb, err)) return false;
    if (sb->live == 0 && sb->bump != 0) return fail(err, "reap: empty superblock not reset");
    return true;
  }
};

struct BitmapAlg {
  static constexpr const char* kName = "bitmap";
  static constexpr bool kBitmap = true;
  static void init(Superblock* sb, const Probe* probe) {
    std::uint64_t* b = sb->bits();
    for (std::uint32_t w = 0; w < sb->words(); ++w) b[w] = 0;
    touch(probe, b, sb->words() * 8);
    sb->hint = 0;
  }
  static bool has_space(const Superblock* sb) { return sb->live < sb->capacity; }
  static void* alloc(Superblock* sb, const Probe* probe) {
    std::uint64_t* b = sb->bits();
    std::uint32_t n = sb->words();
    for (std::uint32_t w = sb->hint; w < n; ++w) {
      touch(probe, &b[w], 8);
      if (~b[w] == 0) continue;
      unsigned bit = static_cast<unsigned>(std::countr_one(b[w]));
      std::uint32_t idx = w * 64 + bit;
      if (idx >= sb->capacity) break;
      b[w] |= std::uint64_t{1} << bit;
      sb->hint = w;
      return sb->block(idx);
    }
    return nullptr;  // unreachable when has_space
  }
  static void free(Superblock* sb, void* block, const Probe* probe) {
    std::uint32_t idx = sb->index_of(block);
    std::uint64_t* w = &sb->bits()[idx / 64];
    touch(probe, w, 8);
    *w &= ~(std::uint64_t{1} << (idx % 64));
    if (idx / 64 < sb->hint) sb->hint = idx / 64;
  }
  static bool validate(const Superblock* sb, std::string* err) {
    std::uint32_t count = 0;
    for (std::uint32_t w = 0; w < sb->words(); ++w) count += static_cast<std::uint32_t>(std::popcount(sb->bits()[w]));
    if (count != sb->live) return fail(err, "bitmap: set bits differ from the live count");
    if (sb->capacity % 64 != 0 && (sb->bits()[sb->words() - 1] >> (sb->capacity % 64)) != 0)
      return fail(err, "bitmap: bits set past the capacity");
    for (std::uint32_t w = 0; w < sb->hint && w < sb->words(); ++w)
      if (~sb->bits()[w] != 0) return fail(err, "bitmap: a free bit below the hint");
    return true;
  }
};

struct StackAlg {
  static constexpr const char* kName = "stack";
  static constexpr bool kBitmap = false;
  static void init(Superblock* sb, const Probe* probe) {
    void* head = nullptr;
    for (std::uint32_t i = sb->capacity; i-- > 0;) {
      void** link = reinterpret_cast<void**>(sb->block(i));
      *link = head;
      touch(probe, link, sizeof(void*));
      head = link;
    }
    sb->free = head;
    sb->bump = 0;
  }
  static bool has_space(const Superblock* sb) { return sb->free != nullptr; }
  static void* alloc(Superblock* sb, const Probe* probe) {
    void** p = static_cast<void**>(sb->free);
    touch(probe, p, sizeof(void*));
    sb->free = *p;
    return p;
  }
  static void free(Superblock* sb, void* block, const Probe* probe) {
    void** link = static_cast<void**>(block);
    *link = sb->free;
    touch(probe, link, sizeof(void*));
    sb->free = link;
  }
  static bool validate(const Superblock* sb, std::string* err) {
    return sbalg_detail::walk_free_list(sb, sb->capacity - sb->live, err);
  }
};

struct BumpStackAlg {
  static constexpr const char* kName = "bumpstack";
  static constexpr bool kBitmap = false;
  static void init(Superblock* sb, const Probe*) {
    sb->bump = 0;
    sb->free = nullptr;
  }
  static bool has_space(const Superblock* sb) { return sb->bump < sb->capacity || sb->free != nullptr; }
  static void* alloc(Superblock* sb, const Probe* probe) {
    if (sb->bump < sb->capacity) return sb->block(sb->bump++);
    return StackAlg::alloc(sb, probe);
  }
  static void free(Superblock* sb, void* block, const Probe* probe) { StackAlg::free(sb, block, probe); }
  static bool validate(const Superblock* sb, std::string* err) {
    if (sb->bump > sb->capacity || sb->live > sb->bump)
      return fail(err, "bumpstack: live > bump > capacity");
    return sbalg_detail::walk_free_list(sb, sb->bump - sb->live, err);
  }
};

}  // namespace evo
