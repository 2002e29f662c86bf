#include "evolve/hypervolume.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace evo {

namespace {

// Area dominated by 2-D points (x, y) below reference (rx, ry); points all strictly better.
double area2d(std::vector<std::pair<double, double>> pts, double rx, double ry) {
  std::sort(pts.begin(), pts.end());
  double area = 0, best_y = ry;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    if (pts[i].second >= best_y) continue;
    // Strip from this x to the next x at which a point lowers y further is added lazily:
    // accumulate rectangle [x_i, rx] x [y_i, best_y).
    area += (rx - pts[i].first) * (best_y - pts[i].second);
    best_y = pts[i].second;
  }
  return area;
}

}  // namespace

double hypervolume(std::span<const Point3> pts, const Point3& ref) {
  std::vector<Point3> p;
  for (const Point3& q : pts)
    if (q[0] < ref[0] && q[1] < ref[1] && q[2] < ref[2]) p.push_back(q);
  if (p.empty()) return 0.0;
  std::sort(p.begin(), p.end(), [](const Point3& a, const Point3& b) { return a[2] < b[2]; });
  double volume = 0;
  std::vector<std::pair<double, double>> seen;
  for (std::size_t i = 0; i < p.size(); ++i) {
    seen.emplace_back(p[i][0], p[i][1]);
    const double z_next = (i + 1 < p.size()) ? p[i + 1][2] : ref[2];
    if (z_next > p[i][2]) volume += area2d(seen, ref[0], ref[1]) * (z_next - p[i][2]);
  }
  return volume;
}

}  // namespace evo
