// evolve/genome.hpp — GE genomes and their variation operators.
//
// A genome is a vector of integer codons in [0, codon_max). The GE mapper
// (grammar/mapper.hpp) reads codons left to right, each picking a production by
// `codon mod choices`; `used` is how many codons the last mapping consumed (with
// wraps it may exceed the length; operators clamp it to the length).
//
// Operators (PonyGE2 conventions):
//   * one_point_crossover: a cut point in each parent, chosen inside its used part
//     ([1, used] when used >= 2, else anywhere); the children swap tails. Children
//     may differ in length from their parents (variable one-point).
//   * int_flip_mutation: each codon of the used part (the whole genome if nothing
//     was used) is replaced, with probability `rate`, by a fresh uniform codon.
// Both draw only from the StreamRng they are given (evolve/rng.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "evolve/rng.hpp"

namespace evo {

using Codon = std::uint32_t;

struct Genome {
  std::vector<Codon> codons;
  std::size_t used = 0;  ///< codons consumed by the last mapping (0 = unknown / invalid)
  bool operator==(const Genome& o) const { return codons == o.codons; }
};

/// A genome of `length` uniform codons in [0, codon_max).
Genome random_genome(std::size_t length, Codon codon_max, StreamRng& rng);

/// Variable one-point crossover within the used codons; returns the two children
/// (their `used` is 0: they have not been mapped yet).
std::pair<Genome, Genome> one_point_crossover(const Genome& a, const Genome& b, StreamRng& rng);

/// Int-flip mutation within the used codons; returns the number of codons changed.
std::size_t int_flip_mutation(Genome& g, double rate, Codon codon_max, StreamRng& rng);

/// Genome as text: codons separated by '.', e.g. "12.0.255" (used in CSV and checkpoints).
std::string genome_to_string(const Genome& g);
/// Parses genome_to_string's form; false on malformed text.
bool genome_from_string(std::string_view s, Genome& out);

}  // namespace evo
