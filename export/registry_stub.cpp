// registry_stub.cpp — the export carries no registry (part of every export).
//
// An export compiles one design, not the jump table: the spec is built directly
// from the generated constants (design.hpp), never parsed. core/spec.cpp is
// compiled in for AllocatorSpec::get/get_size/text and format_size/parse_size; its
// parse_spec looks families up here and, finding none, fails cleanly
// ("unknown allocator family"). rows() holds exactly one row, the design's own
// (id 0), which evo_export::Heap::init publishes with set_export_row before it
// builds anything: the hardening layer (core/layers/harden.cpp) builds its wrapper
// rows from rows() and wraps a row by id.
//
// The file does not depend on the design (it does not include design.hpp), so a
// project that builds many exports compiles it once (evoalloc_export_common).
#include <atomic>

#include "core/registry.hpp"

namespace evo {

namespace {
std::atomic<const RegistryRow*> g_export_row{nullptr};
}  // namespace

/// Declared in evoalloc_runtime.hpp. Every heap publishes the same row.
void set_export_row(const RegistryRow* row) { g_export_row.store(row, std::memory_order_release); }

std::span<const RegistryRow> rows() {
  const RegistryRow* r = g_export_row.load(std::memory_order_acquire);
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
