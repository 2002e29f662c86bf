// fuzz/fuzz_map.cpp — fuzz target: arbitrary bytes as a genome for fixed grammars.
//
// Input: byte 0 picks the grammar and the wrapping limit, byte 1 the depth limit,
// the rest are little-endian uint32 codons (a trailing partial codon is padded).
// Properties: map_genome never crashes; valid == why.empty(); depth within the
// limit; a valid sentence re-encodes (encode_sentence) to a genome that maps back
// to the same sentence; the same input always maps the same way.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "grammar/grammar.hpp"
#include "grammar/mapper.hpp"

#ifndef EVOALLOC_SOURCE_DIR
#error "compile with -DEVOALLOC_SOURCE_DIR=\"<repo root>\" (for grammar/allocator.bnf)"
#endif

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

const std::vector<evo::Grammar>& grammars() {
  static const std::vector<evo::Grammar> gs = [] {
    std::vector<evo::Grammar> v;
    v.push_back(evo::load_grammar(std::string(EVOALLOC_SOURCE_DIR) + "/grammar/allocator.bnf"));
    v.push_back(evo::parse_grammar(
        "<e> ::= <e> <op> <e> | ( <e> ) | <v> | n=<int:-1000..1000>\n<op> ::= + | - | *\n<v> ::= x | y | GE_RANGE:7\n",
        "expr.bnf"));
    return v;
  }();
  return gs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const auto& gs = grammars();
  const evo::Grammar& g = gs[data[0] % gs.size()];
  evo::MapOptions mo;
  mo.max_wraps = (data[0] >> 1) % 4;
  mo.max_depth = 1 + data[1] % 40;
  std::vector<std::uint32_t> codons((size - 2 + 3) / 4, 0);
  if (!codons.empty()) std::memcpy(codons.data(), data + 2, size - 2);
  evo::MapResult r = evo::map_genome(g, codons, mo);
  check(r.valid == r.why.empty());
  check(r.depth <= mo.max_depth);
  check(r.valid || r.sentence.empty());
  check(r.used_codons <= codons.size() * static_cast<std::size_t>(mo.max_wraps + 1));
  evo::MapResult again = evo::map_genome(g, codons, mo);
  check(again.valid == r.valid && again.sentence == r.sentence && again.used_codons == r.used_codons);
  if (r.valid && r.sentence.size() < 256) {
    auto enc = evo::encode_sentence(g, r.sentence, mo.max_depth, 50000);
    if (&g == &gs[0]) check(enc.has_value());  // allocator.bnf: always found (not recursive)
    if (enc) check(evo::map_genome(g, *enc, {0, mo.max_depth, mo.max_nodes}).sentence == r.sentence);
  }
  return 0;
}
