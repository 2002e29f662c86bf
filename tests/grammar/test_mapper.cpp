// tests/grammar/test_mapper.cpp — GE mapping, sensible initialisation, encoding.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "grammar/grammar.hpp"
#include "grammar/mapper.hpp"

using evo::Grammar;
using evo::map_genome;
using evo::MapOptions;
using evo::MapResult;

namespace {

const char* kExpr =
    "<e> ::= <e> <op> <e> | <v>\n"
    "<op> ::= + | *\n"
    "<v> ::= x | y | z\n";

Grammar expr() { return evo::parse_grammar(kExpr, "expr.bnf"); }

Grammar allocator() { return evo::load_grammar(std::string(EVOALLOC_SOURCE_DIR) + "/grammar/allocator.bnf"); }

MapResult map(const Grammar& g, std::vector<std::uint32_t> codons, MapOptions opt = {}) {
  return map_genome(g, codons, opt);
}

}  // namespace

TEST_CASE("hand-computed genome on a small grammar") {
  Grammar g = expr();
  // e:0 -> <e> <op> <e>; e:1 -> <v>; v:2 -> z; op:1 -> *; e:1 -> <v>; v:4 (mod 3 = 1) -> y
  MapResult r = map(g, {0, 1, 2, 1, 1, 4, 99, 99});
  REQUIRE(r.valid);
  CHECK(r.sentence == "z * y");
  CHECK(r.used_codons == 6);
  CHECK(r.depth == 3);
  CHECK(r.why.empty());
  // Large codons: only the residue matters.
  MapResult v = map(g, {4294967295u, 4294967295u});  // e: odd -> <v>; v: 4294967295 mod 3 = 0 -> x
  REQUIRE(v.valid);
  CHECK(v.sentence == "x");
  CHECK(v.used_codons == 2);
  CHECK(v.depth == 2);
}

TEST_CASE("single-production rules consume no codon") {
  Grammar g = evo::parse_grammar("<s> ::= <a> <b>\n<a> ::= k\n<b> ::= p | q\n", "t.bnf");
  MapResult r = map(g, {1});
  REQUIRE(r.valid);
  CHECK(r.sentence == "k q");
  CHECK(r.used_codons == 1);
  // A grammar without choices maps the empty genome.
  Grammar fixed = evo::parse_grammar("<s> ::= only <t>\n<t> ::= one\n", "t.bnf");
  MapResult f = map(fixed, {});
  REQUIRE(f.valid);
  CHECK(f.sentence == "only one");
  CHECK(f.used_codons == 0);
  CHECK(f.depth == 2);
}

TEST_CASE("wrapping re-reads the genome up to max_wraps times") {
  Grammar g = expr();
  // e:0 -> <e> <op> <e>; e:1 -> <v>; v:2 -> z; (wrap) op:0 -> +; e:1 -> <v>; v:2 -> z
  MapResult r = map(g, {0, 1, 2}, {1, 30});
  REQUIRE(r.valid);
  CHECK(r.sentence == "z + z");
  CHECK(r.used_codons == 6);
  MapResult no_wrap = map(g, {0, 1, 2}, {0, 30});
  CHECK_FALSE(no_wrap.valid);
  CHECK(no_wrap.sentence.empty());
  CHECK(no_wrap.used_codons == 3);
  CHECK(no_wrap.why.find("ran out of codons") != std::string::npos);
}

TEST_CASE("running out is invalid, not a crash") {
  Grammar g = expr();
  MapResult empty = map(g, {});
  CHECK_FALSE(empty.valid);
  CHECK(empty.used_codons == 0);
  // Always the recursive production: reads 3 codons x (1 + 2 wraps), then runs out.
  MapResult r = map(g, {0, 2, 4}, {2, 30});
  CHECK_FALSE(r.valid);
  CHECK(r.used_codons == 9);
  CHECK(r.depth == 10);  // the 10th <e> node was opened, then found no codon
  CHECK(r.why.find("ran out of codons") != std::string::npos);
}

TEST_CASE("depth limit") {
  Grammar g = expr();
  MapResult r = map(g, {0, 0, 0, 0, 0, 0, 0, 0}, {2, 5});
  CHECK_FALSE(r.valid);
  CHECK(r.depth == 5);
  CHECK(r.used_codons == 5);
  CHECK(r.why.find("depth limit 5") != std::string::npos);
  // The same genome prefix that closes in time is fine: depth 3 within 3.
  MapResult ok = map(g, {0, 1, 2, 1, 1, 4}, {0, 3});
  CHECK(ok.valid);
  MapResult tight = map(g, {0, 1, 2, 1, 1, 4}, {0, 2});
  CHECK_FALSE(tight.valid);
}

TEST_CASE("node limit guards pathological grammars") {
  // 2^20 leaves without any choice.
  std::string text = "<r0> ::= <r1><r1>\n";
  for (int i = 1; i < 20; ++i)
    text += "<r" + std::to_string(i) + "> ::= <r" + std::to_string(i + 1) + "><r" + std::to_string(i + 1) + ">\n";
  text += "<r20> ::= a\n";
  Grammar g = evo::parse_grammar(text, "t.bnf");
  MapOptions opt;
  opt.max_nodes = 1000;
  MapResult r = map(g, {}, opt);
  CHECK_FALSE(r.valid);
  CHECK(r.why.find("node limit") != std::string::npos);
}

TEST_CASE("sensible initialisation: valid, reproducible, ramped, diverse (small grammar)") {
  Grammar g = expr();
  evo::InitOptions io;
  io.max_depth = 6;
  auto pop = evo::sensible_init(g, 200, 42, io);
  REQUIRE(pop.size() == 200);
  std::set<std::string> distinct;
  std::set<int> depths;
  for (const auto& genome : pop) {
    MapResult r = map_genome(g, genome, {0, io.max_depth});
    REQUIRE(r.valid);
    CHECK(r.depth <= io.max_depth);
    CHECK(r.depth >= g.rules[0].min_depth);
    CHECK(genome.size() >= r.used_codons + io.tail_min);  // a random tail follows
    distinct.insert(r.sentence);
    depths.insert(r.depth);
  }
  CHECK(distinct.size() >= 190);
  CHECK(depths.contains(2));
  CHECK(depths.contains(6));
  CHECK(evo::sensible_init(g, 200, 42, io) == pop);
  CHECK(evo::sensible_init(g, 200, 43, io) != pop);
}

TEST_CASE("sensible initialisation on allocator.bnf: 100% valid, 200 distinct designs") {
  Grammar g = allocator();
  auto pop = evo::sensible_init(g, 200, 7);
  std::set<std::string> distinct;
  std::set<std::string> families;
  for (const auto& genome : pop) {
    MapResult r = map_genome(g, genome, {});
    REQUIRE(r.valid);
    distinct.insert(r.sentence);
    families.insert(r.sentence.substr(0, r.sentence.find(' ')));
  }
  CHECK(distinct.size() == 200);
  CHECK(families.size() >= 3);
}

TEST_CASE("sensible initialisation on a tiny language accepts duplicates") {
  Grammar g = evo::parse_grammar("<s> ::= a | b\n", "t.bnf");
  auto pop = evo::sensible_init(g, 10, 1);
  std::set<std::string> distinct;
  for (const auto& genome : pop) {
    MapResult r = map_genome(g, genome, {});
    REQUIRE(r.valid);
    distinct.insert(r.sentence);
  }
  CHECK(distinct == std::set<std::string>{"a", "b"});
}

TEST_CASE("encode_sentence finds a genome that maps back") {
  Grammar g = expr();
  for (const char* s : {"x", "z * y", "x + y * z", "y * y * y + x"}) {
    auto genome = evo::encode_sentence(g, s);
    REQUIRE(genome.has_value());
    MapResult r = map_genome(g, *genome, {0, 30});
    REQUIRE(r.valid);
    CHECK(r.sentence == s);
    CHECK(r.used_codons == genome->size());
  }
  CHECK_FALSE(evo::encode_sentence(g, "x +").has_value());
  CHECK_FALSE(evo::encode_sentence(g, "w").has_value());
  CHECK_FALSE(evo::encode_sentence(g, "").has_value());
  Grammar rg = evo::parse_grammar("<s> ::= n=<int:-3..200><t>\n<t> ::= 5 | k\n", "t.bnf");
  auto genome = evo::encode_sentence(rg, "n=-25");
  REQUIRE(genome.has_value());  // -2 then "5"
  CHECK(map_genome(rg, *genome, {}).sentence == "n=-25");
  CHECK_FALSE(evo::encode_sentence(rg, "n=007k").has_value());  // not the canonical decimal
  CHECK_FALSE(evo::encode_sentence(rg, "n=201k").has_value());
}

TEST_CASE("encode_sentence on allocator.bnf round-trips through the mapper") {
  Grammar g = allocator();
  auto pop = evo::sensible_init(g, 20, 3);
  for (const auto& genome : pop) {
    std::string s = map_genome(g, genome, {}).sentence;
    auto enc = evo::encode_sentence(g, s);
    REQUIRE(enc.has_value());
    CHECK(map_genome(g, *enc, {0, 30}).sentence == s);
  }
  CHECK_FALSE(evo::encode_sentence(g, "superblock classes=jemalloc").has_value());
}

TEST_CASE("sensible initialisation never ramps below the start rule's minimum depth") {
  // min depth of <s> is 5; asking for trees of at most 3 levels still gives valid genomes.
  Grammar g = evo::parse_grammar("<s> ::= <a>\n<a> ::= <b> | <b> <b>\n<b> ::= <c>\n<c> ::= <d>\n<d> ::= x | y\n", "t.bnf");
  REQUIRE(g.rules[0].min_depth == 5);
  evo::InitOptions io;
  io.max_depth = 3;
  for (const auto& genome : evo::sensible_init(g, 20, 5, io)) {
    MapResult r = map_genome(g, genome, {0, 5});
    REQUIRE(r.valid);
    CHECK(r.depth == 5);
  }
}
