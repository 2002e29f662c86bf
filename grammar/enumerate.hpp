// grammar/enumerate.hpp — every sentence of a grammar, counted and listed.
//
// Contract
//   * The set enumerated is every derivation from the start rule whose tree depth is
//     at most EnumOptions::max_depth (see grammar/grammar.hpp for depth). For a
//     grammar without recursion and max_depth >= its deepest derivation, that is the
//     whole language. Derivations are counted, not distinct strings: an ambiguous
//     grammar lists a sentence once per derivation (allocator.bnf is unambiguous).
//   * Integer ranges: every value GE can reach (IntRange::reachable()), or, when
//     EnumOptions::max_range_values = N > 0 and a range has more than N values, N values
//     evenly spaced over them, the first and last included (N = 1 gives LO). That is
//     the "discrete part" of the grammar.
//   * count() is computed by dynamic programming over (rule, depth), without listing
//     anything: count(rule, d) = sum over productions of the product of the counts of
//     its symbols at depth d-1 (terminal 1, range its value count). Counts saturate at
//     UINT64_MAX (saturated() is then true and at() throws std::overflow_error).
//   * Order: productions in file order; within a production the first symbol varies
//     slowest (mixed radix). at(i) is the i-th sentence of that order, in time
//     proportional to the size of its derivation, so a caller can split the index
//     space over threads.
//   * The genome written by at(i, &genome) maps (map_genome, any MapOptions with
//     max_depth >= the tree's depth) to the same sentence: codons are production
//     indices and range offsets (range values are offsets lo + codon).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "grammar/grammar.hpp"

namespace evo {

struct EnumOptions {
  std::size_t max_range_values = 0;  ///< 0 = every value of each range; else sample to at most this many
  int max_depth = 30;                ///< derivation depth limit
};

class Enumerator {
 public:
  Enumerator(const Grammar& g, const EnumOptions& opt = {});
  /// Number of derivations (saturated at UINT64_MAX).
  std::uint64_t count() const { return total_; }
  bool saturated() const { return total_ == UINT64_MAX; }
  /// The index-th sentence (index < count()); optionally its genome.
  std::string at(std::uint64_t index, std::vector<std::uint32_t>* genome = nullptr) const;
  /// Calls visit(sentence) for sentences 0, 1, ... up to `limit` of them or until
  /// visit returns false. Returns the number visited.
  std::uint64_t for_each(const std::function<bool(const std::string&)>& visit,
                         std::uint64_t limit = UINT64_MAX) const;
  /// Derivations of rule `r` within `depth` levels (default: max_depth), saturated.
  std::uint64_t count_rule(std::uint32_t r, int depth = -1) const {
    return rule_count(r, depth < 0 || depth > opt_.max_depth ? opt_.max_depth : depth);
  }
  /// Number of values the enumeration takes from range `r` (after sampling).
  std::uint64_t range_values(std::uint32_t r) const;
  /// The k-th value taken from range `r`.
  std::int64_t range_value(std::uint32_t r, std::uint64_t k) const;

 private:
  std::uint64_t rule_count(std::uint32_t r, int depth) const;
  std::uint64_t symbol_count(const Symbol& s, int depth) const;
  void unrank(std::uint32_t r, int depth, std::uint64_t index, std::string& out,
              std::vector<std::uint32_t>* genome) const;

  const Grammar& g_;
  EnumOptions opt_;
  std::vector<std::uint64_t> table_;  // table_[r * (max_depth+1) + d] = derivations of r with depth <= d
  std::uint64_t total_ = 0;
};

/// Shorthands.
std::uint64_t count_sentences(const Grammar& g, const EnumOptions& opt = {});
std::vector<std::string> enumerate_sentences(const Grammar& g, const EnumOptions& opt = {},
                                             std::uint64_t limit = UINT64_MAX);

}  // namespace evo
