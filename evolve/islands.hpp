// evolve/islands.hpp — the MPI island model: one GE + NSGA-II loop per MPI rank,
// exchanging migrants every few generations.
//
// Run: `mpirun -n K evoalloc evolve --config FILE --islands` (or `islands:
// {enabled: true}` in the config, evolve/config.hpp). Every rank is an island that
// runs the ordinary loop (evolve/evolution.hpp, OpenMP inside, `threads` each) on
// its own seed:
//   island_seed(seed, 0) == seed, island_seed(seed, i) a SplitMix-derived stream
//   for i >= 1 — so a 1-rank island run reproduces the plain run of the same seed.
// Migration (after the replace step of every generation g >= 1 with
// g % islands.interval == 0, via LoopHooks::after_step; only with K >= 2):
//   pick     each island sends its `migrants` best individuals (front rank, then
//            larger crowding distance, then population order; mapped designs only),
//            as archive rows WITH their metrics;
//   route    ring: island i receives from island i-1 (mod K); full: from every
//            other island (in island order);
//   inject   a migrant whose design is new to the receiving island's archive is
//            added to it as evaluated in generation g (it is never re-evaluated:
//            the archive is the island's fitness cache); migrants not already in
//            the population join the population, and elitist NSGA-II survival cuts
//            it back to `population`.
// So per island: archive size == evaluations + migrants imported.
//
// Results (one folder, written by rank 0; OUT/NAME/RUN-ID, RUN-ID default
// "UTCTIME-seedS-islandsK"):
//   config.yaml            the effective config (islands section included)
//   front.csv, archive.csv the union of the islands' archives (first occurrence of
//                          each design, island order) and its front
//   history.csv            per generation: evaluations, cache hits and invalid
//                          summed over islands; front size, hypervolume and best
//                          values of the union front of designs evaluated up to
//                          that generation, against the merged reference (config
//                          hv_reference, or per objective the largest of the
//                          islands' auto references); elapsed = slowest island
//   islands.csv            per island and generation: island, then the
//                          history.csv columns of that island alone
//   migrations.csv         one row per island and migration: generation, island,
//                          sources (islands it received from, '+'-joined), sent,
//                          received, new_to_archive, entered_population
//   report.md, front.png/svg   as for a plain run (evolve/report.hpp), plus an
//                          "Islands" section
//   island-I/              island I's own front.csv, archive.csv, history.csv
//                          (rewritten every generation) and its checkpoints
//   sync.txt               "evoalloc-islands 1\nislands K\ngeneration G\n": the last
//                          generation every island has checkpointed (atomic)
// Checkpoints: every island writes island-I/ckpt-G/checkpoint.txt (+ its migration
// log) at every migration generation and at the end; after all have written (a
// barrier), rank 0 rewrites sync.txt, then older ckpt-* folders are removed. A
// resumed run (`evolve --resume DIR` under mpirun with the same K) loads ckpt-G of
// sync.txt on every island, so it continues exactly as the uninterrupted run. The
// islands must see the run folder at the same path (a shared file system on a
// cluster); the final results travel over MPI to rank 0.
// Errors: std::runtime_error with a one-line message. An error every island meets
// at the same point (run folder, sync.txt, wrong rank count on resume) is thrown on
// rank 0 only (exit 1; the other ranks exit 0 quietly). An error of one island
// alone (with K >= 2) prints "evoalloc evolve: island I: ..." and aborts the whole
// MPI job (exit 1), since the others would wait for it forever. A build without MPI: run_islands throws
// "this build has no MPI ...".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "evolve/archive.hpp"
#include "evolve/config.hpp"
#include "evolve/evolution.hpp"
#include "evolve/run.hpp"
#include "grammar/grammar.hpp"

namespace evo {

/// True when this build has the MPI island model.
bool islands_available();

/// The seed of island `island` (island 0 keeps the run seed).
std::uint64_t island_seed(std::uint64_t seed, int island);

/// Islands whose migrants island `island` of `islands` receives (see above);
/// empty for one island. Throws std::invalid_argument on an unknown topology.
std::vector<int> migration_sources(int island, int islands, const std::string& topology);

/// The `n` best individuals of the population, as archive entries (metrics from
/// the archive), best first (see "pick" above).
std::vector<ArchiveEntry> pick_migrants(const RunState& s, std::size_t n);

/// What inject_migrants did.
struct InjectStats {
  std::size_t received = 0;
  std::size_t new_to_archive = 0;
  std::size_t entered_population = 0;
};

/// Injects pre-evaluated migrants into island state `s` at generation `generation`
/// (see "inject" above); `mu` is the population size kept. Genomes are re-mapped
/// with `g` to recover their used length.
InjectStats inject_migrants(RunState& s, const std::vector<ArchiveEntry>& migrants, std::uint64_t generation,
                            std::size_t mu, const Grammar& g, const Config& cfg);

/// One row of migrations.csv.
struct MigrationRow {
  std::uint64_t generation = 0;
  int island = 0;
  std::vector<int> sources;
  std::size_t sent = 0;
  InjectStats stats;
};
std::string migrations_csv_header();
std::string migrations_csv_row(const MigrationRow& r);
bool parse_migrations_csv_row(std::string_view line, MigrationRow& out);

/// Runs the island model (see above) on this MPI job; initialises and finalises
/// MPI when nobody else did. RunOptions::resume_dir continues an island run.
/// Returns the run folder on rank 0 (empty `dir` on the other ranks) and, on rank
/// 0, the merged state.
RunOutcome run_islands(const Config& cfg, const RunOptions& opt);

}  // namespace evo
