// core/buddy/family.cpp — schema and rows of the buddy family (see family.hpp).
#include "core/buddy/family.hpp"

#include <string>

#include "core/buddy/config.hpp"

namespace evo {

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
      [](const AllocatorSpec& spec, std::string* err) { return buddy::check_buddy_sizes(spec, 2, true, err); }};
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
