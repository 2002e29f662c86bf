// core/simple/reap_vm.cpp — the `reap` and `vm` families (see family.hpp).
#include "core/adapter.hpp"
#include "core/simple/reap_vm_alloc.hpp"
#include "core/simple/family.hpp"

namespace evo {
namespace {
using simple::Reap;
using simple::Vm;
}  // namespace

const FamilySchema& reap_schema() {
  static const FamilySchema s{"reap",
                              "bump allocation with a live counter: resets to the start when everything is freed",
                              {{"chunk", KeyKind::Size, "64K", {}, 4096, std::uint64_t{64} << 20}},
                              {"region", "mmap"}};
  return s;
}
void reap_add_rows(std::vector<RegistryRow>& out) {
  out.push_back(make_row<Reap>("reap", Traits{16, true, true, false, false}));
}

const FamilySchema& vm_schema() {
  static const FamilySchema s{"vm", "one mapping per object: allocate maps its own pages, free unmaps them", {},
                              {"mmap"}};
  return s;
}
void vm_add_rows(std::vector<RegistryRow>& out) {
  out.push_back(make_row<Vm>("vm", Traits{16, true, true, false, false}));
}

}  // namespace evo
