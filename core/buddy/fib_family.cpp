// core/buddy/fib_family.cpp — schema and row of the `fibbuddy` family.
#include "core/buddy/fib_family.hpp"

#include <string>

#include "core/adapter.hpp"
#include "core/buddy/config.hpp"
#include "core/buddy/fib_heap.hpp"

namespace evo {

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
      [](const AllocatorSpec& spec, std::string* err) { return buddy::check_buddy_sizes(spec, 8, false, err); }};
  return s;
}

void fibbuddy_add_rows(std::vector<RegistryRow>& out) {
  out.push_back(make_row<buddy::FibBuddyHeap>("fibbuddy", Traits{16, true, false, false, true}));
}

}  // namespace evo
