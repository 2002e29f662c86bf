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
// Adding a family: write its components under core/<family>/, describe it with a
// FamilySchema (its keys, in canonical order) and a function that appends its rows,
// and list both in core/registry.cpp. Nothing else changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ops.hpp"
#include "core/probe.hpp"
#include "core/spec.hpp"

namespace evo {

/// One entry of a request-size histogram: `count` requests of `size` bytes.
/// Used by class schemes fitted to a trace (classes=fitted:K).
struct SizeCount {
  std::uint64_t size;
  std::uint64_t count;
};

/// How an instance is created (everything that is not the design itself).
struct InstanceOptions {
  const Probe* probe = nullptr;                 ///< metadata touch observer (may be null)
  std::size_t reserve = 0;                      ///< address space per instance (0 = MemorySource default)
  std::size_t memory_limit = 0;                 ///< footprint cap in bytes (0 = none)
  std::span<const SizeCount> size_histogram{};  ///< the trace's sizes, for fitted classes
};

/// Kinds of schema keys.
enum class KeyKind { Choice, Size, Integer, SizeList, ClassScheme };

struct KeySchema {
  std::string_view key;
  KeyKind kind;
  std::string_view default_value;          ///< canonical default
  std::vector<std::string_view> choices{}; ///< for Choice
  std::uint64_t min = 0, max = UINT64_MAX; ///< for Size/Integer (inclusive)
  bool discrete = false;                   ///< part of the row (template) choice
};

struct FamilySchema {
  std::string_view family;
  std::string_view summary;  ///< one line for --help and `taxonomy --json`
  std::vector<KeySchema> keys;  ///< canonical order, without the common keys
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
const FamilySchema* find_family(std::string_view family);
/// The row for a (parsed, canonical) spec, or nullptr with *err set.
const RegistryRow* find_row(const AllocatorSpec& spec, std::string* err);

}  // namespace evo
