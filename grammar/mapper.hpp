// grammar/mapper.hpp — the GE genotype-to-phenotype mapping, sensible initialisation,
// and the reverse mapping (sentence -> genome).
//
// Contract
//   * A genome is a sequence of uint32 codons. map_genome runs the standard GE
//     leftmost derivation from the start rule: at each non-terminal with k > 1
//     productions it takes the next codon c and picks production c mod k; a rule with
//     one production takes no codon; an integer range of size s > 1 takes c mod s
//     (value lo + c mod s); a range of size 1 takes no codon.
//   * Wrapping: when the codons run out, reading restarts at the first codon, at most
//     max_wraps times. A derivation still unfinished after that is invalid
//     (valid=false, why="ran out of codons ..."), never a crash. An empty genome is
//     valid only if the derivation needs no codon.
//   * Depth (see grammar/grammar.hpp): a derivation whose tree would exceed max_depth
//     rule levels is invalid (why="depth limit ..."). A derivation that would expand
//     more than max_nodes rule nodes is invalid too (guards pathological grammars).
//   * used_codons counts codon reads, wraps included (it can exceed genome size);
//     for an invalid genome it is the count read before stopping. depth is the tree
//     depth reached. sentence is empty when invalid.
//   * Cost: no allocation per codon. Working memory is a per-thread stack reused
//     across calls; the only allocation is the sentence itself. Thread safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/grammar.hpp"

namespace evo {

struct MapOptions {
  int max_wraps = 2;                    ///< extra passes over the genome (0 = no wrapping)
  int max_depth = 30;                   ///< derivation tree depth limit (rule levels)
  std::size_t max_nodes = 1u << 20;     ///< rule expansions limit
};

struct MapResult {
  bool valid = false;
  std::string sentence;
  std::size_t used_codons = 0;
  int depth = 0;
  std::string why;  ///< empty when valid
};

MapResult map_genome(const Grammar& g, std::span<const std::uint32_t> codons, const MapOptions& opt = {});

/// Sensible initialisation options (Ryan & Azad 2003, ramped half-and-half).
struct InitOptions {
  int min_depth = 0;          ///< smallest tree depth of the ramp (0 = the start rule's min_depth)
  int max_depth = 10;         ///< largest tree depth of the ramp (raised to min_depth if lower)
  double tail_ratio = 0.5;    ///< random tail length as a fraction of the used codons
  std::size_t tail_min = 4;   ///< at least this many tail codons
  bool unique = true;         ///< avoid duplicate sentences while possible
  std::size_t max_attempts_per_individual = 50;  ///< tries to find a new sentence before accepting a duplicate
};

/// n genomes built from random derivation trees, ramped over depths
/// [min_depth, max_depth], half "full" (recursive productions preferred until the
/// target depth) and half "grow" (any production that fits). Each genome maps
/// (with MapOptions{max_wraps=0, max_depth >= max(InitOptions::max_depth, the start
/// rule's min_depth)}) to the tree's
/// sentence, using exactly its non-tail codons: 100% valid. Deterministic in `seed`.
std::vector<std::vector<std::uint32_t>> sensible_init(const Grammar& g, std::size_t n, std::uint64_t seed,
                                                      const InitOptions& opt = {});

/// A genome whose mapping (without wrapping) yields exactly `sentence`; its codons
/// are the production indices (codon < number of choices; range offsets for ranges),
/// the first derivation found trying alternatives in file order. nullopt when the
/// grammar cannot derive it within `max_depth`, or the backtracking search exceeds
/// `max_steps` steps (or 20000 nested symbols). Useful to seed evolution with known
/// designs and to check that a sentence is in the language.
std::optional<std::vector<std::uint32_t>> encode_sentence(const Grammar& g, std::string_view sentence,
                                                          int max_depth = 30, std::size_t max_steps = 1u << 20);

}  // namespace evo
