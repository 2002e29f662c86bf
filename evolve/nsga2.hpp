// evolve/nsga2.hpp — the NSGA-II pieces (Deb et al. 2002), on plain index sets.
//
// All objectives are minimised. A Fitness carries up to kMaxObjectives values
// (unused objectives stay 0 and never change dominance) and a constraint
// violation: 0 = feasible; > 0 = infeasible or invalid, larger is worse. The loop
// uses violation 2 for an invalid design (mapping failed, or the sentence does
// not instantiate) and 1 + (unreplayed fraction of the trace) in (1, 2) for an
// infeasible one (it broke a time or memory limit) — see evolve/evolution.hpp.
//
// Constraint domination (Deb): a dominates b iff
//   * a is feasible and b is not; or
//   * both are infeasible and a.violation < b.violation; or
//   * both are feasible and a is no worse in every objective and better in one.
// Fronts: fast non-dominated sort, front 0 = non-dominated. Crowding distance per
// front: boundary points of every objective with a non-zero range get +infinity,
// inner points the sum over objectives of (next - previous) / (max - min).
// Ties are broken by index, so every function here is deterministic.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <vector>

#include "evolve/rng.hpp"

namespace evo {

inline constexpr std::size_t kMaxObjectives = 3;

struct Fitness {
  std::array<double, kMaxObjectives> obj{};
  double violation = 0;  ///< 0 feasible, > 0 worse
  bool feasible() const { return violation <= 0; }
};

/// Pareto dominance on objectives only (minimisation).
bool dominates(const Fitness& a, const Fitness& b);
/// Deb's constraint domination (see above).
bool constrained_dominates(const Fitness& a, const Fitness& b);

/// Fast non-dominated sort under constraint domination: fronts of indices into
/// `f`, best first; each front sorted by index.
std::vector<std::vector<std::size_t>> nondominated_sort(std::span<const Fitness> f);

/// Crowding distance of each member of `front` (same order as `front`).
std::vector<double> crowding_distance(std::span<const Fitness> f, std::span<const std::size_t> front);

/// Rank (front number) and crowding distance of every individual.
struct Ranking {
  std::vector<std::size_t> rank;
  std::vector<double> crowding;
};
Ranking rank_population(std::span<const Fitness> f);

/// Binary tournament: two uniform picks, lower rank wins, then larger crowding,
/// then the first pick. Returns the winner's index.
std::size_t binary_tournament(const Ranking& r, StreamRng& rng);

/// Elitist survival: the indices of `mu` survivors out of `f` (parents +
/// offspring), whole fronts first, the last front cut by descending crowding
/// distance (ties by index). Returned in the order chosen.
std::vector<std::size_t> select_survivors(std::span<const Fitness> f, std::size_t mu);

}  // namespace evo
