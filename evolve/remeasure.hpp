// evolve/remeasure.hpp — the final front's measured speed, in interleaved rounds.
//
// The front is re-measured after the search (Config::remeasure_front) so that
// `export --pick fastest` ranks every design by the same kind of figure: measured
// replay speed, no cutoff (evaluate/workload.hpp, on every trace of the run). On
// a shared machine the load shifts within minutes, so designs timed one after the
// other each see a different machine: a slow design timed in a quiet minute can
// beat a fast one timed in a busy one. Here every design is timed once per round
// (one warm-up replay in the first round, one timed replay per round; each round
// starts one design further along the front, so no design is always first), for
// `rounds` rounds, and keeps its best round: every design sees the same stretch
// of the machine's life, and a passing burst costs each design at most the rounds
// it overlapped. A design whose replay fails keeps NaN.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <vector>

#include "evaluate/workload.hpp"
#include "evolve/archive.hpp"

namespace evo {

/// Sets speed_measured_ns of the archive entries `which` (indexes) as above;
/// one progress line per round on *progress when given.
void remeasure_front(Archive& archive, const std::vector<std::size_t>& which, const Workloads& w, int rounds,
                     std::ostream* progress);

}  // namespace evo
