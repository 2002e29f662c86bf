// core/block/block_alloc.hpp — BlockAlloc: one row of the block-based family
// (see core/block/family.hpp for its keys) and the row-adding template used by the
// per-fit translation units.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "core/block/classes.hpp"
#include "core/block/family.hpp"
#include "core/block/indexes.hpp"
#include "core/block/make.hpp"
#include "core/block/tag_heap.hpp"

namespace evo::block {

inline constexpr std::size_t kBlockClassCap = 256 * 1024;

template <bool Best, bool Larger, Coalesce C, bool Selective>
class BlockAlloc : public TagHeap<SegBins<Best, Larger>, C, Selective> {
 public:
  using Heap = TagHeap<SegBins<Best, Larger>, C, Selective>;
  using Heap::Heap;

  static BlockAlloc* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    HeapConfig hc = heap_config(spec, opt);
    hc.grow = spec.get_size("top");
    hc.split_min = spec.get_size("split_min");
    hc.large = spec.get_size("large");
    const std::string* scheme = spec.get("classes");
    std::vector<std::size_t> sizes =
        class_sizes(scheme ? *scheme : "jemalloc", opt.size_histogram, std::min(hc.large, kBlockClassCap), err);
    if (sizes.empty()) return nullptr;
    typename SegBins<Best, Larger>::Config ic;
    for (std::size_t s : sizes) {
      std::size_t limit = Heap::request_chunk(s);
      if (ic.limits.empty() || ic.limits.back() < limit) ic.limits.push_back(limit);
    }
    return make_allocator<BlockAlloc>(err, hc, ic);
  }
};

template <bool Best, bool Larger, Coalesce C, bool Selective>
void add_block_row(std::vector<RegistryRow>& out) {
  static constexpr const char* kCoalesce[] = {"none", "immediate", "deferred"};
  std::string name = std::string("block fit=") + (Best ? "best" : "first") + " coalesce=" +
                     kCoalesce[static_cast<int>(C)] + " split=" + (Selective ? "selective" : "always") +
                     " search=" + (Larger ? "larger" : "own");
  out.push_back(make_row<BlockAlloc<Best, Larger, C, Selective>>(name, Traits{16, true, true, false, C != Coalesce::None}));
}

// The rows of one fit, in row order: coalesce, then split, then search.
template <bool Best, Coalesce C, bool Selective>
void add_block_searches(std::vector<RegistryRow>& out) {
  add_block_row<Best, false, C, Selective>(out);
  add_block_row<Best, true, C, Selective>(out);
}
template <bool Best, Coalesce C>
void add_block_splits(std::vector<RegistryRow>& out) {
  add_block_searches<Best, C, false>(out);
  add_block_searches<Best, C, true>(out);
}
template <bool Best>
void add_block_rows_for_fit(std::vector<RegistryRow>& out) {
  add_block_splits<Best, Coalesce::None>(out);
  add_block_splits<Best, Coalesce::Immediate>(out);
  add_block_splits<Best, Coalesce::Deferred>(out);
}

}  // namespace evo::block
