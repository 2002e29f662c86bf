// Tests of evolve/nsga2: fronts, crowding distances and survival on hand-made point sets.
#include <doctest/doctest.h>

#include <limits>
#include <vector>

#include "evolve/nsga2.hpp"

using namespace evo;

namespace {
Fitness F(double a, double b, double c = 0, double v = 0) {
  Fitness f;
  f.obj = {a, b, c};
  f.violation = v;
  return f;
}
constexpr double inf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("dominance and constraint domination") {
  CHECK(dominates(F(1, 2), F(2, 2)));
  CHECK_FALSE(dominates(F(2, 2), F(2, 2)));
  CHECK_FALSE(dominates(F(1, 3), F(2, 2)));
  CHECK(constrained_dominates(F(9, 9), F(1, 1, 0, 1.5)));       // feasible beats infeasible
  CHECK_FALSE(constrained_dominates(F(1, 1, 0, 1.5), F(9, 9)));
  CHECK(constrained_dominates(F(9, 9, 0, 1.2), F(1, 1, 0, 2)));  // smaller violation wins
  CHECK_FALSE(constrained_dominates(F(1, 1, 0, 2), F(9, 9, 0, 2)));
}

TEST_CASE("non-dominated sort of a 2-objective set") {
  // A(1,5) B(2,3) C(4,1) | D(3,4) (by B), F(5,2) (by C) | E(5,5) (by D)
  std::vector<Fitness> f = {F(1, 5), F(2, 3), F(4, 1), F(3, 4), F(5, 5), F(5, 2)};
  auto fronts = nondominated_sort(f);
  REQUIRE(fronts.size() == 3);
  CHECK(fronts[0] == std::vector<std::size_t>{0, 1, 2});
  CHECK(fronts[1] == std::vector<std::size_t>{3, 5});
  CHECK(fronts[2] == std::vector<std::size_t>{4});
}

TEST_CASE("infeasible designs come after every feasible one, ordered by violation") {
  std::vector<Fitness> f = {F(0, 0, 0, 2), F(9, 9), F(0, 0, 0, 1.5), F(1, 10), F(0, 0, 0, 1.5)};
  auto fronts = nondominated_sort(f);
  REQUIRE(fronts.size() == 3);
  CHECK(fronts[0] == std::vector<std::size_t>{1, 3});
  CHECK(fronts[1] == std::vector<std::size_t>{2, 4});
  CHECK(fronts[2] == std::vector<std::size_t>{0});
}

TEST_CASE("crowding distance by hand") {
  std::vector<Fitness> f = {F(1, 5), F(2, 3), F(4, 1)};
  std::vector<std::size_t> front = {0, 1, 2};
  auto d = crowding_distance(f, front);
  CHECK(d[0] == inf);
  CHECK(d[2] == inf);
  // obj0: (4-1)/(4-1) = 1; obj1: (5-1)/(5-1) = 1
  CHECK(d[1] == doctest::Approx(2.0));

  // Five points on a line x + y = 10 with uneven spacing.
  std::vector<Fitness> g = {F(0, 10), F(1, 9), F(5, 5), F(6, 4), F(10, 0)};
  std::vector<std::size_t> all = {0, 1, 2, 3, 4};
  auto e = crowding_distance(g, all);
  CHECK(e[0] == inf);
  CHECK(e[4] == inf);
  CHECK(e[1] == doctest::Approx(2 * (5.0 - 0.0) / 10));
  CHECK(e[2] == doctest::Approx(2 * (6.0 - 1.0) / 10));
  CHECK(e[3] == doctest::Approx(2 * (10.0 - 5.0) / 10));
  // A constant third objective adds nothing.
  std::vector<Fitness> h = {F(0, 10, 7), F(1, 9, 7), F(5, 5, 7)};
  std::vector<std::size_t> three = {0, 1, 2};
  CHECK(crowding_distance(h, three)[1] == doctest::Approx(2 * 5.0 / 5 * 1.0).epsilon(1e-12));
}

TEST_CASE("survival keeps whole fronts, then the least crowded") {
  std::vector<Fitness> f = {F(0, 10), F(1, 9), F(5, 5), F(6, 4), F(10, 0), F(11, 11), F(0, 0, 0, 1.5)};
  auto s = select_survivors(f, 4);
  // Front 0 = {0..4}; cut by crowding: 0 and 4 (inf), then 2 (1.0) and 3 (1.0) beat 1 (1.0)? ties by index:
  // d = [inf, 1.0, 1.0, 1.0, inf] -> stable sort keeps index order: 0, 4, 1, 2.
  CHECK(s == std::vector<std::size_t>{0, 4, 1, 2});
  auto all = select_survivors(f, 7);
  CHECK(all.size() == 7);
  CHECK(all[5] == 5);  // dominated feasible point before the infeasible one
  CHECK(all[6] == 6);
}

TEST_CASE("rank and tournament") {
  std::vector<Fitness> f = {F(1, 1), F(2, 2), F(3, 3)};
  Ranking r = rank_population(f);
  CHECK(r.rank == std::vector<std::size_t>{0, 1, 2});
  StreamRng rng(1);
  int wins0 = 0, wins2 = 0;
  for (int i = 0; i < 3000; ++i) {
    std::size_t w = binary_tournament(r, rng);
    wins0 += w == 0;
    wins2 += w == 2;
  }
  // P(0 wins) = 1 - (2/3)^2 = 5/9; P(2 wins) = 1/9.
  CHECK(wins0 > 1500);
  CHECK(wins0 < 1830);
  CHECK(wins2 > 240);
  CHECK(wins2 < 430);
}
