// evolve/checkpoint.hpp — the run state on disk, written atomically after every generation.
//
// File: RUN_DIR/checkpoint.txt (text, line oriented, version 1):
//   evoalloc-checkpoint 1
//   generation G            last completed generation (exhaustive: batch)
//   evaluations E
//   cache_hits H
//   elapsed_s S
//   exhaustive_total T
//   reference R1 R2 R3 | reference auto   (auto = not fixed yet)
//   population N            then N lines: GENOME<TAB>USED<TAB>SENTENCE
//                           (USED = codons the mapping read; SENTENCE "" when it failed)
//   history N               then N rows of history.csv (without header)
//   archive N               then N rows of archive.csv (without header)
//   final_front N I1 .. IN  optional: RunState::final_front (archive indexes)
//   end
// Doubles carry 17 significant digits, so a resumed run continues bit-exactly.
// Atomicity: written to checkpoint.txt.tmp, flushed and fsync'ed, then renamed over
// checkpoint.txt, so a crash (even SIGKILL) leaves the previous or the new
// checkpoint, never a torn one. A run killed mid-generation loses only that
// generation. Errors: load_checkpoint throws std::runtime_error
// "PATH:LINE: what is wrong".
#pragma once

#include <string>

#include "evolve/evolution.hpp"

namespace evo {

/// Writes DIR/checkpoint.txt atomically (throws std::runtime_error on I/O failure).
void save_checkpoint(const std::string& dir, const RunState& s);
/// Reads DIR/checkpoint.txt; fitness of the population is recomputed from the
/// archive. Throws std::runtime_error on a missing or malformed file.
RunState load_checkpoint(const std::string& dir);

}  // namespace evo
