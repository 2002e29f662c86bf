// core/registry.cpp — the table of families and the jump table built from it.
// See core/registry.hpp for the extension point (one line per family in kFamilies).
#include "core/registry.hpp"

#include <stdexcept>
#include <string>
#include <unordered_map>

#include "core/block/family.hpp"
#include "core/buddy/family.hpp"
#include "core/buddy/fib_family.hpp"
#include "core/route/router.hpp"
#include "core/simple/family.hpp"
#include "core/superblock/family.hpp"

namespace evo {
namespace {

struct FamilyEntry {
  const FamilySchema& (*schema)();
  void (*add_rows)(std::vector<RegistryRow>& out);
};

// ---- The families, in row order. One line per family. ----
const FamilyEntry kFamilies[] = {
    {&minimal_schema, &minimal_add_rows},
    {&pad_schema, &pad_add_rows},
    {&superblock_schema, &superblock_add_rows},
    {&freelist_schema, &freelist_add_rows},
    {&btag_schema, &btag_add_rows},
    {&dlbins_schema, &dlbins_add_rows},
    {&block_schema, &block_add_rows},
    {&reap_schema, &reap_add_rows},
    {&fixed_schema, &fixed_add_rows},
    {&slab_schema, &slab_add_rows},
    {&vm_schema, &vm_add_rows},
    {&buddy_schema, &buddy_add_rows},
    {&fibbuddy_schema, &fibbuddy_add_rows},
    {&route_schema, &route_add_rows},
};

const std::vector<KeySchema>& common_key_table() {
  static const std::vector<KeySchema> keys = {
      {"align", KeyKind::Choice, "16", {"16", "32", "64"}},
      {"source", KeyKind::Choice, "mmap", {"mmap", "region"}},
      {"harden", KeyKind::Choice, "off", {"off", "canary", "checked"}},
      {"front", KeyKind::Choice, "none", {"none", "tcache:16", "tcache:64", "tcache:256", "tcache:1024", "tcache:64:grow",
                                          "tcache:256:grow", "tcache:1024:grow", "tcache:64:array",
                                          "tcache:256:grow:array", "tcache:1024:grow:array"}},
      {"retain", KeyKind::Choice, "0", {"0", "256K", "1M", "4M", "16M", "64M", "auto"}},
      // The thread model of the exported library and of the threaded replay
      // (evaluate/replay_threaded.hpp): optional, see KeySchema::optional.
      {.key = "threads", .kind = KeyKind::Choice, .default_value = "", .choices = {"lock", "tlh", "tcache"}, .optional = true},
  };
  return keys;
}

const std::vector<FamilySchema>& family_table() {
  static const std::vector<FamilySchema> fams = [] {
    std::vector<FamilySchema> v;
    for (const FamilyEntry& e : kFamilies) v.push_back(e.schema());
    return v;
  }();
  return fams;
}

/// "family k=v ..." over the discrete keys only: the row lookup key.
std::string discrete_key(const AllocatorSpec& spec, const FamilySchema& fam) {
  std::string key = spec.family;
  for (const KeySchema& k : fam.keys) {
    if (!k.discrete) continue;
    const std::string* v = spec.get(k.key);
    key += ' ';
    key += k.key;
    key += '=';
    if (v != nullptr) key += *v;
  }
  return key;
}

struct Table {
  std::vector<RegistryRow> rows;
  std::unordered_map<std::string, std::uint32_t> by_key;
};

const Table& table() {
  static const Table t = [] {
    Table t;
    for (const FamilyEntry& e : kFamilies) e.add_rows(t.rows);
    for (std::size_t i = 0; i < t.rows.size(); ++i) {
      RegistryRow& r = t.rows[i];
      r.id = static_cast<std::uint32_t>(i);
      AllocatorSpec spec;
      std::string err;
      if (!parse_spec(r.name, spec, &err))
        throw std::logic_error("registry: row '" + r.name + "' does not parse: " + err);
      r.name = spec.text();
      const FamilySchema* fam = find_family(spec.family);
      r.family = fam->family;
      if (!t.by_key.emplace(discrete_key(spec, *fam), r.id).second)
        throw std::logic_error("registry: two rows share the discrete choice of '" + r.name + "'");
    }
    return t;
  }();
  return t;
}

}  // namespace

std::span<const RegistryRow> rows() { return table().rows; }

std::span<const FamilySchema> families() { return family_table(); }

std::span<const KeySchema> common_keys() { return common_key_table(); }

const FamilySchema* find_family(std::string_view family) {
  for (const FamilySchema& f : family_table())
    if (f.family == family) return &f;
  return nullptr;
}

const RegistryRow* find_row(const AllocatorSpec& spec, std::string* err) {
  const FamilySchema* fam = find_family(spec.family);
  if (fam == nullptr) {
    if (err != nullptr) *err = "unknown allocator family '" + spec.family + "'";
    return nullptr;
  }
  const Table& t = table();
  auto it = t.by_key.find(discrete_key(spec, *fam));
  if (it == t.by_key.end()) {
    if (err != nullptr) *err = "no compiled row for '" + discrete_key(spec, *fam) + "' (is the spec canonical?)";
    return nullptr;
  }
  return &t.rows[it->second];
}

}  // namespace evo
