// core/spec.hpp — AllocatorSpec: one allocator design as data, and its canonical text.
//
// The canonical text is also the sentence language of grammar/allocator.bnf: the
// grammar generates exactly these strings and this parser is the one place that
// gives a sentence its meaning.
//
// Text form:   FAMILY [KEY=VALUE]...
//   * tokens separated by single spaces; FAMILY is a lower-case word naming a
//     family of designs (superblock, block, buddy, minimal, pad, ...);
//   * each family declares a schema (core/registry.hpp, FamilySchema): its keys in
//     canonical order, each key's kind (choice among words, size, integer, size
//     list, class scheme) and default. Keys may be given in any order and omitted
//     (the default applies); unknown keys, unknown values, duplicates and values
//     out of range are errors with the column and the expected choices;
//   * sizes are bytes, written plainly or with a K/M/G suffix (powers of 1024);
//     the canonical form uses the largest exact suffix: 65536 -> 64K;
//   * a class scheme is one of: jemalloc | pow2 | linear:STEP | fitted:K
//     (fitted = K classes chosen from the trace's size histogram at instantiation);
//   * a design value (the route family's sub-designs, core/route/router.hpp) is a
//     complete design of another family in brackets, spaces and all:
//     short=[slab slab=64K]; it is canonicalised like a top-level text (every key
//     written), and a few such keys accept a word instead (long=none);
//   * the common keys every family accepts come last, in this order:
//     align=16|32|64 (minimum alignment), source=region|mmap (memory source),
//     harden=off|canary|checked (the hardening layer, core/layers/harden.hpp),
//     front=none|tcache:B[:grow][:array] (the cache front end, core/layers/front.hpp),
//     retain=0|256K|1M|4M|16M|64M|auto (memory kept committed on release), and the optional
//     threads=lock|tlh|tcache (the thread model, see below; tcache needs a
//     front=tcache:B: that cache runs in every thread, core/layers/front.hpp; and
//     not harden=checked, which could not see a double free of a cached block).
// Canonical text = FAMILY then every key of the schema in schema order, including
// the defaults, so two equal designs always have equal text (the fitness-cache key).
// The one optional key, threads, has no default: the text has it only when it was
// given (then last). Without it the run decides the model (config threaded_replay,
// export --threads); grammar/threaded.bnf makes it part of every sentence.
//
// Example:
//   superblock classes=jemalloc sb=64K bins=fullness-list alg=bitmap pagemap=radix2 cache=lazy large=16K align=16 source=mmap harden=off front=none
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace evo {

struct AllocatorSpec {
  std::string family;
  /// Every key of the family's schema, in schema order, with canonical values.
  std::vector<std::pair<std::string, std::string>> params;

  /// The canonical text (see above).
  std::string text() const;
  /// Value of `key`, or nullptr if the family has no such key.
  const std::string* get(std::string_view key) const;
  /// Value of a size/integer key in bytes (0 if absent).
  std::uint64_t get_size(std::string_view key) const;
  bool operator==(const AllocatorSpec&) const = default;
};

/// Parses `text` into a canonical spec. On error returns false and writes one
/// line into *err: the column (1-based), what was found and what was expected.
bool parse_spec(std::string_view text, AllocatorSpec& out, std::string* err);

/// The design text inside a bracketed design value ("[slab slab=4K]" -> "slab slab=4K");
/// `value` is a canonical Design value (not a word such as "none").
inline std::string_view design_value_text(std::string_view value) { return value.substr(1, value.size() - 2); }

/// Formats a byte count the canonical way (65536 -> "64K", 100 -> "100").
std::string format_size(std::uint64_t bytes);
/// Parses "64K", "1M", "100"; false on malformed input or overflow.
bool parse_size(std::string_view s, std::uint64_t& out);

}  // namespace evo
