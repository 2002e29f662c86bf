// core/block/family.cpp — schema and rows of the block-based family (see family.hpp).
#include "core/block/family.hpp"

namespace evo {

const FamilySchema& block_schema() {
  static const FamilySchema s{
      "block",
      "segregated fits: boundary tags, size-class bins, first/best fit, coalescing, splitting, top chunk",
      {
          {"classes", KeyKind::ClassScheme, "jemalloc"},
          {"fit", KeyKind::Choice, "first", {"first", "best"}, 0, UINT64_MAX, true},
          {"coalesce", KeyKind::Choice, "immediate", {"none", "immediate", "deferred"}, 0, UINT64_MAX, true},
          {"split", KeyKind::Choice, "always", {"always", "selective"}, 0, UINT64_MAX, true},
          {"split_min", KeyKind::Size, "64", {}, 32, 64 * 1024},
          {"search", KeyKind::Choice, "larger", {"own", "larger"}, 0, UINT64_MAX, true},
          {"top", KeyKind::Size, "128K", {}, 4096, std::uint64_t{64} << 20},
          {"large", KeyKind::Size, "256K", {}, 4096, std::uint64_t{1} << 30},
      }};
  return s;
}

void block_add_rows(std::vector<RegistryRow>& out) {
  block::add_rows_first(out);
  block::add_rows_best(out);
}

}  // namespace evo
