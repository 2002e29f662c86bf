// core/simple/textbook_alloc.hpp — the allocator classes of the textbook rows
// (freelist, btag, dlbins; see textbook.hpp), in a header so the exporter can
// instantiate the very classes the registry rows run.
#pragma once

#include <string>

#include "core/block/indexes.hpp"
#include "core/block/make.hpp"
#include "core/block/tag_heap.hpp"

namespace evo::simple {

using block::Coalesce;
using block::TagHeap;

/// A textbook heap: TagHeap over Index, immediate coalescing, split always.
template <class Index>
class Textbook : public TagHeap<Index, Coalesce::Immediate, false> {
 public:
  using Heap = TagHeap<Index, Coalesce::Immediate, false>;
  using Heap::Heap;
  static Textbook* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    block::HeapConfig hc = block::heap_config(spec, opt);
    hc.grow = spec.get_size("chunk");
    typename Index::Config ic{};
    if constexpr (requires { ic.bins; }) ic.bins = spec.get_size("bins");
    return block::make_allocator<Textbook>(err, hc, ic);
  }
};

using FreelistAlloc = Textbook<block::AddrList>;
using BtagAlloc = Textbook<block::DList>;
using DlbinsAlloc = Textbook<block::ExactBins>;

}  // namespace evo::simple
