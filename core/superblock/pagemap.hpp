// core/superblock/pagemap.hpp — page -> owner maps (pagemap=flat|radix2|radix3).
//
// A pagemap maps each 4 KiB page of the instance's chunk space (MemorySource's
// mapped half) to one uintptr_t entry: 0 = nothing, else whatever the owner stores
// (the superblock heap stores a superblock header pointer, or (pages << 1) | 1 for
// a large chunk). Lookups of addresses outside the chunk space, or of pages never
// set, return 0 and never fault.
//
// Policy contract (every pagemap P):
//   bool init(MemorySource&, MetaArena&, std::string* err);   // once, before use
//   std::uintptr_t get(const void* p, const Probe*) const;     // 0 if unset
//   bool set(const void* p, std::uintptr_t v, const Probe*);   // false: no memory for a node
//   (set(p, 0) clears; clearing never allocates.)
//   std::size_t pages() const;                                  // pages covered
// Metadata comes from the instance's source, so it counts in the footprint:
//   flat    one entry per page over the whole chunk space, a LazyTable
//           (core/source/lazy_table.hpp: an entry never set reads 0 without a check;
//           committed one 4 KiB page of entries, 2 MiB of address space, at a time);
//   radix2  root + leaves, the index split in two halves; leaves made on demand;
//   radix3  root + mid + leaves, split in three; nodes made on demand.
// Each level read is reported to the probe (it is a memory touch the cache sees).
#pragma once

#include <cstdint>
#include <string>

#include "core/probe.hpp"
#include "core/source/lazy_table.hpp"
#include "core/source/memory_source.hpp"
#include "core/source/meta_arena.hpp"

namespace evo {

namespace pagemap_detail {
inline unsigned bits_for(std::size_t n) {
  unsigned b = 0;
  while ((std::size_t{1} << b) < n) ++b;
  return b;
}
}  // namespace pagemap_detail

/// Shared index arithmetic: page number relative to the chunk space.
class PagemapBase {
 public:
  std::size_t pages() const { return pages_; }

 protected:
  bool init_base(const MemorySource& src) {
    base_ = reinterpret_cast<std::uintptr_t>(src.chunk_base());
    pages_ = src.chunk_capacity() / kPageSize;
    return pages_ != 0;
  }
  /// Page index of p, or pages_ when p is outside the chunk space.
  std::size_t index(const void* p) const {
    std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p) - base_;  // wraps for p < base
    std::size_t i = a / kPageSize;
    return i < pages_ ? i : pages_;
  }
  std::uintptr_t base_ = 0;
  std::size_t pages_ = 0;
};

class FlatPagemap : public PagemapBase {
 public:
  static constexpr const char* kName = "flat";
  bool init(MemorySource& src, MetaArena& arena, std::string* err) {
    if (!init_base(src) || !entries_.init(src, arena, pages_)) {
      if (err) *err = "pagemap=flat: cannot reserve the entry array";
      return false;
    }
    return true;
  }
  std::uintptr_t get(const void* p, const Probe* probe) const {
    const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p) - base_;  // wraps for p < base
    const std::size_t i = a / kPageSize;
    if (i >= pages_) [[unlikely]] return 0;
    return entries_.get(i, probe);
  }
  bool set(const void* p, std::uintptr_t v, const Probe* probe) {
    std::size_t i = index(p);
    if (i == pages_) return v == 0;
    return entries_.set(i, v, probe);
  }

 private:
  LazyTable<std::uintptr_t> entries_;
};

/// Radix tree with `Levels` levels (2 or 3) over the page index.
template <int Levels>
class RadixPagemap : public PagemapBase {
  static_assert(Levels == 2 || Levels == 3);

 public:
  static constexpr const char* kName = Levels == 2 ? "radix2" : "radix3";
  bool init(MemorySource& src, MetaArena& arena, std::string* err) {
    arena_ = &arena;
    init_base(src);
    return init_base_from(arena, err);
  }
  std::uintptr_t get(const void* p, const Probe* probe) const {
    std::size_t i = index(p);
    if (i == pages_) return 0;
    void* node = root_;
    for (int l = 0; l < Levels - 1; ++l) {
      void** slot = static_cast<void**>(node) + ((i >> shift_[l]) & mask_[l]);
      touch(probe, slot, sizeof(void*));
      node = *slot;
      if (node == nullptr) return 0;
    }
    std::uintptr_t* e = static_cast<std::uintptr_t*>(node) + (i & mask_[Levels - 1]);
    touch(probe, e, sizeof *e);
    return *e;
  }
  bool set(const void* p, std::uintptr_t v, const Probe* probe) {
    std::size_t i = index(p);
    if (i == pages_) return v == 0;
    void* node = root_;
    for (int l = 0; l < Levels - 1; ++l) {
      void** slot = static_cast<void**>(node) + ((i >> shift_[l]) & mask_[l]);
      touch(probe, slot, sizeof(void*));
      if (*slot == nullptr) {
        if (v == 0) return true;
        std::size_t entries = std::size_t{1} << bits_[l + 1];
        *slot = arena_->alloc(entries * sizeof(void*));
        if (*slot == nullptr) return false;
      }
      node = *slot;
    }
    std::uintptr_t* e = static_cast<std::uintptr_t*>(node) + (i & mask_[Levels - 1]);
    touch(probe, e, sizeof *e);
    *e = v;
    return true;
  }

 private:
  bool init_base_from(MetaArena& arena, std::string* err);
  MetaArena* arena_ = nullptr;
  void* root_ = nullptr;
  unsigned bits_[Levels] = {};
  unsigned shift_[Levels] = {};
  std::size_t mask_[Levels] = {};
};

template <int Levels>
bool RadixPagemap<Levels>::init_base_from(MetaArena& arena, std::string* err) {
  if (pages_ == 0) {
    if (err) *err = std::string("pagemap=") + kName + ": no chunk space";
    return false;
  }
  unsigned total = pagemap_detail::bits_for(pages_);
  // Split the index bits: the leaf gets the remainder so levels are near equal.
  unsigned per = total / Levels;
  for (int l = 0; l < Levels; ++l) bits_[l] = per;
  bits_[0] += total - per * Levels;
  unsigned shift = 0;
  for (int l = Levels - 1; l >= 0; --l) {
    shift_[l] = shift;
    mask_[l] = (std::size_t{1} << bits_[l]) - 1;
    shift += bits_[l];
  }
  root_ = arena.alloc((std::size_t{1} << bits_[0]) * sizeof(void*));
  if (root_ == nullptr) {
    if (err) *err = std::string("pagemap=") + kName + ": out of memory for the root";
    return false;
  }
  return true;
}

using Radix2Pagemap = RadixPagemap<2>;
using Radix3Pagemap = RadixPagemap<3>;

}  // namespace evo
