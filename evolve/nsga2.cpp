#include "evolve/nsga2.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

namespace evo {

bool dominates(const Fitness& a, const Fitness& b) {
  bool better = false;
  for (std::size_t i = 0; i < kMaxObjectives; ++i) {
    if (a.obj[i] > b.obj[i]) return false;
    if (a.obj[i] < b.obj[i]) better = true;
  }
  return better;
}

bool constrained_dominates(const Fitness& a, const Fitness& b) {
  const bool fa = a.feasible(), fb = b.feasible();
  if (fa && !fb) return true;
  if (!fa && fb) return false;
  if (!fa && !fb) return a.violation < b.violation;
  return dominates(a, b);
}

std::vector<std::vector<std::size_t>> nondominated_sort(std::span<const Fitness> f) {
  const std::size_t n = f.size();
  std::vector<std::vector<std::size_t>> dominated(n);
  std::vector<std::size_t> count(n, 0);
  std::vector<std::vector<std::size_t>> fronts;
  std::vector<std::size_t> current;
  for (std::size_t p = 0; p < n; ++p) {
    for (std::size_t q = 0; q < n; ++q) {
      if (p == q) continue;
      if (constrained_dominates(f[p], f[q]))
        dominated[p].push_back(q);
      else if (constrained_dominates(f[q], f[p]))
        ++count[p];
    }
    if (count[p] == 0) current.push_back(p);
  }
  while (!current.empty()) {
    std::vector<std::size_t> next;
    for (std::size_t p : current)
      for (std::size_t q : dominated[p])
        if (--count[q] == 0) next.push_back(q);
    std::sort(next.begin(), next.end());
    fronts.push_back(std::move(current));
    current = std::move(next);
  }
  return fronts;
}

std::vector<double> crowding_distance(std::span<const Fitness> f, std::span<const std::size_t> front) {
  const std::size_t m = front.size();
  std::vector<double> d(m, 0.0);
  if (m == 0) return d;
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (m <= 2) {
    std::fill(d.begin(), d.end(), inf);
    return d;
  }
  std::vector<std::size_t> order(m);
  for (std::size_t k = 0; k < kMaxObjectives; ++k) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return f[front[a]].obj[k] < f[front[b]].obj[k]; });
    const double lo = f[front[order.front()]].obj[k];
    const double hi = f[front[order.back()]].obj[k];
    if (!(hi > lo)) continue;  // constant objective: no information
    d[order.front()] = inf;
    d[order.back()] = inf;
    for (std::size_t i = 1; i + 1 < m; ++i)
      d[order[i]] += (f[front[order[i + 1]]].obj[k] - f[front[order[i - 1]]].obj[k]) / (hi - lo);
  }
  return d;
}

Ranking rank_population(std::span<const Fitness> f) {
  Ranking r;
  r.rank.assign(f.size(), 0);
  r.crowding.assign(f.size(), 0.0);
  auto fronts = nondominated_sort(f);
  for (std::size_t k = 0; k < fronts.size(); ++k) {
    auto d = crowding_distance(f, fronts[k]);
    for (std::size_t i = 0; i < fronts[k].size(); ++i) {
      r.rank[fronts[k][i]] = k;
      r.crowding[fronts[k][i]] = d[i];
    }
  }
  return r;
}

std::size_t binary_tournament(const Ranking& r, StreamRng& rng) {
  const std::size_t n = r.rank.size();
  const std::size_t a = static_cast<std::size_t>(rng.below(n));
  const std::size_t b = static_cast<std::size_t>(rng.below(n));
  if (r.rank[a] != r.rank[b]) return r.rank[a] < r.rank[b] ? a : b;
  if (r.crowding[b] > r.crowding[a]) return b;
  return a;
}

std::vector<std::size_t> select_survivors(std::span<const Fitness> f, std::size_t mu) {
  std::vector<std::size_t> out;
  out.reserve(mu);
  for (const auto& front : nondominated_sort(f)) {
    if (out.size() >= mu) break;
    if (out.size() + front.size() <= mu) {
      out.insert(out.end(), front.begin(), front.end());
      continue;
    }
    auto d = crowding_distance(f, front);
    std::vector<std::size_t> order(front.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return d[a] > d[b]; });
    for (std::size_t i = 0; out.size() < mu; ++i) out.push_back(front[order[i]]);
  }
  return out;
}

}  // namespace evo
