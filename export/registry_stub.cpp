// registry_stub.cpp — the export carries no registry (part of every export).
//
// An export compiles one design, not the jump table: the spec is built directly
// from the generated constants (design.hpp), never parsed. core/spec.cpp is
// compiled in for AllocatorSpec::get/get_size/text and format_size/parse_size; its
// parse_spec looks families up here and, finding none, fails cleanly
// ("unknown allocator family"). rows() holds exactly one row, the design's own
// (id 0): the hardening layer (core/layers/harden.cpp) builds its wrapper rows
// from rows() and wraps a row by id.
#include "core/registry.hpp"
#include "evoalloc_runtime.hpp"

namespace evo {

std::span<const RegistryRow> rows() {
  const RegistryRow* r = evo_export::Heap::design_row(nullptr);
  return r != nullptr ? std::span<const RegistryRow>(r, 1) : std::span<const RegistryRow>();
}
std::span<const FamilySchema> families() { return {}; }
std::span<const KeySchema> common_keys() { return {}; }
const FamilySchema* find_family(std::string_view) { return nullptr; }
const RegistryRow* find_row(const AllocatorSpec&, std::string* err) {
  if (err != nullptr) *err = "the export has no registry";
  return nullptr;
}

}  // namespace evo
