// core/buddy/fib_family.cpp — schema and row of the `fibbuddy` family.
#include "core/buddy/fib_family.hpp"

#include <string>

#include "core/adapter.hpp"
#include "core/buddy/fib_heap.hpp"

namespace evo {
namespace {

bool check_fibbuddy(const AllocatorSpec& spec, std::string* err) {
  std::uint64_t sb = spec.get_size("sb"), min = spec.get_size("min"), large = spec.get_size("large");
  if (min > sb / 8) {
    if (err) *err = "min=" + format_size(min) + " must be at most sb/8 = " + format_size(sb / 8);
    return false;
  }
  if (large > sb) {
    if (err) *err = "large=" + format_size(large) + " must be at most sb=" + format_size(sb);
    return false;
  }
  return true;
}

}  // namespace

const FamilySchema& fibbuddy_schema() {
  static const FamilySchema s{
      "fibbuddy",
      "Fibonacci buddy: blocks of Fibonacci sizes split into unequal buddies, state bytes off the data pages",
      {
          {"sb", KeyKind::Size, "256K", {}, 16 * 1024, std::uint64_t{4} << 20},
          {"min", KeyKind::Size, "16", {}, 16, 4096, false, true},
          {"large", KeyKind::Size, "64K", {}, 1024, std::uint64_t{4} << 20},
      },
      {"mmap"},
      &check_fibbuddy};
  return s;
}

void fibbuddy_add_rows(std::vector<RegistryRow>& out) {
  out.push_back(make_row<buddy::FibBuddyHeap>("fibbuddy", Traits{16, true, false, false, true}));
}

}  // namespace evo
