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
#include <functional>
#include <iosfwd>
#include <vector>

#include "evaluate/workload.hpp"
#include "evolve/archive.hpp"
#include "evolve/config.hpp"
#include "evolve/evolution.hpp"
#include "grammar/grammar.hpp"

namespace evo {

/// Sets speed_measured_ns of the archive entries `which` (indexes) as above;
/// one progress line per round on *progress when given.
void remeasure_front(Archive& archive, const std::vector<std::size_t>& which, const Workloads& w, int rounds,
                     std::ostream* progress);

/// The final front after a re-measure of the front with candidates beside it (the
/// thread-model siblings, evolve/siblings.hpp): of `front` and `extra` (archive
/// indexes, re-measured), those no other of them dominates by (speed_measured_ns,
/// fragmentation, quality), except that a threads=tlh design does not push its own
/// threads=tcache twin off unless it is more than kModelTie faster (evolve/pick.hpp:
/// the export's model rule then sees the twin). A design of `front` whose re-measure
/// failed (NaN) stays, as it would on the front; one of `extra` leaves. In archive order.
std::vector<std::size_t> remeasured_front(const Archive& archive, const std::vector<std::size_t>& front,
                                          const std::vector<std::size_t>& extra);

/// The end of a run (Config::remeasure_front): with speed_mode measured and
/// Config::thread_siblings, the front's thread-model siblings are evaluated and
/// archived (evolve/siblings.hpp; `checkpoint()` after), re-measured in the same
/// rounds as the front, and state.final_front set to remeasured_front() of the two
/// when there were any; otherwise the front alone is re-measured, as above.
void settle_front(const Config& cfg, const Grammar& g, const EvaluateFn& eval, const Workloads& w, RunState& state,
                  std::ostream* progress, const std::function<void()>& checkpoint);

}  // namespace evo
