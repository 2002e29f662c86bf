// core/source/lazy_table.hpp — LazyTable<T>: a dense side table over a large index
// range (one entry per page, or per slab, of an instance's chunk space).
//
// The entries are reserved from the instance's MemorySource readable at init, so an
// entry never set reads 0 with no check and no fault, and a 4 KiB page of entries is
// committed (counted in the footprint) the first time a nonzero value is written
// into it. Writing 0 into a page never committed commits nothing. The bitmap of
// committed pages comes from the instance's MetaArena. Users: the flat pagemap
// (core/superblock/pagemap.hpp) and the slab's class map (core/simple/slab_alloc.hpp).
#pragma once

#include <cstdint>
#include <type_traits>

#include "core/probe.hpp"
#include "core/source/memory_source.hpp"
#include "core/source/meta_arena.hpp"

namespace evo {

template <class T>
class LazyTable {
  static_assert(std::is_trivial_v<T> && sizeof(T) <= kPageSize && kPageSize % sizeof(T) == 0,
                "entries are plain values packed into whole pages");
  static constexpr std::size_t kPerPage = kPageSize / sizeof(T);

 public:
  /// n entries; false when the source or the arena refuses (the table stays unusable).
  bool init(MemorySource& src, MetaArena& arena, std::size_t n) {
    src_ = &src;
    const std::size_t pages = (n + kPerPage - 1) / kPerPage;
    entries_ = static_cast<T*>(src.reserve(pages * kPageSize, kPageSize, true));
    committed_ = arena.alloc_array<std::uint64_t>((pages + 63) / 64);
    if (entries_ == nullptr || committed_ == nullptr) {
      entries_ = nullptr;
      return false;
    }
    n_ = n;
    return true;
  }
  bool ok() const { return entries_ != nullptr; }
  std::size_t size() const { return n_; }

  /// Entry i (i < size()), reported to the probe.
  T get(std::size_t i, const Probe* probe) const {
    touch(probe, &entries_[i], sizeof(T));
    return entries_[i];
  }
  /// Sets entry i (i < size()); false when its page of entries cannot be committed.
  bool set(std::size_t i, T v, const Probe* probe) {
    const std::size_t pg = i / kPerPage;
    if (((committed_[pg / 64] >> (pg % 64)) & 1) == 0) {
      if (v == T{}) return true;
      if (!src_->commit_pages(entries_ + pg * kPerPage, kPageSize)) return false;
      committed_[pg / 64] |= std::uint64_t{1} << (pg % 64);
    }
    touch(probe, &entries_[i], sizeof(T));
    entries_[i] = v;
    return true;
  }

 private:
  MemorySource* src_ = nullptr;
  T* entries_ = nullptr;
  std::uint64_t* committed_ = nullptr;  // one bit per 4 KiB page of entries (arena)
  std::size_t n_ = 0;
};

}  // namespace evo
