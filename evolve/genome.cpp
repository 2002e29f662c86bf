#include "evolve/genome.hpp"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

namespace evo {

Genome random_genome(std::size_t length, Codon codon_max, StreamRng& rng) {
  Genome g;
  g.codons.resize(length);
  for (Codon& c : g.codons) c = static_cast<Codon>(rng.below(codon_max));
  return g;
}

namespace {
// A cut point in [1, used] (or [0, size] for tiny genomes), tails are swapped after it.
std::size_t cut_point(const Genome& g, StreamRng& rng) {
  std::size_t used = std::min(g.used, g.codons.size());
  if (used == 0) used = g.codons.size();
  if (used < 2) return used;
  return 1 + static_cast<std::size_t>(rng.below(used));
}
}  // namespace

std::pair<Genome, Genome> one_point_crossover(const Genome& a, const Genome& b, StreamRng& rng) {
  const std::size_t pa = cut_point(a, rng);
  const std::size_t pb = cut_point(b, rng);
  Genome c, d;
  c.codons.assign(a.codons.begin(), a.codons.begin() + static_cast<std::ptrdiff_t>(pa));
  c.codons.insert(c.codons.end(), b.codons.begin() + static_cast<std::ptrdiff_t>(pb), b.codons.end());
  d.codons.assign(b.codons.begin(), b.codons.begin() + static_cast<std::ptrdiff_t>(pb));
  d.codons.insert(d.codons.end(), a.codons.begin() + static_cast<std::ptrdiff_t>(pa), a.codons.end());
  return {std::move(c), std::move(d)};
}

std::size_t int_flip_mutation(Genome& g, double rate, Codon codon_max, StreamRng& rng) {
  std::size_t used = std::min(g.used, g.codons.size());
  if (used == 0) used = g.codons.size();
  std::size_t changed = 0;
  for (std::size_t i = 0; i < used; ++i) {
    if (!rng.chance(rate)) continue;
    Codon c = static_cast<Codon>(rng.below(codon_max));
    if (c != g.codons[i]) ++changed;
    g.codons[i] = c;
  }
  return changed;
}

std::string genome_to_string(const Genome& g) {
  std::string s;
  for (std::size_t i = 0; i < g.codons.size(); ++i) {
    if (i) s += '.';
    s += std::to_string(g.codons[i]);
  }
  return s;
}

bool genome_from_string(std::string_view s, Genome& out) {
  out.codons.clear();
  out.used = 0;
  if (s.empty()) return true;
  const char* p = s.data();
  const char* end = s.data() + s.size();
  while (true) {
    Codon c = 0;
    auto [q, ec] = std::from_chars(p, end, c);
    if (ec != std::errc() || q == p) return false;
    out.codons.push_back(c);
    if (q == end) return true;
    if (*q != '.') return false;
    p = q + 1;
  }
}

}  // namespace evo
