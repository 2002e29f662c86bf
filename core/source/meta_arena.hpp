// core/source/meta_arena.hpp — allocator metadata carved from the instance's own source.
//
// Class tables, bin heads, index structures and pagemap nodes live in memory
// mapped from the instance's MemorySource, so they count in the footprint
// (metadata included), their addresses (reported to the probe) are fixed offsets
// of the reservation whatever the process heap did before, and the components
// never call malloc (the exported library replaces malloc). Every family's
// instance keeps all the metadata it touches here (tests/core/test_meta_alloc.cpp
// checks that replay makes no heap allocation, for every registry row).
//
// Requests >= 2 KiB get their own mapped chunk; smaller ones are bump-allocated
// from 4 KiB pages. Memory is zeroed (fresh pages), 16-byte aligned, and is only
// returned when the source dies. alloc returns nullptr when the source refuses.
// alloc_array<T>(n) is the typed form: n value-initialised T (T trivially
// destructible: nothing is ever destroyed).
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>

#include "core/source/memory_source.hpp"

namespace evo {

class MetaArena {
 public:
  explicit MetaArena(MemorySource& src) : src_(&src) {}

  void* alloc(std::size_t bytes) {
    bytes = (bytes + 15) & ~std::size_t{15};
    if (bytes >= 2048) {
      void* p = src_->map(bytes);
      if (p != nullptr) bytes_ += (bytes + kPageSize - 1) & ~(kPageSize - 1);
      return p;
    }
    if (cur_ == nullptr || static_cast<std::size_t>(end_ - cur_) < bytes) {
      cur_ = static_cast<char*>(src_->map(kPageSize));
      if (cur_ == nullptr) return nullptr;
      end_ = cur_ + kPageSize;
      bytes_ += kPageSize;
    }
    void* p = cur_;
    cur_ += bytes;
    return p;
  }

  /// n value-initialised objects of T (n may be 0: a non-null empty array), or nullptr.
  template <class T>
  T* alloc_array(std::size_t n) {
    static_assert(std::is_trivially_destructible_v<T>, "arena objects are never destroyed");
    static_assert(alignof(T) <= 16, "the arena aligns to 16 bytes");
    if (n > (std::size_t{1} << 40) / sizeof(T)) return nullptr;
    T* p = static_cast<T*>(alloc(n == 0 ? 1 : n * sizeof(T)));
    if (p != nullptr)
      for (std::size_t i = 0; i < n; ++i) new (p + i) T{};
    return p;
  }

  /// Bytes mapped for metadata so far.
  std::size_t bytes() const { return bytes_; }

 private:
  MemorySource* src_;
  char* cur_ = nullptr;
  char* end_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace evo
