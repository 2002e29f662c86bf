// tests/grammar/test_enumerate.cpp — counting and listing every sentence.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "grammar/enumerate.hpp"
#include "grammar/grammar.hpp"
#include "grammar/mapper.hpp"

using evo::EnumOptions;
using evo::Enumerator;
using evo::Grammar;

TEST_CASE("count and list a small grammar in order") {
  Grammar g = evo::parse_grammar("<s> ::= <a> <b> | c\n<a> ::= a1 | a2\n<b> ::= b1 | b2 | b3\n", "t.bnf");
  Enumerator e(g);
  CHECK(e.count() == 7);
  CHECK_FALSE(e.saturated());
  std::vector<std::string> want{"a1 b1", "a1 b2", "a1 b3", "a2 b1", "a2 b2", "a2 b3", "c"};
  CHECK(evo::enumerate_sentences(g) == want);
  CHECK(evo::enumerate_sentences(g, {}, 2) == std::vector<std::string>{"a1 b1", "a1 b2"});
  CHECK(e.at(4) == "a2 b2");
  CHECK_THROWS_AS(e.at(7), std::out_of_range);
  std::uint64_t seen = e.for_each([](const std::string& s) { return s != "a1 b3"; });
  CHECK(seen == 3);
}

TEST_CASE("every enumerated genome maps to its sentence") {
  Grammar g = evo::parse_grammar("<e> ::= <e> <op> <e> | <v>\n<op> ::= + | *\n<v> ::= x | y | z\n", "t.bnf");
  EnumOptions opt;
  opt.max_depth = 3;
  Enumerator e(g, opt);
  CHECK(e.count() == 21);  // depth 2: 3 values; depth 3: 3*2*3 + 3
  std::set<std::string> distinct;
  for (std::uint64_t i = 0; i < e.count(); ++i) {
    std::vector<std::uint32_t> genome;
    std::string s = e.at(i, &genome);
    evo::MapResult r = evo::map_genome(g, genome, {0, 3});
    REQUIRE(r.valid);
    CHECK(r.sentence == s);
    CHECK(r.used_codons == genome.size());
    distinct.insert(s);
  }
  CHECK(distinct.size() == 21);
  opt.max_depth = 4;
  CHECK(evo::count_sentences(g, opt) == 21 * 21 * 2 + 3);
}

TEST_CASE("integer ranges: enumerated or sampled") {
  Grammar g = evo::parse_grammar("<s> ::= n=<int:0..99> <t>\n<t> ::= GE_RANGE:3\n", "t.bnf");
  CHECK(evo::count_sentences(g) == 300);
  EnumOptions opt;
  opt.max_range_values = 5;
  Enumerator e(g, opt);
  CHECK(e.count() == 5 * 3);
  std::vector<std::string> got;
  for (std::uint64_t i = 0; i < e.count(); i += 3) got.push_back(e.at(i));
  CHECK(got == std::vector<std::string>{"n=0 0", "n=25 0", "n=50 0", "n=74 0", "n=99 0"});
  opt.max_range_values = 1;
  CHECK(evo::enumerate_sentences(g, opt) == std::vector<std::string>{"n=0 0"});  // every range sampled
  // Genomes of sampled values still map back.
  std::vector<std::uint32_t> genome;
  opt.max_range_values = 5;
  std::string s = Enumerator(g, opt).at(10, &genome);
  CHECK(evo::map_genome(g, genome, {}).sentence == s);
}

TEST_CASE("counts saturate instead of overflowing") {
  Grammar g = evo::parse_grammar(
      "<s> ::= <r><r><r><r>\n<r> ::= <int:0..4294967295><int:-9223372036854775808..9223372036854775807>\n", "t.bnf");
  Enumerator e(g);
  CHECK(e.saturated());
  CHECK(e.count() == UINT64_MAX);
  CHECK_THROWS_AS(e.at(0), std::overflow_error);
}

TEST_CASE("allocator.bnf: the count matches the listing (sampled prefix) and sentences are distinct") {
  Grammar g = evo::load_grammar(std::string(EVOALLOC_SOURCE_DIR) + "/grammar/allocator.bnf");
  Enumerator e(g);
  REQUIRE(e.count() > 1000);
  CHECK_FALSE(e.saturated());
  std::set<std::string> distinct;
  const std::uint64_t step = e.count() / 997 + 1;
  for (std::uint64_t i = 0; i < e.count(); i += step) {
    std::vector<std::uint32_t> genome;
    std::string s = e.at(i, &genome);
    CHECK(evo::map_genome(g, genome, {}).sentence == s);
    distinct.insert(s);
  }
  CHECK(distinct.size() == (e.count() + step - 1) / step);
  CHECK(e.at(0) == "minimal align=16 source=region harden=off front=none retain=0");
}

TEST_CASE("ranges wider than 2^32: enumeration stays within what GE reaches") {
  Grammar g = evo::parse_grammar("<s> ::= <int:-4..2049638230412172394>\n", "t.bnf");
  CHECK(g.ranges[0].reachable() == (std::uint64_t{1} << 32));
  EnumOptions opt;
  opt.max_range_values = 4;
  Enumerator e(g, opt);
  REQUIRE(e.count() == 4);
  CHECK(e.at(3) == "4294967291");  // -4 + 2^32 - 1
  for (std::uint64_t i = 0; i < 4; ++i) {  // regression (found by fuzzing): genomes used to wrap
    std::vector<std::uint32_t> genome;
    std::string s = e.at(i, &genome);
    CHECK(evo::map_genome(g, genome, {}).sentence == s);
  }
  CHECK(evo::count_sentences(g) == (std::uint64_t{1} << 32));
}
