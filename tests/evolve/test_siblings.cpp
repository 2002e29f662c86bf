// Tests of evolve/siblings: each front design under the other thread models.
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "evolve/archive.hpp"
#include "evolve/siblings.hpp"
#include "grammar/grammar.hpp"
#include "grammar/mapper.hpp"

using namespace evo;

namespace {

const Grammar& threaded() {
  static const Grammar g = load_grammar(std::string(EVOALLOC_SOURCE_DIR) + "/grammar/threaded.bnf");
  return g;
}

std::vector<std::string> sentences(const std::vector<Sibling>& s) {
  std::vector<std::string> out;
  for (const Sibling& x : s) out.push_back(x.sentence);
  return out;
}

const std::string kSlab = "slab slab=16K align=64 source=mmap harden=off ";

}  // namespace

TEST_CASE("thread_model_of and thread_model_twins read the threads= key") {
  CHECK(thread_model_of(kSlab + "threads=tlh") == "tlh");
  CHECK(thread_model_of("slab slab=16K") == "");
  CHECK(thread_model_of("slab threads=tlh threads=lock") == "");  // not exactly one key
  CHECK(thread_model_twins(kSlab + "retain=4M threads=tlh", kSlab + "retain=4M threads=tcache"));
  CHECK_FALSE(thread_model_twins(kSlab + "retain=4M threads=tlh", kSlab + "retain=4M threads=tlh"));   // same model
  CHECK_FALSE(thread_model_twins(kSlab + "retain=4M threads=tlh", kSlab + "retain=16M threads=tcache"));  // another design
  CHECK_FALSE(thread_model_twins(kSlab + "retain=4M", kSlab + "retain=4M threads=tcache"));  // one without the key
}

TEST_CASE("siblings: the other models the grammar derives, each with a genome that maps to it") {
  const Grammar& g = threaded();
  // A list cache under tlh: its lock twin as it is, its tcache twin with the cache as an array.
  const std::string tlh = kSlab + "front=tcache:256:grow retain=16M threads=tlh";
  REQUIRE(encode_sentence(g, tlh));
  const std::vector<Sibling> s = thread_model_siblings(tlh, g);
  CHECK(sentences(s) == std::vector<std::string>{kSlab + "front=tcache:256:grow retain=16M threads=lock",
                                                 kSlab + "front=tcache:256:grow:array retain=16M threads=tcache"});
  for (const Sibling& x : s) {
    MapOptions mo;
    mo.max_wraps = 0;
    const MapResult m = map_genome(g, x.genome, mo);
    CHECK(m.valid);
    CHECK(m.sentence == x.sentence);
  }
  // A tcache design: both heap models keep its array cache.
  CHECK(sentences(thread_model_siblings(kSlab + "front=tcache:64:array retain=0 threads=tcache", g)) ==
        std::vector<std::string>{kSlab + "front=tcache:64:array retain=0 threads=lock",
                                 kSlab + "front=tcache:64:array retain=0 threads=tlh"});
  // Where the grammar has no array of the same bound and growth, the other growth:
  // tcache:256 -> tcache:256:grow:array, tcache:64:grow -> tcache:64:array.
  CHECK(sentences(thread_model_siblings(kSlab + "front=tcache:256 retain=0 threads=lock", g)) ==
        std::vector<std::string>{kSlab + "front=tcache:256 retain=0 threads=tlh",
                                 kSlab + "front=tcache:256:grow:array retain=0 threads=tcache"});
  CHECK(sentences(thread_model_siblings(kSlab + "front=tcache:64:grow retain=0 threads=tlh", g)) ==
        std::vector<std::string>{kSlab + "front=tcache:64:grow retain=0 threads=lock",
                                 kSlab + "front=tcache:64:array retain=0 threads=tcache"});
  // tcache:16 has no array form at all, front=none no cache, and harden=checked cannot
  // sit under per-thread caches: only the other heap model.
  for (const std::string front : {"front=tcache:16", "front=none"})
    CHECK(sentences(thread_model_siblings(kSlab + front + " retain=0 threads=lock", g)) ==
          std::vector<std::string>{kSlab + front + " retain=0 threads=tlh"});
  const std::string checked = "slab slab=16K align=64 source=mmap harden=checked front=tcache:64:array retain=0 ";
  CHECK(sentences(thread_model_siblings(checked + "threads=tlh", g)) ==
        std::vector<std::string>{checked + "threads=lock"});
  // No threads= key (allocator.bnf's sentences), or a sentence outside the language: none.
  CHECK(thread_model_siblings(kSlab + "front=none retain=0", g).empty());
  CHECK(thread_model_siblings(kSlab + "front=none retain=3M threads=tlh", g).empty());
}

TEST_CASE("add_thread_model_siblings: the front's new siblings evaluated once and archived") {
  const Grammar& g = threaded();
  const std::string a = kSlab + "front=tcache:64:array retain=0 threads=tcache";
  const std::string b = kSlab + "front=none retain=0 threads=lock";
  const std::string b_tlh = kSlab + "front=none retain=0 threads=tlh";
  const std::string off_front = kSlab + "front=tcache:256 retain=0 threads=tlh";
  Archive archive;
  auto feasible = [](double speed, double frag) {
    Metrics m;
    m.valid = m.feasible = true;
    m.completed = 1;
    m.speed = speed;
    m.fragmentation = frag;
    m.quality = 1;
    return m;
  };
  archive.add({.sentence = a, .genome = {}, .generation = 3, .metrics = feasible(10, 2)});
  archive.add({.sentence = b, .genome = {}, .generation = 5, .metrics = feasible(20, 1)});
  archive.add({.sentence = b_tlh, .genome = {}, .generation = 7, .metrics = feasible(30, 3)});  // dominated
  archive.add({.sentence = off_front, .genome = {}, .generation = 7, .metrics = feasible(40, 4)});  // dominated
  REQUIRE(archive.front().size() == 2);
  std::vector<std::string> evaluated;
  const EvaluateFn eval = [&](const std::string& s) {
    evaluated.push_back(s);
    return feasible(15, 1.5);
  };
  std::ostringstream progress;
  const SiblingStats st = add_thread_model_siblings(archive, g, eval, 11, &progress);
  CHECK(st.front == 2);
  CHECK(st.siblings == 3);   // a: lock, tlh; b: tlh (front=none: no tcache twin)
  CHECK(st.evaluated == 2);  // b's tlh twin was already in the archive
  CHECK(evaluated == std::vector<std::string>{kSlab + "front=tcache:64:array retain=0 threads=lock",
                                              kSlab + "front=tcache:64:array retain=0 threads=tlh"});
  REQUIRE(archive.size() == 6);
  for (std::size_t i = 4; i < 6; ++i) {
    const ArchiveEntry& e = archive.entries()[i];
    CHECK(e.generation == 11);
    CHECK(e.metrics.speed == 15);
    CHECK(map_genome(g, e.genome.codons).sentence == e.sentence);
  }
  CHECK(archive.entries()[2].metrics.speed == 30);  // the archived twin kept its figures
  CHECK(progress.str().find("2 designs, 3 siblings, 2 new to evaluate") != std::string::npos);
  // Run again: the new siblings are on the front now, and every sibling of the front is archived.
  evaluated.clear();
  const SiblingStats again = add_thread_model_siblings(archive, g, eval, 12, nullptr);
  CHECK(again.evaluated == 0);
  CHECK(evaluated.empty());
  CHECK(archive.size() == 6);
}
