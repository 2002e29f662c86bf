// core/simple/slab.cpp — the `slab` family (see family.hpp): fixed-size objects
// in slab-aligned slabs, one partial-slab list per size class.
#include "core/adapter.hpp"
#include "core/simple/family.hpp"
#include "core/simple/slab_alloc.hpp"

namespace evo {
namespace {
using simple::Slab;
}  // namespace

const FamilySchema& slab_schema() {
  static const FamilySchema s{
      "slab",
      "fixed-size objects in page-sized slabs, a partial-slab list per size class; large objects mapped",
      {{"slab", KeyKind::Size, "4K", {}, 4096, std::uint64_t{1} << 20, false, true}},
      {"mmap"}};
  return s;
}
void slab_add_rows(std::vector<RegistryRow>& out) {
  // usable_size reads the slab header's class (or a large block's mapping header):
  // fixed while the block is live, so it may run beside other calls.
  out.push_back(make_row<Slab>("slab", Traits{16, true, false, false, false, true}));
}

}  // namespace evo
