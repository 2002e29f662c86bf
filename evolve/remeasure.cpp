#include "evolve/remeasure.hpp"

#include <algorithm>
#include <cmath>
#include <ostream>

namespace evo {

void remeasure_front(Archive& archive, const std::vector<std::size_t>& which, const Workloads& w, int rounds,
                     std::ostream* progress) {
  const std::size_t n = which.size();
  std::vector<double> best(n, Metrics::kNaN);
  rounds = std::max(rounds, 1);
  for (int r = 0; r < rounds; ++r) {
    if (progress != nullptr)
      *progress << "re-measuring the front: round " << (r + 1) << "/" << rounds << " (" << n << " designs)\n";
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (k + static_cast<std::size_t>(r)) % n;  // each round starts one design further on
      if (r > 0 && std::isnan(best[i])) continue;  // failed in an earlier round
      const double ns = measure_workloads_ns(archive.entries()[which[i]].sentence, w, [&](EvalOptions& o) {
        o.measure_cutoff_ns = 0;  // every design gets every round
        o.repeats = 1;
        o.warmup = r == 0;
      });
      if (std::isnan(ns)) best[i] = ns;  // failed: NaN, and no more rounds
      else if (std::isnan(best[i]) || ns < best[i]) best[i] = ns;
    }
  }
  for (std::size_t i = 0; i < n; ++i) archive.entries()[which[i]].metrics.speed_measured_ns = best[i];
}

}  // namespace evo
