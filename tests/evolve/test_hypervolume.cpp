// Tests of evolve/hypervolume: hand-computed volumes and inclusion-exclusion on random sets.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "evolve/hypervolume.hpp"
#include "evolve/rng.hpp"

using namespace evo;

namespace {
// Exact by inclusion-exclusion over subsets (small n only).
double brute(const std::vector<Point3>& p, const Point3& r) {
  double v = 0;
  const std::size_t n = p.size();
  for (std::size_t mask = 1; mask < (std::size_t{1} << n); ++mask) {
    Point3 lo = {-1e300, -1e300, -1e300};
    int bits = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (mask & (std::size_t{1} << i)) {
        ++bits;
        for (int k = 0; k < 3; ++k) lo[k] = std::max(lo[k], p[i][k]);
      }
    double box = 1;
    for (int k = 0; k < 3; ++k) box *= std::max(0.0, r[k] - lo[k]);
    v += (bits % 2 ? 1 : -1) * box;
  }
  return v;
}
}  // namespace

TEST_CASE("hand-computed hypervolumes") {
  const Point3 r = {1, 1, 1};
  std::vector<Point3> one = {{0.5, 0.5, 0.5}};
  CHECK(hypervolume(one, r) == doctest::Approx(0.125));
  std::vector<Point3> two = {{0, 0.5, 0.5}, {0.5, 0, 0.5}};
  CHECK(hypervolume(two, r) == doctest::Approx(0.375));  // 0.25 + 0.25 - 0.125
  std::vector<Point3> layered = {{0, 0, 0.5}, {0.5, 0.5, 0}};
  CHECK(hypervolume(layered, r) == doctest::Approx(0.625));  // 0.5 + 0.25 - 0.125
  // A dominated point and a point beyond the reference add nothing.
  std::vector<Point3> extra = {{0, 0, 0.5}, {0.5, 0.5, 0}, {0.6, 0.6, 0.6}, {0.1, 1.2, 0.1}};
  CHECK(hypervolume(extra, r) == doctest::Approx(0.625));
  CHECK(hypervolume(std::vector<Point3>{}, r) == 0.0);
  // Duplicates count once.
  std::vector<Point3> dup = {{0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}};
  CHECK(hypervolume(dup, r) == doctest::Approx(0.125));
}

TEST_CASE("2-D use: the third objective flat") {
  const Point3 r = {4, 4, 1};
  std::vector<Point3> p = {{1, 3, 0}, {2, 2, 0}, {3, 1, 0}};
  // Staircase area: 3*1 + 2*1 + 1*1 = 6
  CHECK(hypervolume(p, r) == doctest::Approx(6.0));
}

TEST_CASE("matches inclusion-exclusion on random sets") {
  StreamRng rng(42);
  for (int t = 0; t < 40; ++t) {
    std::vector<Point3> p(1 + rng.below(9));
    for (auto& q : p)
      for (auto& x : q) x = static_cast<double>(rng.below(8)) / 8.0 + (rng.chance(0.1) ? 0.5 : 0.0);
    const Point3 r = {1, 1.1, 1.2};
    CHECK(hypervolume(p, r) == doctest::Approx(brute(p, r)).epsilon(1e-9));
  }
}
