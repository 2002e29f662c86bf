// tests/integration/test_grammar_coverage.cpp — grammar/allocator.bnf and core agree, both ways.
//
//  * grammar -> core: every enumerated sentence is a canonical AllocatorSpec text
//    (parse_spec(s).text() == s) that selects a registry row; every sentence
//    instantiates (Instance::create); a covering subset — at least one sentence per
//    registry row and per family/key=value token, plus a fixed-seed sample — survives
//    a short randomized stress run (tests/core/stress.hpp).
//  * core -> grammar: every registry row's name (its discrete choice with default
//    numerics) is a sentence of the grammar (encode_sentence finds a genome that maps
//    to it); for every family, every Choice value of every key and every common key
//    value the family allows (align, source, harden) is reachable: the family's
//    default design with that one value changed is a sentence (when core accepts it).
// The every-sentence pass takes every 80th sentence (every 256th under EVOALLOC_SANITIZE).
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/instance.hpp"
#include "core/registry.hpp"
#include "core/spec.hpp"
#include "grammar/enumerate.hpp"
#include "grammar/grammar.hpp"
#include "grammar/mapper.hpp"
#include "grammar/rng.hpp"
#include "tests/core/stress.hpp"

namespace {

// The every-sentence pass takes every kStride-th sentence: the layer keys (front x
// retain: 16 combinations, the fastest-varying keys of the enumeration) multiply the
// space without adding rows, and 80 = 16 x 5 with 5 coprime to the next axes (harden 3,
// source 2, align 3), so each of their values is still taken; the covering subset below
// takes every row and every key=value token, and "core -> grammar" reaches every value.
#ifdef EVOALLOC_SANITIZE
constexpr std::uint64_t kStride = 256;
constexpr std::size_t kStressOps = 400;
constexpr std::size_t kSample = 100;
#else
constexpr std::uint64_t kStride = 80;
constexpr std::size_t kStressOps = 1500;
constexpr std::size_t kSample = 400;
#endif

const evo::Grammar& grammar() {
  static const evo::Grammar g = evo::load_grammar(std::string(EVOALLOC_SOURCE_DIR) + "/grammar/allocator.bnf");
  return g;
}

/// allocator.bnf plus the routing designs (the route family is only there).
const evo::Grammar& routed_grammar() {
  static const evo::Grammar g = evo::load_grammar(std::string(EVOALLOC_SOURCE_DIR) + "/grammar/routed.bnf");
  return g;
}

std::vector<std::string> tokens_of(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t sp = s.find(' ', start);
    out.push_back(s.substr(start, sp == std::string::npos ? std::string::npos : sp - start));
    if (sp == std::string::npos) break;
    start = sp + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("grammar -> core: every sentence is canonical, selects a row, instantiates; a covering subset survives stress") {
  const evo::Grammar& g = grammar();
  evo::Enumerator en(g);
  REQUIRE_FALSE(en.saturated());
  REQUIRE(en.count() > 0);
  MESSAGE("allocator.bnf: " << en.count() << " designs");

  std::set<std::uint32_t> rows_stressed;
  std::set<std::string> tokens_stressed;
  std::vector<std::string> to_stress;
  std::uint64_t created = 0, failures = 0;
  evo::test::StressRng pick(99);
  const std::uint64_t sample_every = std::max<std::uint64_t>(1, en.count() / kStride / kSample);

  for (std::uint64_t i = 0; i < en.count(); i += kStride) {
    const std::string s = en.at(i);
    evo::AllocatorSpec spec;
    std::string err;
    if (!evo::parse_spec(s, spec, &err)) {
      if (++failures <= 5) FAIL_CHECK("core rejects '" << s << "': " << err);
      continue;
    }
    if (spec.text() != s) {
      if (++failures <= 5) FAIL_CHECK("'" << s << "' is not canonical; core writes '" << spec.text() << "'");
      continue;
    }
    const evo::RegistryRow* row = evo::find_row(spec, &err);
    if (row == nullptr) {
      if (++failures <= 5) FAIL_CHECK("'" << s << "' selects no row: " << err);
      continue;
    }
    // Covering subset for the stress pass.
    bool wanted = rows_stressed.insert(row->id).second;
    const std::string fam = spec.family;
    for (const std::string& t : tokens_of(s))
      if (tokens_stressed.insert(fam + " " + t).second) wanted = true;
    if ((i / kStride) % sample_every == pick.below(sample_every)) wanted = true;
    if (wanted) to_stress.push_back(s);

    evo::Instance inst = evo::Instance::create(spec, {}, &err);
    if (!inst) {
      if (++failures <= 5) FAIL_CHECK("'" << s << "' does not instantiate: " << err);
      continue;
    }
    ++created;
  }
  CHECK(failures == 0);
  MESSAGE("instantiated " << created << " designs; stressing " << to_stress.size());

  std::uint64_t seed = 1;
  for (const std::string& s : to_stress) {
    CAPTURE(s);
    std::string err;
    evo::AllocatorSpec spec;
    REQUIRE(evo::parse_spec(s, spec, &err));
    evo::Instance inst = evo::Instance::create(spec, {}, &err);
    REQUIRE_MESSAGE(inst, err);
    evo::test::StressConfig cfg;
    cfg.seed = seed++;
    cfg.ops = kStressOps;
    cfg.max_live = 300;
    cfg.full_every = kStressOps / 2;
    cfg.max_size = evo::test::stress_max_size(spec);
    evo::test::StressResult r = evo::test::run_stress(inst, cfg);
    CHECK_MESSAGE(r.ok, r.error);
  }
}

TEST_CASE("core -> grammar: every registry row is reachable") {
  const evo::Grammar& g = grammar();
  REQUIRE_FALSE(evo::rows().empty());
  for (const evo::RegistryRow& row : evo::rows()) {
    CAPTURE(row.name);
    const evo::Grammar& gr = row.traits.routes ? routed_grammar() : g;
    auto genome = evo::encode_sentence(gr, row.name);
    REQUIRE_MESSAGE(genome.has_value(), "row " << row.id << " is not a sentence of " << gr.name);
    evo::MapResult r = evo::map_genome(gr, *genome, {0, 30});
    CHECK(r.valid);
    CHECK(r.sentence == row.name);
  }
}

TEST_CASE("core -> grammar: every family, choice value and allowed common value is reachable") {
  for (const evo::FamilySchema& fam : evo::families()) {
    const std::string f(fam.family);
    CAPTURE(f);
    const evo::Grammar& g = f == "route" ? routed_grammar() : grammar();
    // The family's default design: the name of its first row (defaults everywhere
    // except the discrete keys, which are then varied one at a time anyway).
    const evo::RegistryRow* first = nullptr;
    for (const evo::RegistryRow& row : evo::rows())
      if (row.family == fam.family) {
        first = &row;
        break;
      }
    REQUIRE_MESSAGE(first != nullptr, "family " << f << " has no row");
    evo::AllocatorSpec base;
    std::string err;
    REQUIRE(evo::parse_spec(first->name, base, &err));
    std::vector<std::pair<std::string, std::vector<std::string_view>>> keys;
    for (const evo::KeySchema& k : fam.keys)
      if (k.kind == evo::KeyKind::Choice) keys.push_back({std::string(k.key), k.choices});
    for (const evo::KeySchema& k : evo::common_keys()) {
      std::vector<std::string_view> values = k.choices;
      if (k.key == "source") values = fam.sources.empty() ? std::vector<std::string_view>{"mmap", "region"} : fam.sources;
      keys.push_back({std::string(k.key), values});
    }
    for (const auto& [key, values] : keys) {
      for (std::string_view v : values) {
        evo::AllocatorSpec variant = base;
        for (auto& [k, val] : variant.params)
          if (k == key) val = std::string(v);
        evo::AllocatorSpec canon;
        if (!evo::parse_spec(variant.text(), canon, &err)) continue;  // core itself refuses it
        CHECK_MESSAGE(evo::encode_sentence(g, canon.text()).has_value(),
                      f << " " << key << "=" << v << " is not reachable: '" << canon.text() << "' is not a sentence");
      }
    }
  }
}

TEST_CASE("grammar/threaded.bnf -> core: sentences name their thread model and select allocator.bnf's rows") {
  const evo::Grammar g = evo::load_grammar(std::string(EVOALLOC_SOURCE_DIR) + "/grammar/threaded.bnf");
  evo::Enumerator en(g);
  std::set<std::string> models;
  std::uint64_t checked = 0;
  for (std::uint64_t i = 0; i < en.count(); i += 997) {  // a prime stride: every axis varies
    const std::string s = en.at(i);
    CAPTURE(s);
    evo::AllocatorSpec spec;
    std::string err;
    REQUIRE_MESSAGE(evo::parse_spec(s, spec, &err), err);
    REQUIRE(spec.text() == s);
    REQUIRE(spec.get("threads") != nullptr);
    models.insert(*spec.get("threads"));
    // The same design without the key is a sentence of allocator.bnf's row.
    evo::AllocatorSpec plain;
    REQUIRE(evo::parse_spec(s.substr(0, s.rfind(" threads=")), plain, &err));
    REQUIRE(evo::find_row(spec, &err) != nullptr);
    CHECK(evo::find_row(spec, &err) == evo::find_row(plain, &err));
    ++checked;
  }
  CHECK(checked > 10000);
  CHECK(models == std::set<std::string>{"lock", "tlh", "tcache"});
}

TEST_CASE("grammar/routed.bnf -> core: random sentences are canonical and instantiate, both kinds occur") {
  const evo::Grammar& g = routed_grammar();
  evo::Rng rng(2026);
  int routed = 0, plain = 0;
  for (int i = 0; i < 600; ++i) {
    std::vector<std::uint32_t> genome(120);
    for (auto& c : genome) c = static_cast<std::uint32_t>(rng.next());
    const evo::MapResult r = evo::map_genome(g, genome, {2, 30});
    if (!r.valid) continue;
    CAPTURE(r.sentence);
    evo::AllocatorSpec spec;
    std::string err;
    REQUIRE_MESSAGE(evo::parse_spec(r.sentence, spec, &err), err);
    REQUIRE(spec.text() == r.sentence);
    evo::Instance inst = evo::Instance::create(spec, {}, &err);
    REQUIRE_MESSAGE(inst, err);
    (spec.family == "route" ? routed : plain) += 1;
  }
  CHECK(routed > 100);
  CHECK(plain > 100);
}
