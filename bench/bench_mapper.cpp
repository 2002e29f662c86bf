// bench/bench_mapper.cpp — speed of the GE mapping (grammar/mapper.hpp) on allocator.bnf.
//
//   bench_mapper [GENOMES] [REPEATS]
//
// Maps GENOMES random genomes of 40 codons (the same ones in every repeat) with
// map_genome, and with a straightforward baseline mapper measured in the same run:
// recursive descent that builds the sentence from per-node std::string pieces (what
// a first implementation typically does). Prints the median over REPEATS of ns per
// genome and per codon read, and the ratio baseline / map_genome.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "grammar/grammar.hpp"
#include "grammar/mapper.hpp"
#include "grammar/rng.hpp"

namespace {

struct Naive {
  const evo::Grammar& g;
  const std::vector<std::uint32_t>& c;
  std::size_t pos = 0;
  int wraps = 0;
  bool ok = true;

  bool next(std::uint32_t& v) {
    if (c.empty()) return false;
    if (pos == c.size()) {
      if (wraps >= 2) return false;
      ++wraps;
      pos = 0;
    }
    v = c[pos++];
    return true;
  }
  std::string expand(std::uint32_t r, int depth) {
    if (depth > 30) {
      ok = false;
      return {};
    }
    const evo::Rule& rule = g.rules[r];
    std::size_t choice = 0;
    if (rule.productions.size() > 1) {
      std::uint32_t v;
      if (!next(v)) {
        ok = false;
        return {};
      }
      choice = v % rule.productions.size();
    }
    std::vector<std::string> parts;
    for (const evo::Symbol& s : rule.productions[choice].symbols) {
      if (s.kind == evo::Symbol::Kind::Terminal) parts.push_back(g.terminals[s.index]);
      else if (s.kind == evo::Symbol::Kind::NonTerminal) parts.push_back(expand(s.index, depth + 1));
      else {
        const evo::IntRange& rg = g.ranges[s.index];
        std::uint32_t v = 0;
        if (rg.size() > 1 && !next(v)) ok = false;
        parts.push_back(std::to_string(rg.lo + static_cast<std::int64_t>(v % rg.size())));
      }
      if (!ok) return {};
    }
    std::string out;
    for (const auto& p : parts) out += p;
    return out;
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 7;
  evo::Grammar g = evo::load_grammar(std::string(EVOALLOC_SOURCE_DIR) + "/grammar/allocator.bnf");
  evo::Rng rng(12345);
  std::vector<std::vector<std::uint32_t>> genomes(n, std::vector<std::uint32_t>(40));
  for (auto& gen : genomes)
    for (auto& c : gen) c = static_cast<std::uint32_t>(rng.next());

  std::vector<double> ours, base;
  std::size_t reads = 0, valid = 0, checksum = 0;
  for (int r = 0; r < repeats; ++r) {
    reads = valid = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& gen : genomes) {
      evo::MapResult m = evo::map_genome(g, gen, {});
      reads += m.used_codons;
      valid += m.valid;
      checksum += m.sentence.size();
    }
    auto t1 = std::chrono::steady_clock::now();
    for (const auto& gen : genomes) {
      Naive nv{g, gen};
      std::string s = nv.expand(0, 1);
      checksum += s.size();
    }
    auto t2 = std::chrono::steady_clock::now();
    ours.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
    base.push_back(std::chrono::duration<double, std::nano>(t2 - t1).count());
  }
  double mo = median(ours), mb = median(base);
  std::printf("bench_mapper: allocator.bnf, %zu genomes x 40 codons, %d repeats (median)\n", n, repeats);
  std::printf("  valid: %zu/%zu, codons read per genome: %.2f\n", valid, n, double(reads) / double(n));
  std::printf("  map_genome : %8.1f ns/genome  %6.1f ns/codon\n", mo / double(n), mo / double(reads));
  std::printf("  baseline   : %8.1f ns/genome  %6.1f ns/codon\n", mb / double(n), mb / double(reads));
  std::printf("  ratio baseline/map_genome: %.2fx   (checksum %zu)\n", mb / mo, checksum);
  return 0;
}
