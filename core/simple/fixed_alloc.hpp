// core/simple/fixed_alloc.hpp — Fixed<Index>: the allocator class of the `fixed`
// rows (see family.hpp), in a header so the exporter can instantiate it.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "core/block/indexes.hpp"
#include "core/block/make.hpp"
#include "core/block/tag_heap.hpp"

namespace evo::simple {

using block::Coalesce;
using block::kFixed;
using block::kInUse;

template <class Index>
class Fixed {
 public:
  using Heap = block::TagHeap<Index, Coalesce::Immediate, false>;

  /// sizes: increasing, distinct, non-empty (read here only: the tables go to the arena).
  Fixed(const block::HeapConfig& hc, const std::vector<std::size_t>& sizes)
      : heap_(hc, typename Index::Config{}), n_(sizes.size()), min_align_(hc.min_align) {
    sizes_ = heap_.arena().template alloc_array<std::size_t>(n_);
    chunks_ = heap_.arena().template alloc_array<std::size_t>(n_);
    lists_ = heap_.arena().template alloc_array<char*>(n_);
    if (sizes_ == nullptr || chunks_ == nullptr || lists_ == nullptr) return;
    for (std::size_t i = 0; i < n_; ++i) {
      sizes_[i] = sizes[i];
      chunks_[i] = Heap::request_chunk(sizes[i]);
    }
  }
  bool ok() const { return heap_.ok() && lists_ != nullptr; }

  static Fixed* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    block::HeapConfig hc = block::heap_config(spec, opt);
    hc.grow = spec.get_size("chunk");
    std::vector<std::size_t> sizes;
    const std::string* list = spec.get("sizes");
    std::string_view rest = list ? std::string_view(*list) : std::string_view("16,64,512,4K");
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::uint64_t v = 0;
      if (!parse_size(rest.substr(0, comma), v) || v == 0) {
        if (err) *err = "fixed: sizes must be a comma-separated list of sizes";
        return nullptr;
      }
      sizes.push_back(block::round16(v));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
    if (sizes.empty()) {
      if (err) *err = "fixed: sizes must name at least one size";
      return nullptr;
    }
    return block::make_allocator<Fixed>(err, hc, sizes);
  }

  void* allocate(std::size_t size, std::size_t align) {
    std::size_t a = effective_align(min_align_, align);
    if (a <= 16 && size <= sizes_[n_ - 1]) {
      std::size_t i = static_cast<std::size_t>(std::lower_bound(sizes_, sizes_ + n_, size) - sizes_);
      touch(heap_.probe(), &lists_[i], 8);
      char* c = lists_[i];
      if (c != nullptr) {
        lists_[i] = block::link(c, 0);
        touch(heap_.probe(), c + 8, 8);
      } else {
        c = heap_.alloc_chunk(chunks_[i]);
        if (c == nullptr) return nullptr;
        heap_.add_flag(c, kFixed);
      }
      ++allocs_;
      return c + 8;
    }
    void* p = heap_.allocate(size, align);
    if (p != nullptr) ++allocs_;
    return p;
  }

  void deallocate(void* p) {
    if (p == nullptr) return;
    ++frees_;
    char* c = Heap::chunk_of(p);
    touch(heap_.probe(), c, 8);
    if (block::word(c) & kFixed) {
      std::size_t i = class_of_chunk(block::chunk_size(c));
      block::link(c, 0) = lists_[i];
      lists_[i] = c;
      touch(heap_.probe(), c + 8, 8);
      touch(heap_.probe(), &lists_[i], 8);
      return;
    }
    heap_.deallocate(p);
  }

  void* reallocate(void* p, std::size_t size) { return realloc_by_copy(*this, p, size); }
  std::size_t usable_size(const void* p) const { return heap_.usable_size(p); }

  void stats(AllocStats* out) const {
    heap_.stats(out);
    out->allocs = allocs_;
    out->frees = frees_;
  }

  bool validate(ValidateLevel level, std::string* err) const {
    if (!heap_.validate(level, err)) return false;
    if (level < ValidateLevel::Full) return true;
    for (std::size_t i = 0; i < n_; ++i)
      for (char* c = lists_[i]; c != nullptr; c = block::link(c, 0)) {
        if ((block::word(c) & (kFixed | kInUse)) != (kFixed | kInUse) || class_of_chunk(block::chunk_size(c)) != i) {
          if (err) *err = "fixed: a free list holds a block that is not one of its size";
          return false;
        }
      }
    return true;
  }

 private:
  /// The largest class whose chunk fits in a chunk of `size` bytes.
  std::size_t class_of_chunk(std::size_t size) const {
    return static_cast<std::size_t>(std::upper_bound(chunks_, chunks_ + n_, size) - chunks_) - 1;
  }

  Heap heap_;
  // In the heap's metadata arena:
  std::size_t n_;                    // number of block sizes
  std::size_t* sizes_ = nullptr;     // block sizes, increasing
  std::size_t* chunks_ = nullptr;    // their chunk sizes
  char** lists_ = nullptr;           // LIFO free list per size (link 0)
  std::size_t min_align_;
  std::uint64_t allocs_ = 0;
  std::uint64_t frees_ = 0;
};

}  // namespace evo::simple
