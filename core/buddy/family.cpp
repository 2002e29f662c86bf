// core/buddy/family.cpp — schema and rows of the buddy family (see family.hpp).
#include "core/buddy/family.hpp"

#include <string>

namespace evo {
namespace {

bool check_buddy(const AllocatorSpec& spec, std::string* err) {
  std::uint64_t sb = spec.get_size("sb"), min = spec.get_size("min"), large = spec.get_size("large");
  if (min > sb / 2) {
    if (err) *err = "min=" + format_size(min) + " must be at most sb/2 = " + format_size(sb / 2);
    return false;
  }
  if (large > sb || large < min) {
    if (err) *err = "large=" + format_size(large) + " must lie between min=" + format_size(min) + " and sb=" + format_size(sb);
    return false;
  }
  return true;
}

}  // namespace

const FamilySchema& buddy_schema() {
  static const FamilySchema s{
      "buddy",
      "binary buddy: power-of-two blocks in aligned superblocks, bitmaps off the data pages, bins and caches",
      {
          {"sb", KeyKind::Size, "256K", {}, 4096, std::uint64_t{4} << 20, false, true},
          {"min", KeyKind::Size, "16", {}, 16, 4096, false, true},
          {"bins", KeyKind::Choice, "unordered", {"unordered", "mtf", "fullness-array", "fullness-list", "fullness-mtf"},
           0, UINT64_MAX, true},
          {"pagemap", KeyKind::Choice, "flat", {"flat", "radix2", "radix3"}, 0, UINT64_MAX, true},
          {"cache", KeyKind::Choice, "lazy", {"none", "eager", "lazy"}, 0, UINT64_MAX, true},
          {"large", KeyKind::Size, "64K", {}, 64, std::uint64_t{4} << 20, false, true},
      },
      {"mmap"},
      &check_buddy};
  return s;
}

void buddy_add_rows(std::vector<RegistryRow>& out) {
  buddy::rows_unordered(out);
  buddy::rows_mtf(out);
  buddy::rows_fullness_array(out);
  buddy::rows_fullness_list(out);
  buddy::rows_fullness_mtf(out);
}

}  // namespace evo
