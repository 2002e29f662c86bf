// core/simple/fixed.cpp — the `fixed` family (see family.hpp): a free list per
// block size, blocks carved from a textbook fallback heap.
#include "core/simple/family.hpp"
#include "core/simple/fixed_alloc.hpp"

namespace evo {
namespace {

using simple::Fixed;

constexpr Traits kFixedTraits{16, true, true, false, true};

}  // namespace

const FamilySchema& fixed_schema() {
  static const FamilySchema s{
      "fixed",
      "textbook: a free list per block size, blocks carved from a fallback heap that also serves larger requests",
      {
          {"sizes", KeyKind::SizeList, "16,64,512,4K", {}, 16, 64 * 1024},
          {"fallback", KeyKind::Choice, "btag", {"freelist", "btag", "dlbins"}, 0, UINT64_MAX, true},
          {"chunk", KeyKind::Size, "64K", {}, 4096, std::uint64_t{64} << 20},
      },
      {"region", "mmap"}};
  return s;
}

void fixed_add_rows(std::vector<RegistryRow>& out) {
  out.push_back(make_row<Fixed<block::AddrList>>("fixed fallback=freelist", kFixedTraits));
  out.push_back(make_row<Fixed<block::DList>>("fixed fallback=btag", kFixedTraits));
  out.push_back(make_row<Fixed<block::ExactBins>>("fixed fallback=dlbins", kFixedTraits));
}

}  // namespace evo
