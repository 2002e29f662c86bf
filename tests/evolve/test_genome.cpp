// Tests of evolve/genome and evolve/rng: operators, text form, stream determinism.
#include <doctest/doctest.h>

#include <set>

#include "evolve/genome.hpp"
#include "evolve/rng.hpp"

using namespace evo;

TEST_CASE("streams are deterministic and distinct per site") {
  StreamRng a = StreamRng::stream(7, 3, 11, 1), b = StreamRng::stream(7, 3, 11, 1);
  for (int i = 0; i < 100; ++i) CHECK(a.next() == b.next());
  std::set<std::uint64_t> firsts;
  for (std::uint64_t g = 0; g < 4; ++g)
    for (std::uint64_t i = 0; i < 4; ++i)
      for (std::uint64_t p = 0; p < 3; ++p) firsts.insert(StreamRng::stream(7, g, i, p).next());
  CHECK(firsts.size() == 48);
  StreamRng r(1);
  for (int i = 0; i < 1000; ++i) {
    CHECK(r.below(5) < 5);
    double u = r.uniform();
    CHECK(u >= 0.0);
    CHECK(u < 1.0);
  }
}

TEST_CASE("one-point crossover swaps tails inside the used part") {
  Genome a, b;
  for (Codon i = 0; i < 10; ++i) a.codons.push_back(i);
  for (Codon i = 100; i < 120; ++i) b.codons.push_back(i);
  a.used = 4;
  b.used = 6;
  StreamRng rng(3);
  for (int t = 0; t < 200; ++t) {
    auto [c, d] = one_point_crossover(a, b, rng);
    CHECK(c.codons.size() + d.codons.size() == 30);
    // c = a[0:pa] + b[pb:], with 1 <= pa <= 4 and 1 <= pb <= 6
    std::size_t pa = 0;
    while (pa < c.codons.size() && c.codons[pa] < 100) ++pa;
    CHECK(pa >= 1);
    CHECK(pa <= 4);
    const std::size_t pb = 20 - (c.codons.size() - pa);
    CHECK(pb >= 1);
    CHECK(pb <= 6);
    CHECK(d.codons.size() == pb + (10 - pa));
    CHECK(c.used == 0);
  }
}

TEST_CASE("int-flip mutation only touches the used codons") {
  Genome g;
  g.codons.assign(50, 0);
  g.used = 10;
  StreamRng rng(5);
  std::size_t changed = int_flip_mutation(g, 1.0, 1000, rng);
  CHECK(changed >= 9);
  for (std::size_t i = 10; i < 50; ++i) CHECK(g.codons[i] == 0);
  Genome h;
  h.codons.assign(20, 7);
  CHECK(int_flip_mutation(h, 0.0, 1000, rng) == 0);
  CHECK(h.codons == std::vector<Codon>(20, 7));
}

TEST_CASE("genome text round trip") {
  StreamRng rng(9);
  Genome g = random_genome(17, 256, rng);
  Genome back;
  REQUIRE(genome_from_string(genome_to_string(g), back));
  CHECK(back == g);
  CHECK_FALSE(genome_from_string("1..2", back));
  CHECK_FALSE(genome_from_string("1.x", back));
  CHECK(genome_from_string("", back));
  CHECK(back.codons.empty());
}
