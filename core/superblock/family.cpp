// core/superblock/family.cpp — the superblock family's schema and row list.
#include "core/superblock/family.hpp"

#include <string>

#include "core/superblock/rows.hpp"

namespace evo {
namespace {

bool check_superblock(const AllocatorSpec& spec, std::string* err) {
  std::uint64_t sb = spec.get_size("sb"), large = spec.get_size("large");
  if (large % 64 != 0) return fail(err, "large=" + format_size(large) + " must be a multiple of 64");
  if (large > sb / 2)
    return fail(err, "large=" + format_size(large) + " must be at most sb/2 = " + format_size(sb / 2));
  const std::string* cls = spec.get("classes");
  if (cls != nullptr && cls->starts_with("linear:")) {
    std::uint64_t step = 0;
    parse_size(std::string_view(*cls).substr(7), step);
    if (step > large) return fail(err, "classes=" + *cls + ": the step exceeds large=" + format_size(large));
  }
  return true;
}

}  // namespace

const FamilySchema& superblock_schema() {
  static const FamilySchema s{
      "superblock",
      "segregated size classes in superblocks, with bins, a per-superblock algorithm, a pagemap and an "
      "empty-superblock cache; large requests mapped directly",
      {
          {"classes", KeyKind::ClassScheme, "jemalloc"},
          {"sb", KeyKind::Size, "64K", {}, 4096, std::uint64_t{1} << 20, false, true},
          {"bins", KeyKind::Choice, "fullness-list",
           {"unordered", "mtf", "fullness-array", "fullness-list", "fullness-mtf"}, 0, UINT64_MAX, true},
          {"alg", KeyKind::Choice, "bumpstack", {"bump", "reap", "bitmap", "stack", "bumpstack"}, 0, UINT64_MAX, true},
          {"pagemap", KeyKind::Choice, "flat", {"flat", "radix2", "radix3"}, 0, UINT64_MAX, true},
          {"cache", KeyKind::Choice, "lazy", {"none", "eager", "lazy"}, 0, UINT64_MAX, true},
          {"large", KeyKind::Size, "16K", {}, 64, std::uint64_t{512} << 10},
      },
      {"mmap"},
      &check_superblock};
  return s;
}

void superblock_add_rows(std::vector<RegistryRow>& out) {
  superblock_rows_unordered(out);
  superblock_rows_mtf(out);
  superblock_rows_fullness_array(out);
  superblock_rows_fullness_list(out);
  superblock_rows_fullness_mtf(out);
}

}  // namespace evo
