// core/simple/fixed_alloc.hpp — Fixed<Index>: the allocator class of the `fixed`
// rows (see reuse_more.hpp), in a header so the exporter can instantiate it.
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

  Fixed(const block::HeapConfig& hc, const std::vector<std::size_t>& sizes)
      : heap_(hc, typename Index::Config{}), sizes_(sizes), min_align_(hc.min_align) {
    for (std::size_t s : sizes_) chunks_.push_back(Heap::request_chunk(s));
    lists_.assign(sizes_.size(), nullptr);
  }
  bool ok() const { return heap_.ok(); }

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
    return block::make_allocator<Fixed>(err, hc, sizes);
  }

  void* allocate(std::size_t size, std::size_t align) {
    std::size_t a = effective_align(min_align_, align);
    if (a <= 16 && size <= sizes_.back()) {
      std::size_t i = static_cast<std::size_t>(std::lower_bound(sizes_.begin(), sizes_.end(), size) - sizes_.begin());
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
    for (std::size_t i = 0; i < lists_.size(); ++i)
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
    return static_cast<std::size_t>(std::upper_bound(chunks_.begin(), chunks_.end(), size) - chunks_.begin()) - 1;
  }

  Heap heap_;
  std::vector<std::size_t> sizes_;   // block sizes, increasing
  std::vector<std::size_t> chunks_;  // their chunk sizes
  std::vector<char*> lists_;         // LIFO free list per size (link 0)
  std::size_t min_align_;
  std::uint64_t allocs_ = 0;
  std::uint64_t frees_ = 0;
};

}  // namespace evo::simple
