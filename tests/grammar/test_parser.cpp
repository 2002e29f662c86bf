// tests/grammar/test_parser.cpp — the BNF parser: every syntax form, every error kind.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "grammar/enumerate.hpp"
#include "grammar/grammar.hpp"
#include "grammar/mapper.hpp"

using evo::Grammar;
using evo::GrammarError;
using evo::parse_grammar;
using evo::Symbol;

namespace {

// Parses `text`, expecting a GrammarError; returns it.
GrammarError expect_error(const std::string& text) {
  try {
    parse_grammar(text, "t.bnf");
  } catch (const GrammarError& e) {
    return e;
  }
  FAIL("expected a GrammarError for:\n" << text);
  return GrammarError("", 0, 0, "");
}

// The only sentence of a grammar whose rules all have one production.
std::string only_sentence(const Grammar& g) {
  evo::MapResult r = evo::map_genome(g, {}, {});
  REQUIRE(r.valid);
  return r.sentence;
}

}  // namespace

TEST_CASE("PonyGE2-style rules, alternatives and bare terminals") {
  Grammar g = parse_grammar("<e> ::= <e>+<v> | <v>\n<v> ::= x | y | z\n", "t.bnf");
  REQUIRE(g.rules.size() == 2);
  CHECK(g.rules[0].name == "e");
  CHECK(g.rules[1].name == "v");
  REQUIRE(g.rules[0].productions.size() == 2);
  CHECK(g.rules[1].productions.size() == 3);
  // <e>+<v>: non-terminal, terminal "+", non-terminal (adjacent: no space)
  const auto& p0 = g.rules[0].productions[0].symbols;
  REQUIRE(p0.size() == 3);
  CHECK(p0[0] == Symbol{Symbol::Kind::NonTerminal, 0});
  CHECK(p0[1].kind == Symbol::Kind::Terminal);
  CHECK(g.terminals[p0[1].index] == "+");
  CHECK(p0[2] == Symbol{Symbol::Kind::NonTerminal, 1});
  CHECK(g.rules[0].recursive);
  CHECK(g.rules[0].productions[0].recursive);
  CHECK_FALSE(g.rules[0].productions[1].recursive);
  CHECK_FALSE(g.rules[1].recursive);
  CHECK(g.rules[1].min_depth == 1);
  CHECK(g.rules[0].min_depth == 2);
  CHECK(g.rules[0].productions[0].min_depth == 3);
  CHECK(g.rules[0].line == 1);
  CHECK(g.rules[1].line == 2);
  CHECK(g.production_count() == 5);
  CHECK(g.find_rule("v") == 1);
  CHECK(g.find_rule("w") == -1);
}

TEST_CASE("whitespace between items is one space; adjacency joins") {
  CHECK(only_sentence(parse_grammar("<s> ::= a   b\t<t>c\n<t> ::= T\n", "t.bnf")) == "a b Tc");
  CHECK(only_sentence(parse_grammar("<s> ::=    lead and trail   \n", "t.bnf")) == "lead and trail");
  CHECK(only_sentence(parse_grammar("<s> ::= k=<v>\n<v> ::= 1\n", "t.bnf")) == "k=1");
}

TEST_CASE("quoted terminals keep their text, including special characters") {
  Grammar g = parse_grammar("<s> ::= \"a | b\" '<x> # y' \"it's\" ''\n", "t.bnf");
  CHECK(only_sentence(g) == "a | b <x> # y it's ");
  CHECK(only_sentence(parse_grammar("<s> ::= \"\"\n", "t.bnf")).empty());
  CHECK(only_sentence(parse_grammar("<s> ::= \"  x  \"\n", "t.bnf")) == "  x  ");
}

TEST_CASE("multi-line rules, comments and blank lines") {
  const char* text =
      "# leading comment\n"
      "\n"
      "<s> ::= one # trailing comment\n"
      "      | two\n"
      "      # comment between alternatives\n"
      "      | three <t>\n"
      "        continued   # the production goes on\n"
      "\n"
      "<t> ::= T\n";
  Grammar g = parse_grammar(text, "t.bnf");
  REQUIRE(g.rules.size() == 2);
  REQUIRE(g.rules[0].productions.size() == 3);
  CHECK(g.production_text(g.rules[0].productions[0]) == "\"one\"");
  CHECK(g.production_text(g.rules[0].productions[2]) == "\"three \" <t> \" continued\"");
  CHECK(g.rules[0].productions[1].line == 4);
  CHECK(g.rules[1].line == 9);
  // Windows line ends are accepted.
  Grammar w = parse_grammar("<s> ::= a | <u>\r\n<t> ::= c\r\n<u> ::= <t>\r\n", "w.bnf");
  CHECK(w.rules.size() == 3);
}

TEST_CASE("integer range terminals: <int:LO..HI> and GE_RANGE:N") {
  Grammar g = parse_grammar("<s> ::= n=<int:-5..10> m=GE_RANGE:4 o=<int:7..7> p=<int:-5..10>\n", "t.bnf");
  REQUIRE(g.ranges.size() == 3);  // the repeated range is shared
  CHECK(g.ranges[0].lo == -5);
  CHECK(g.ranges[0].hi == 10);
  CHECK(g.ranges[0].size() == 16);
  CHECK(g.ranges[1].lo == 0);
  CHECK(g.ranges[1].hi == 3);
  CHECK(g.ranges[2].size() == 1);
  // codons: 0 -> -5, 6 -> 2 (6 mod 4), 17 -> 17 mod 16 = 1 -> -4; the 7..7 range takes none
  std::vector<std::uint32_t> genome{0, 6, 17};
  evo::MapResult r = evo::map_genome(g, genome, {0, 30});
  REQUIRE(r.valid);
  CHECK(r.sentence == "n=-5 m=2 o=7 p=-4");
  CHECK(r.used_codons == 3);
  // Full 64-bit bounds.
  Grammar big = parse_grammar("<s> ::= <int:-9223372036854775808..9223372036854775807>\n", "t.bnf");
  CHECK(big.ranges[0].size() == UINT64_MAX);
}

TEST_CASE("a rule name may use letters, digits, _ . -") {
  Grammar g = parse_grammar("<start-1> ::= <a_b.c>\n<a_b.c> ::= x\n", "t.bnf");
  CHECK(g.rules[1].name == "a_b.c");
}

TEST_CASE("error: undefined non-terminal, with line and column") {
  GrammarError e = expect_error("<s> ::= a <t>\n      | <u> b\n<t> ::= x\n");
  CHECK(e.line == 2);
  CHECK(e.column == 9);
  CHECK(std::string(e.what()) ==
        "t.bnf:2:9: undefined non-terminal <u>, expected a rule '<u> ::= ...' in the grammar");
}

TEST_CASE("error: unreachable rule") {
  GrammarError e = expect_error("<s> ::= a\n\n<orphan> ::= b\n");
  CHECK(e.line == 3);
  CHECK(e.column == 1);
  CHECK(e.message.find("unreachable rule <orphan>") != std::string::npos);
  CHECK(e.message.find("expected") != std::string::npos);
}

TEST_CASE("error: rule with no terminating derivation") {
  GrammarError e = expect_error("<s> ::= <a> | x\n<a> ::= y <b>\n<b> ::= <a> z\n");
  CHECK(e.line == 2);
  CHECK(e.column == 1);
  CHECK(e.message.find("<a> has no terminating derivation") != std::string::npos);
}

TEST_CASE("error: duplicate rule") {
  GrammarError e = expect_error("<s> ::= <a>\n<a> ::= x\n  <a> ::= y\n");
  CHECK(e.line == 3);
  CHECK(e.column == 3);
  CHECK(e.message == "duplicate rule <a> (first defined at line 2), expected each rule to be defined once");
}

TEST_CASE("error: syntax errors say what was expected, where") {
  SUBCASE("missing ::=") {
    GrammarError e = expect_error("<s> ::= a\n<t> := b\n");
    CHECK(e.line == 2);
    CHECK(e.column == 4);
    CHECK(e.message == "syntax error, expected '::=' after the rule name");
  }
  SUBCASE("unclosed non-terminal") {
    GrammarError e = expect_error("<s> ::= a <t b\n");
    CHECK(e.line == 1);
    CHECK(e.column == 13);
    CHECK(e.message == "syntax error, expected '>'");
  }
  SUBCASE("empty non-terminal name") {
    GrammarError e = expect_error("<s> ::= <>\n");
    CHECK(e.column == 10);
    CHECK(e.message.find("expected a rule name") != std::string::npos);
  }
  SUBCASE("unterminated quote") {
    GrammarError e = expect_error("<s> ::= \"abc\n");
    CHECK(e.line == 1);
    CHECK(e.column == 13);
    CHECK(e.message.find("closing '\"'") != std::string::npos);
  }
  SUBCASE("empty alternative") {
    GrammarError e = expect_error("<s> ::= a |  | b\n");
    CHECK(e.column == 14);
    CHECK(e.message.find("expected a production") != std::string::npos);
  }
  SUBCASE("rule without alternatives") {
    GrammarError e = expect_error("<s> ::=\n<t> ::= x\n");
    CHECK(e.line == 2);
    CHECK(e.column == 1);
    CHECK(e.message.find("expected a production") != std::string::npos);
  }
  SUBCASE("text outside a rule") {
    GrammarError e = expect_error("  stray text\n<s> ::= a\n");
    CHECK(e.line == 1);
    CHECK(e.column == 3);
    CHECK(e.message.find("expected a rule '<name> ::= ...'") != std::string::npos);
  }
  SUBCASE("bad range") {
    GrammarError e = expect_error("<s> ::= <int:1..x>\n");
    CHECK(e.column == 17);
    CHECK(e.message == "syntax error, expected an integer");
    GrammarError e2 = expect_error("<s> ::= <int:1-5>\n");
    CHECK(e2.column == 15);
    CHECK(e2.message == "syntax error, expected '..'");
  }
  SUBCASE("empty range") {
    GrammarError e = expect_error("<s> ::= a <int:5..3>\n");
    CHECK(e.column == 11);
    CHECK(e.message.find("empty integer range") != std::string::npos);
    GrammarError e2 = expect_error("<s> ::= GE_RANGE:0\n");
    CHECK(e2.column == 9);
  }
  SUBCASE("no rule at all") {
    GrammarError e = expect_error("# only a comment\n\n");
    CHECK(e.line == 3);
    CHECK(e.message.find("no rule") != std::string::npos);
  }
}

TEST_CASE("load_grammar: unreadable file is a GrammarError naming the file") {
  try {
    evo::load_grammar("/nonexistent/x.bnf");
    FAIL("expected an error");
  } catch (const GrammarError& e) {
    CHECK(std::string(e.what()).starts_with("/nonexistent/x.bnf: cannot read grammar file"));
  }
}

TEST_CASE("the shipped grammar parses and is not recursive") {
  Grammar g = evo::load_grammar(std::string(EVOALLOC_SOURCE_DIR) + "/grammar/allocator.bnf");
  CHECK(g.rules[0].name == "design");
  for (const auto& r : g.rules) CHECK_FALSE(r.recursive);
}

TEST_CASE("bytes outside ASCII: fine in terminals, a clear error in rule names") {
  Grammar g = parse_grammar("<s> ::= caf\xc3\xa9 \"\xff\"\n", "t.bnf");
  CHECK(only_sentence(g) == "caf\xc3\xa9 \xff");
  GrammarError e = expect_error("<s> ::= <\xc3\xa9>\n");  // regression: x3::alnum asserted on these
  CHECK(e.column == 10);
  CHECK(e.message.find("expected a rule name") != std::string::npos);
}

namespace {

// A scratch folder of grammar files, removed at the end of the test.
struct GrammarFiles {
  std::filesystem::path dir;
  GrammarFiles() {
    dir = std::filesystem::temp_directory_path() / ("evoalloc-extends-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "sub");
  }
  ~GrammarFiles() { std::filesystem::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }
};

}  // namespace

TEST_CASE("@extends: the file's rules replace the base's rules of the same name, in place; new rules are added") {
  GrammarFiles f;
  f.write("base.bnf", "# base\n<s> ::= a <x> <y>\n<x> ::= 1 | 2\n<y> ::= p\n");
  const std::string top = f.write("sub/top.bnf",
                                  "# comment first\n\n@extends ../base.bnf\n<y> ::= q <z>\n<z> ::= z1 | z2\n");
  Grammar g = evo::load_grammar(top);
  CHECK(g.name == top);
  REQUIRE(g.rules.size() == 4);
  CHECK(g.rules[0].name == "s");  // the start rule stays the base's first
  CHECK(g.rules[2].name == "y");  // replaced in its place
  CHECK(g.rules[2].line == 4);    // ... and its line is in the extending file
  CHECK(g.rules[3].name == "z");
  std::vector<std::string> all;
  evo::Enumerator en(g);
  for (std::uint64_t i = 0; i < en.count(); ++i) all.push_back(en.at(i));
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<std::string>{"a 1 q z1", "a 1 q z2", "a 2 q z1", "a 2 q z2"});
  // The base alone is unchanged.
  CHECK(evo::Enumerator(evo::load_grammar((f.dir / "base.bnf").string())).count() == 2);
}

TEST_CASE("@extends: errors name the file and line of the offending rule, and bad directives") {
  GrammarFiles f;
  f.write("base.bnf", "<s> ::= a <x>\n<x> ::= 1\n");
  auto error_of = [&](const std::string& name, const std::string& text) {
    const std::string path = f.write(name, text);
    try {
      evo::load_grammar(path);
    } catch (const GrammarError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string d = f.dir.string() + "/";
  CHECK(error_of("undef.bnf", "@extends base.bnf\n<x> ::= <nope>\n") ==
        d + "undef.bnf:2:9: undefined non-terminal <nope>, expected a rule '<nope> ::= ...' in the grammar");
  CHECK(error_of("orphan.bnf", "@extends base.bnf\n\n<extra> ::= e\n") ==
        d + "orphan.bnf:3:1: unreachable rule <extra>, expected it to be used by the start rule <s> or by a rule "
            "reachable from it");
  CHECK(error_of("dup.bnf", "@extends base.bnf\n<x> ::= 2\n<x> ::= 3\n").starts_with(d + "dup.bnf:3:1: duplicate rule <x>"));
  CHECK(error_of("missing.bnf", "@extends none.bnf\n<x> ::= 2\n") ==
        d + "missing.bnf:1:1: cannot read the grammar it extends, '" + d + "none.bnf', expected a readable BNF file");
  CHECK(error_of("device.bnf", "@extends /dev/zero\n") ==
        d + "device.bnf:1:1: cannot read the grammar it extends, '/dev/zero', expected a readable BNF file");
  CHECK(error_of("folder.bnf", "@extends .\n").find("cannot read the grammar it extends") != std::string::npos);
  CHECK(error_of("glued.bnf", "@extendsbase.bnf\n<x> ::= 2\n").starts_with(d + "glued.bnf:1:1: syntax error"));
  CHECK(error_of("nopath.bnf", "@extends\n<x> ::= 2\n").starts_with(d + "nopath.bnf:1:1: '@extends' needs one file path"));
  CHECK(error_of("two.bnf", "@extends a.bnf b.bnf\n").starts_with(d + "two.bnf:1:1: '@extends' needs one file path"));
  f.write("loop-a.bnf", "@extends loop-b.bnf\n");
  CHECK(error_of("loop-b.bnf", "@extends loop-a.bnf\n<s> ::= x\n").find("makes a cycle") != std::string::npos);
  // The directive is only read before the first rule.
  CHECK(error_of("late.bnf", "<s> ::= a\n@extends base.bnf\n") ==
        d + "late.bnf:2:1: '@extends' after a rule, expected it before the first rule");
  // A syntax error in the base points into the base.
  f.write("broken.bnf", "<s> ::= a\n<t> := b\n");
  CHECK(error_of("on-broken.bnf", "@extends broken.bnf\n").starts_with(d + "broken.bnf:2:4: syntax error"));
}

TEST_CASE("grammar/threaded.bnf: allocator.bnf with threads=lock|tlh|tcache closing every sentence") {
  const std::string dir = std::string(EVOALLOC_SOURCE_DIR) + "/grammar/";
  Grammar base = evo::load_grammar(dir + "allocator.bnf");
  Grammar threaded = evo::load_grammar(dir + "threaded.bnf");
  evo::Enumerator eb(base), et(threaded);
  // Every design under lock and tlh, and under tcache those with an array front cache
  // (3 of the 11 front choices of allocator.bnf; see <front-cache>) and harden off or
  // canary (2 of 3): 2 + 6/33 of allocator.bnf.
  CHECK(et.count() * 33 == eb.count() * 72);
  std::set<std::string> models;
  for (std::uint64_t i : {std::uint64_t{0}, et.count() / 3, et.count() - 1}) {
    const std::string s = et.at(i);
    CAPTURE(s);
    const std::string m = s.substr(s.rfind(" threads=") + 9);
    CHECK((m == "lock" || m == "tlh" || m == "tcache"));
    if (m == "tcache") CHECK(s.find(":array retain=") != std::string::npos);
    models.insert(m);
  }
  CHECK(models.size() >= 2);
}
