// fuzz/fuzz_bnf.cpp — fuzz target: arbitrary bytes as a BNF grammar.
//
// Property: parse_grammar either throws GrammarError (with a "FILE:LINE:COL: " or
// "FILE: " prefix) or returns a checked grammar; then the mapper, the enumerator's
// count, the encoder and sensible initialisation run on it within their limits
// without crashing or hanging, and what they produce is consistent.
// Built two ways (fuzz/README.md): with libFuzzer (clang, fuzz/run.sh) and with the
// deterministic driver fuzz/driver.cpp (g++, a CTest test under ASan/UBSan).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/enumerate.hpp"
#include "grammar/grammar.hpp"
#include "grammar/mapper.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::size_t tree_size_bound(const evo::Grammar& g) {
  // Sum of production lengths: a cheap proxy that keeps the heavier steps for
  // modest grammars (the fuzzer likes to build exponential trees).
  std::size_t n = 0;
  for (const auto& r : g.rules)
    for (const auto& p : r.productions) n += p.symbols.size();
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  evo::Grammar g;
  try {
    g = evo::parse_grammar(text, "fuzz.bnf");
  } catch (const evo::GrammarError& e) {
    check(std::string_view(e.what()).starts_with("fuzz.bnf:"));
    check(e.line >= 1 && e.column >= 1);
    return 0;
  }
  check(!g.rules.empty());
  for (const auto& r : g.rules) check(r.min_depth >= 1 && !r.productions.empty());

  // Map a few genomes derived from the input.
  evo::MapOptions mo;
  mo.max_nodes = 20000;
  mo.max_depth = 12;
  std::vector<std::uint32_t> genome;
  for (std::size_t i = 0; i < size && genome.size() < 64; i += 3) genome.push_back(data[i] * 2654435761u + i);
  for (int wraps = 0; wraps <= 2; ++wraps) {
    mo.max_wraps = wraps;
    evo::MapResult r = evo::map_genome(g, genome, mo);
    check(r.valid == r.why.empty());
    check(r.depth <= mo.max_depth);
    if (r.valid && r.sentence.size() < 512 && tree_size_bound(g) < 200) {
      auto enc = evo::encode_sentence(g, r.sentence, mo.max_depth, 20000);
      if (enc) check(evo::map_genome(g, *enc, {0, mo.max_depth, mo.max_nodes}).sentence == r.sentence);
    }
  }

  // Counting is cheap whatever the grammar; unranking only for small outputs.
  evo::EnumOptions eo;
  eo.max_depth = 8;
  eo.max_range_values = 4;
  evo::Enumerator en(g, eo);
  if (!en.saturated() && en.count() > 0 && tree_size_bound(g) < 100) {
    std::vector<std::uint32_t> eg;
    std::string s = en.at(en.count() / 2, &eg);
    if (s.size() < 4096) {
      evo::MapResult r = evo::map_genome(g, eg, {0, eo.max_depth, 1u << 20});
      check(r.valid && r.sentence == s);
    }
  }

  if (tree_size_bound(g) < 60) {
    evo::InitOptions io;
    io.max_depth = std::min(6, g.rules[0].min_depth + 3);
    io.max_attempts_per_individual = 3;
    for (const auto& ind : evo::sensible_init(g, 4, size, io)) {
      // The ramp never goes below the start rule's minimum depth.
      const int depth_limit = std::max(io.max_depth, g.rules[0].min_depth);
      evo::MapResult r = evo::map_genome(g, ind, {0, depth_limit, 1u << 22});
      check(r.valid);
    }
  }
  return 0;
}
