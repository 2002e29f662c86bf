// evolve/merge.hpp — merges the results of several runs (a sweep, or any run folders)
// into one front, with a table and a picture comparing the runs.
//
// Input: run folders as written by `evoalloc evolve` (evolve/run.hpp) or an island
// run (evolve/islands.hpp): config.yaml, front.csv, archive.csv, and optionally
//   exit_status   one integer, the exit code of the task (written by the sweep job,
//                 scripts/slurm/ and app/cmd_sweep.cpp); non-zero = failed
//   task.log      the task's stderr (its last line is quoted for a failed run)
// A folder without config.yaml that holds exactly one run folder within two levels
// (a sweep task folder: evolve --out TASK) stands for that run; its own exit_status
// and task.log apply.
// A run is "ok" when config.yaml and front.csv read back and exit_status (if any)
// is 0; otherwise it is reported with its reason ("missing folder", "exit 1: ...",
// "no front.csv", ...) and contributes nothing. Merging never throws on a bad run.
//
// Hypervolume comparison: all runs are scored against one reference point, per
// objective 1.1 x the worst value over the fronts of the ok runs (or `reference`
// when given), normalised as in evolve/hypervolume.hpp — so numbers compare across
// runs (a run's own history.csv uses its own reference and does not). The
// per-generation curve of a run is the hypervolume of the front of its archive's
// designs first evaluated up to that generation.
//
// Output folder OUT (write_merge):
//   front.csv   the non-dominated front of the union of the ok runs' fronts
//               (columns of evolve/archive.hpp; equal designs once, first run wins)
//   runs.csv    run,dir,name,trace,seed,status,generations,evaluations,front_size,
//               hypervolume,on_merged_front,elapsed_s   (one row per input folder)
//   spread.csv  group (config name + trace), runs, ok, hv_mean, hv_min, hv_max, hv_stdev
//   runs.dat, runs.gp, runs.png, runs.svg   hypervolume per generation of every run
//               (gnuplot; skipped with a warning when gnuplot is missing)
//   report.md   the tables above, the picture, and the merged front with the run
//               each design came from
// I/O errors on OUT throw std::runtime_error "PATH: what failed".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "evolve/archive.hpp"

namespace evo {

struct MergedRun {
  std::string dir;
  std::string label;   ///< short unique name (folder name, parent added when needed)
  bool ok = false;
  std::string status;  ///< "ok" or why it failed
  std::string name, trace;
  std::uint64_t seed = 0;
  std::uint64_t generations = 0;   ///< last generation in history.csv
  std::uint64_t evaluations = 0;
  double elapsed_s = 0;
  std::vector<ArchiveEntry> front;
  std::vector<std::pair<std::uint64_t, double>> hv_by_generation;  ///< common reference
  double hypervolume = 0;          ///< of its final front, common reference
  std::size_t on_merged_front = 0; ///< designs of the merged front from this run
};

struct SpreadRow {
  std::string group;
  std::size_t runs = 0, ok = 0;
  double mean = 0, min = 0, max = 0, stdev = 0;
};

struct MergeResult {
  std::vector<MergedRun> runs;
  std::array<double, 3> reference{1, 1, 1};
  std::vector<ArchiveEntry> front;     ///< merged front, sorted by speed
  std::vector<std::size_t> front_run;  ///< index into runs of each front design
  std::vector<SpreadRow> spread;
  std::size_t failed() const;
};

/// Reads and merges the run folders (see above).
MergeResult merge_runs(const std::vector<std::string>& dirs,
                       const std::optional<std::array<double, 3>>& reference = std::nullopt);

/// Writes OUT's files (see above); returns false (with *warning) when the picture
/// could not be drawn.
bool write_merge(const std::string& out, const MergeResult& m, std::string* warning = nullptr);

}  // namespace evo
