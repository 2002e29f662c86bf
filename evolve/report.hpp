// evolve/report.hpp — the files of a run folder (besides config.yaml and checkpoint.txt).
//
//   front.csv    the archive's front (feasible, non-dominated designs; after a
//                re-measure with thread-model siblings, RunState::final_front), one
//                row per design, sorted by speed (the final front: by the
//                re-measured speed): sentence, genome, generation, every
//                Metrics field (columns: evolve/archive.hpp metrics_csv_header)
//   archive.csv  every evaluated design, in evaluation order, same columns
//   history.csv  one row per generation (evolve/evolution.hpp HistoryRow):
//                generation, evaluations, cache_hits, invalid, front_size,
//                hypervolume, best_speed, best_fragmentation, best_quality, elapsed_s
//   front.dat, front.gp   the data and gnuplot script of the picture
//   front.png, front.svg  speed (x) vs fragmentation (y, log scale when it spans
//                more than a decade), quality as the point colour (gnuplot; when
//                gnuplot is missing the pictures are skipped with a warning)
//   report.md    the front as a table, the picture, and how the front's designs
//                differ: per spec key, the values taken on the front
// All writers throw std::runtime_error "PATH: what failed" on I/O errors.
#pragma once

#include <string>

#include "evolve/config.hpp"
#include "evolve/evolution.hpp"

namespace evo {

/// Writes front.csv, archive.csv, history.csv (cheap: called after every generation).
void write_tables(const std::string& dir, const RunState& s);
/// How report.md's "Files" section tells the reader to resume a single-process run.
inline constexpr const char* kResumeHint = "`checkpoint.txt` (resume with `evoalloc evolve --resume DIR`)";

/// `x` with `prec` decimals, or "–" when it is NaN: a number in the Markdown tables
/// of report.md and of merge's report (evolve/merge.hpp).
std::string table_number(double x, int prec);

/// Writes the picture (via gnuplot) and report.md. Returns false when gnuplot failed
/// (the report is written anyway, without the picture). `resume_hint` names the
/// checkpoint file(s) and the resume command in the report's "Files" section.
bool write_report(const std::string& dir, const Config& cfg, const RunState& s, std::string* warning = nullptr,
                  const std::string& resume_hint = kResumeHint);

}  // namespace evo
