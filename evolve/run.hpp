// evolve/run.hpp — one whole run: trace + grammar + config -> a results folder.
//
// run_config() is what `evoalloc evolve` does after parsing its command line:
//   1. reads the trace (evaluate/trace.hpp) and the grammar (grammar/grammar.hpp);
//   2. creates the run folder OUT/NAME/RUN-ID/ (RUN-ID = UTC time + seed, or
//      RunOptions::run_id) and writes config.yaml (the effective config) — or, when
//      resuming, reads DIR/checkpoint.txt and continues in DIR;
//   3. runs the loop (evolve/evolution.hpp); after every generation: checkpoint
//      (atomic), front/archive/history CSVs, one progress line on `progress`;
//   4. settles the front (Config::remeasure_front; evolve/remeasure.hpp settle_front):
//      adds the front designs' thread-model siblings (Config::thread_siblings,
//      evolve/siblings.hpp; checkpoint after), re-measures the front and the siblings
//      with measured speed (`repeats` interleaved rounds, one design at a time so
//      designs do not disturb each other, each design's best round), then writes the
//      final checkpoint, the picture and report.md.
// Errors (unreadable trace/grammar, bad checkpoint, I/O) throw std::runtime_error
// with a one-line message naming the file.
#pragma once

#include <iosfwd>
#include <string>

#include "evolve/config.hpp"
#include "evolve/evolution.hpp"

namespace evo {

struct RunOptions {
  std::string resume_dir;           ///< continue the run in this folder (its checkpoint)
  std::string run_id;               ///< folder name under OUT/NAME/ (empty = UTC time + seed)
  std::ostream* progress = nullptr; ///< progress lines (nullptr = none)
};

struct RunOutcome {
  std::string dir;  ///< the run folder
  RunState state;
};

RunOutcome run_config(const Config& cfg, const RunOptions& opt);

}  // namespace evo
