// core/registry.hpp — the jump table: every discrete design compiled once, one row each.
//
// A row is one template instantiation of a family's discrete choices (e.g. the
// superblock family's bins x superblock algorithm x pagemap x cache). Numeric
// parameters (superblock size, class table, thresholds, chunk sizes) are not part
// of the row: they live in the instance's state, filled from the spec at creation.
//
// Invariants (tests/core/test_registry.cpp): row ids are dense, rows()[i].id == i;
// each row's name is a canonical spec text (with the family's default numeric
// parameters) that parses back to a spec whose row is that same id.
//
// Adding a family (the extension point): write its components under core/<family>/,
// and in its own header declare
//     const FamilySchema& <family>_schema();                 // keys in canonical order
//     void <family>_add_rows(std::vector<RegistryRow>& out); // appends its rows
// then add ONE line { &<family>_schema, &<family>_add_rows } to the kFamilies table
// in core/registry.cpp. Nothing else changes. add_rows may leave `id` at 0 (the
// registry numbers rows densely in table order) and may write `name` as just the
// family plus its discrete keys, e.g. "superblock bins=mtf alg=bitmap pagemap=flat
// cache=lazy": the registry canonicalises it (parse_spec + text()) and fails loudly
// at start-up (std::logic_error) if it does not parse or two rows share a choice.
//
// Row selection: a spec selects the row whose family and *discrete* keys
// (KeySchema::discrete) match; the other keys (sizes, class scheme, and the common
// keys align/source) are numeric parameters read by row.create from the spec. The
// common keys front and harden are applied by Instance::create around the row, in
// that order (core/layers/: the cache front end wraps the row, hardening wraps both).
//
// Schema-level validation: KeySchema gives each key's kind, range and choices;
// FamilySchema::sources restricts the common key `source`; FamilySchema::check
// rejects inconsistent combinations (e.g. superblock large > sb/2) at parse time,
// so an invalid design is refused before any instance is built.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ops.hpp"
#include "core/probe.hpp"
#include "core/source/memory_source.hpp"
#include "core/spec.hpp"

namespace evo {

/// One entry of a request-size histogram: `count` requests of `size` bytes.
/// Used by class schemes fitted to a trace (classes=fitted:K).
struct SizeCount {
  std::uint64_t size;
  std::uint64_t count;
};

/// One call site's objects (evaluate/site_profile.hpp computes them from a trace):
/// what a design that routes by site (core/route/router.hpp) classifies the site by.
struct SiteLife {
  std::uint64_t allocs = 0;              ///< objects created at the site
  std::uint64_t never_freed = 0;         ///< of those, never freed
  std::uint64_t lifetime_bytes_p90 = 0;  ///< p90 lifetime of the freed ones, in bytes allocated meanwhile
};

/// How an instance is created (everything that is not the design itself).
struct InstanceOptions {
  const Probe* probe = nullptr;                 ///< metadata touch observer (may be null)
  std::size_t reserve = 0;                      ///< address space per instance (0 = MemorySource default)
  std::size_t memory_limit = 0;                 ///< footprint cap in bytes (0 = none)
  std::span<const SizeCount> size_histogram{};  ///< the trace's sizes, for fitted classes
  /// The trace's call sites, indexed by site id, for routing designs (route family);
  /// empty: every allocation goes to the design's rest class.
  std::span<const SiteLife> sites{};
  /// How the instance's MemorySource reaches the OS (core/source/memory_source.hpp):
  /// Real for anything that must behave like the shipped library, Simulated for
  /// evaluation replays (same accounting, no system call per page commit/decommit).
  SourceBacking backing = SourceBacking::Real;
  /// Counts the instance's MemorySource(s) with others (a routing design's sub-heaps,
  /// core/route/router.hpp); null = on its own.
  MemoryGroup* group = nullptr;
};

/// Kinds of schema keys. Design: a complete design of another family in brackets,
/// "[slab slab=4K]" (the route family's sub-designs); `choices` may name words
/// allowed instead (e.g. "none").
enum class KeyKind { Choice, Size, Integer, SizeList, ClassScheme, Design };

struct KeySchema {
  std::string_view key;
  KeyKind kind;
  std::string_view default_value;          ///< canonical default
  std::vector<std::string_view> choices{}; ///< for Choice
  std::uint64_t min = 0, max = UINT64_MAX; ///< for Size/Integer (inclusive)
  bool discrete = false;                   ///< part of the row (template) choice
  bool power_of_two = false;               ///< for Size: the value must be a power of two
  /// Optional key (no default): a spec has it only when its text gives it, and the
  /// canonical text writes it only then. Used for `threads`, a choice that the
  /// default grammar leaves to the run (grammar/threaded.bnf makes it a gene).
  bool optional = false;
};

struct FamilySchema {
  std::string_view family;
  std::string_view summary;  ///< one line for --help and `taxonomy --json`
  std::vector<KeySchema> keys;  ///< canonical order, without the common keys
  /// Allowed values of the common key `source`, the first being the default;
  /// empty = {"mmap", "region"} (default mmap).
  std::vector<std::string_view> sources{};
  /// Consistency check across keys, run by parse_spec on the complete canonical
  /// spec (every key present). Returns false and writes one line into *err.
  bool (*check)(const AllocatorSpec& spec, std::string* err) = nullptr;
};

/// One row of the jump table.
struct RegistryRow {
  std::uint32_t id;
  std::string name;  ///< canonical spec text with default numerics
  std::string_view family;
  Traits traits;
  AllocatorOps ops;
  /// Creates the state for `spec` (whose discrete choices select this row).
  /// Returns nullptr and writes *err when the numeric parameters are unusable.
  void* (*create)(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err);
};

/// All rows, ids dense from 0.
std::span<const RegistryRow> rows();
/// All family schemas.
std::span<const FamilySchema> families();
/// The common keys every family accepts after its own: align, source, harden, front,
/// retain, and the optional threads (the `source` default and choices are per
/// family, see FamilySchema::sources).
std::span<const KeySchema> common_keys();
const FamilySchema* find_family(std::string_view family);
/// The row for a (parsed, canonical) spec, or nullptr with *err set.
const RegistryRow* find_row(const AllocatorSpec& spec, std::string* err);

}  // namespace evo
