// registry_stub.cpp — the export carries no registry (part of every export).
//
// An export compiles one design, not the jump table: the spec is built directly
// from the generated constants (design.hpp), never parsed. core/spec.cpp is
// compiled in for AllocatorSpec::get/get_size/text and format_size/parse_size; its
// parse_spec looks families up here and, finding none, fails cleanly
// ("unknown allocator family"). No allocator path calls these functions.
#include "core/registry.hpp"

namespace evo {

std::span<const RegistryRow> rows() { return {}; }
std::span<const FamilySchema> families() { return {}; }
std::span<const KeySchema> common_keys() { return {}; }
const FamilySchema* find_family(std::string_view) { return nullptr; }
const RegistryRow* find_row(const AllocatorSpec&, std::string* err) {
  if (err != nullptr) *err = "the export has no registry";
  return nullptr;
}

}  // namespace evo
