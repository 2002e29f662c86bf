// core/simple/textbook.cpp — see textbook.hpp.
#include "core/simple/textbook.hpp"

#include "core/block/indexes.hpp"
#include "core/block/make.hpp"
#include "core/block/tag_heap.hpp"

namespace evo {
namespace {

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

constexpr Traits kTextbookTraits{16, true, true, false, true};

KeySchema chunk_key() { return {"chunk", KeyKind::Size, "64K", {}, 4096, std::uint64_t{64} << 20}; }

}  // namespace

const FamilySchema& freelist_schema() {
  static const FamilySchema s{"freelist",
                              "textbook: one address-ordered free list, first fit, split, coalescing (O(n) free)",
                              {chunk_key()},
                              {"region", "mmap"}};
  return s;
}
void freelist_add_rows(std::vector<RegistryRow>& out) {
  out.push_back(make_row<Textbook<block::AddrList>>("freelist", kTextbookTraits));
}

const FamilySchema& btag_schema() {
  static const FamilySchema s{"btag",
                              "textbook: doubly-linked free list with boundary tags, O(1) free and coalescing",
                              {chunk_key()},
                              {"region", "mmap"}};
  return s;
}
void btag_add_rows(std::vector<RegistryRow>& out) {
  out.push_back(make_row<Textbook<block::DList>>("btag", kTextbookTraits));
}

const FamilySchema& dlbins_schema() {
  static const FamilySchema s{"dlbins",
                              "textbook: exact bins of doubly-linked lists for small sizes, one bin for the rest",
                              {chunk_key(), {"bins", KeyKind::Integer, "64", {}, 2, 1024}},
                              {"region", "mmap"}};
  return s;
}
void dlbins_add_rows(std::vector<RegistryRow>& out) {
  out.push_back(make_row<Textbook<block::ExactBins>>("dlbins", kTextbookTraits));
}

}  // namespace evo
