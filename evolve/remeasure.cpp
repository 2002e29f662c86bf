#include "evolve/remeasure.hpp"

#include <algorithm>
#include <cmath>
#include <ostream>

#include "evolve/nsga2.hpp"
#include "evolve/pick.hpp"
#include "evolve/siblings.hpp"

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

void settle_front(const Config& cfg, const Grammar& g, const EvaluateFn& eval, const Workloads& w, RunState& state,
                  std::ostream* progress, const std::function<void()>& checkpoint) {
  const std::vector<std::size_t> front = state.archive.front();
  SiblingStats sib;
  if (cfg.thread_siblings && cfg.speed_mode == SpeedMode::Measured) {
    sib = add_thread_model_siblings(state.archive, g, eval, state.generation + 1, progress);
    checkpoint();
  }
  std::vector<std::size_t> which = front;
  which.insert(which.end(), sib.indexes.begin(), sib.indexes.end());
  remeasure_front(state.archive, which, w, static_cast<int>(cfg.repeats), progress);
  state.final_front.clear();
  if (!sib.indexes.empty()) state.final_front = remeasured_front(state.archive, front, sib.indexes);
}

std::vector<std::size_t> remeasured_front(const Archive& archive, const std::vector<std::size_t>& front,
                                          const std::vector<std::size_t>& extra) {
  std::vector<std::size_t> all = front;
  for (std::size_t i : extra)
    if (std::find(all.begin(), all.end(), i) == all.end() && std::isfinite(archive.entries()[i].metrics.speed_measured_ns))
      all.push_back(i);
  auto remeasured = [&](std::size_t i) {
    const Metrics& m = archive.entries()[i].metrics;
    return Fitness{.obj = {m.speed_measured_ns, m.fragmentation, m.quality}};
  };
  auto failed = [&](std::size_t i) { return std::isnan(archive.entries()[i].metrics.speed_measured_ns); };
  // A tlh design less than kModelTie ahead of its own tcache twin does not push the
  // twin off: the export's model rule (evolve/pick.hpp) needs to see it.
  auto twin_kept = [&](std::size_t j, std::size_t i) {
    const ArchiveEntry &tlh = archive.entries()[j], &tc = archive.entries()[i];
    return thread_model_of(tlh.sentence) == "tlh" && thread_model_of(tc.sentence) == "tcache" &&
           thread_model_twins(tlh.sentence, tc.sentence) &&
           tc.metrics.speed_measured_ns <= tlh.metrics.speed_measured_ns * (1 + kModelTie);
  };
  std::vector<std::size_t> out;
  for (std::size_t i : all) {
    bool dominated = false;
    for (std::size_t j : all)
      dominated = dominated || (j != i && !failed(i) && !failed(j) && dominates(remeasured(j), remeasured(i)) &&
                                !twin_kept(j, i));
    if (!dominated) out.push_back(i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace evo
