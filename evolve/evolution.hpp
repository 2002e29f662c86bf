// evolve/evolution.hpp — the GE + NSGA-II generation loop, and exhaustive mode.
//
// One generation reads as its steps (STYLE.md habit 14):
//   select   binary tournaments on (rank, crowding) of the current population;
//   vary     one-point crossover (rate crossover_rate) within the used codons of
//            each pair, then int-flip mutation (mutation_rate per codon) of each
//            child; each child is mapped (grammar/mapper.hpp); a child whose design
//            is already in the population or among earlier children is mutated
//            again (at least one codon) up to duplicate_retries times (duplicate
//            control);
//   evaluate the distinct designs of the children not yet in the archive, in
//            parallel (OpenMP, `threads`), each through EvaluateFn; designs already
//            in the archive are cache hits and are never re-evaluated;
//   replace  elitist (mu + lambda) survival: non-dominated sort of parents +
//            children under constraint domination, fronts then crowding distance
//            (evolve/nsga2.hpp); invalid designs have violation 2, infeasible ones
//            1 + unreplayed fraction (evolve/archive.hpp, fitness_of);
//   record   history row (evaluations, cache hits, hypervolume, best per
//            objective), then the on_generation hook (checkpoint, progress line).
// Generation 0 is the sensible initialisation (grammar/mapper.hpp sensible_init)
// of `population` genomes, evaluated the same way.
//
// Reproducibility: every random draw comes from Rng::stream(seed, generation,
// child index, purpose); evaluations are collected in a fixed order and inserted
// into the archive in that order, so thread scheduling cannot change a run.
// With speed_mode modeled (deterministic metrics) a seed reproduces the run
// exactly, and a run resumed from its checkpoint continues exactly as the
// uninterrupted run would have.
//
// Hypervolume (history): of the archive's front (all feasible designs evaluated
// so far that no other dominates), each objective divided by the reference point
// (Config::hv_reference, or "auto": twice the nadir — the worst value of each
// objective — of the front after generation 0 (exhaustive: after the first batch),
// fixed for the run), against (1, 1, 1) — see evolve/hypervolume.hpp. Designs
// beyond the reference in some objective add nothing. It never decreases.
//
// Exhaustive mode (Config::exhaustive): the designs of the enumerated grammar
// (grammar/enumerate.hpp), in enumeration order, up to exhaustive_limit, are
// evaluated in batches of `population` designs; each batch is one "generation" of
// the history and the checkpoint, so the same outputs (and --resume) work.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "evolve/archive.hpp"
#include "evolve/config.hpp"
#include "evolve/genome.hpp"
#include "grammar/grammar.hpp"

namespace evo {

/// Evaluates one (valid, mapped) sentence; called concurrently from OpenMP threads.
using EvaluateFn = std::function<Metrics(const std::string& sentence)>;

struct Individual {
  Genome genome;
  std::string sentence;  ///< empty when the mapping failed
  std::string why;       ///< mapping failure reason
  Fitness fitness;
};

struct HistoryRow {
  std::uint64_t generation = 0;
  std::uint64_t evaluations = 0;  ///< cumulative designs evaluated (replayed)
  std::uint64_t cache_hits = 0;   ///< cumulative children whose design was already in the archive
  std::uint64_t invalid = 0;      ///< invalid or infeasible individuals in the population after survival
  std::uint64_t front_size = 0;   ///< designs on the archive's front
  double hypervolume = 0;         ///< normalised, of the archive's front
  std::array<double, 3> best{};   ///< best feasible value of each objective so far
  double elapsed_s = 0;           ///< wall time since the run started (resumes included)
};
/// history.csv header / row.
std::string history_csv_header();
std::string history_csv_row(const HistoryRow& h);
bool parse_history_csv_row(std::string_view line, HistoryRow& out);

struct RunState {
  std::uint64_t generation = 0;  ///< last completed generation (or exhaustive batch)
  bool started = false;          ///< generation 0 done
  std::vector<Individual> population;
  Archive archive;
  std::vector<HistoryRow> history;
  std::array<double, 3> reference{1, 1, 1};
  bool reference_set = false;
  std::uint64_t evaluations = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t exhaustive_total = 0;  ///< designs to score in exhaustive mode
  double elapsed_s = 0;
  /// The final front when thread-model siblings were re-measured with it (archive
  /// indexes; evolve/remeasure.hpp, remeasured_front): the designs of front() and their
  /// siblings that no other of them dominates by the re-measured figures. Empty: front().
  std::vector<std::size_t> final_front;

  bool done(const Config& c) const;
};

struct LoopHooks {
  /// After each completed generation (checkpoint, progress).
  std::function<void(const RunState&)> on_generation;
  /// After the replace step of each generation >= 1, before its history row is
  /// recorded (the island model's migration: evolve/islands.hpp). It may add
  /// pre-evaluated designs to the archive and change the population.
  std::function<void(RunState&)> after_step;
};

/// Runs (or continues `state`) until Config::generations are done (or every
/// enumerated design is scored in exhaustive mode). Throws std::runtime_error on
/// a grammar that cannot be initialised.
void run_evolution(const Config& cfg, const Grammar& g, const EvaluateFn& eval, RunState& state,
                   const LoopHooks& hooks = {});

/// Normalised hypervolume of the archive's front (see above).
double front_hypervolume(const Archive& a, const std::array<double, 3>& reference);

/// One progress line: "gen 5/20  evals 180 (12.3/s)  cache 23%  hv 0.4123  ETA 1m05s".
std::string progress_line(const Config& cfg, const RunState& s);

}  // namespace evo
