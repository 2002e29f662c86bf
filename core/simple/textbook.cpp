// core/simple/textbook.cpp — the textbook families `freelist`, `btag` and `dlbins`
// (see family.hpp).
#include "core/simple/family.hpp"

#include "core/simple/textbook_alloc.hpp"

namespace evo {
namespace {

using simple::Textbook;

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
