// core/source/meta_arena.hpp — allocator metadata carved from the instance's own source.
//
// Class tables, bin heads and pagemap nodes live in memory mapped from the
// instance's MemorySource, so they count in the footprint (metadata included) and
// the components never call malloc (the exported library replaces malloc).
// Requests >= 2 KiB get their own mapped chunk; smaller ones are bump-allocated
// from 4 KiB pages. Memory is zeroed (fresh pages), 16-byte aligned, and is only
// returned when the source dies. alloc returns nullptr when the source refuses.
#pragma once

#include <cstddef>

#include "core/source/memory_source.hpp"

namespace evo {

class MetaArena {
 public:
  explicit MetaArena(MemorySource& src) : src_(&src) {}

  void* alloc(std::size_t bytes) {
    bytes = (bytes + 15) & ~std::size_t{15};
    if (bytes >= 2048) {
      bytes_ += (bytes + kPageSize - 1) & ~(kPageSize - 1);
      return src_->map(bytes);
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
  /// Bytes mapped for metadata so far.
  std::size_t bytes() const { return bytes_; }

 private:
  MemorySource* src_;
  char* cur_ = nullptr;
  char* end_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace evo
