// evolve/config.hpp — the run configuration: documented defaults <- YAML file <- command line.
//
// A Config is built once (load_config + apply_override) and passed down as
// `const Config&`; nothing reads configuration from globals. The effective config
// is written into the run folder (write_config) in the same YAML form, so a run
// folder can be resumed (`evolve --resume DIR`) and re-run exactly.
//
// YAML file: one flat mapping. Every key is optional; unknown or repeated keys, wrong types and
// out-of-range values are errors: ConfigError with one line
//   "FILE:LINE: key 'KEY': expected WHAT, got 'VALUE'"
// (LINE is 1-based, from yaml-cpp marks; for a command-line override FILE:LINE is
// "command line"). Keys and defaults:
//
//   name:            run name; results go to OUT/NAME/RUN-ID/  (default: config file stem)
//   trace:           trace file (evoalloc format)                (traces/espresso.trace)
//   extra_traces:    more trace files every design is also scored on, a list
//                    ([] ): e.g. a long input beside a short one, or a program
//                    that passes objects between threads beside one that does
//                    not. Speed is then the geometric mean over all the traces,
//                    fragmentation the worst trace's, quality the mean
//                    (evaluate/workload.hpp); fitted classes come from the merged
//                    size histogram, in the search and in `export --run`. Paths
//                    resolve like trace:                          ([])
//   trace_max_ops:   replay only the first N ops of each trace; 0 = all (0)
//   grammar:         BNF grammar of designs (grammar/threaded.bnf: with the thread
//                    model as a gene)                            (grammar/allocator.bnf)
//                    Relative paths are resolved by the CLI: first against the
//                    current directory, then against the evoalloc source tree.
//   speed_mode:      modeled | measured (objective used during the search; the
//                    final front is always re-measured, see remeasure_front)  (modeled)
//   population:      mu, individuals kept per generation, >= 2   (40)
//   offspring:       lambda, children per generation, >= 1; 0 = population  (0)
//   generations:     generations after the initial one, >= 0     (20)
//   crossover_rate:  probability a pair is recombined, [0,1]     (0.9)
//   mutation_rate:   per-codon int-flip probability, [0,1]       (0.05)
//   codon_max:       codons are drawn in [0, codon_max), >= 2    (65536)
//   max_wraps:       GE wraps, >= 0                              (2)
//   max_depth:       derivation depth limit, >= 1                (30)
//   init_max_depth:  sensible initialisation ramp top, >= 1      (10)
//   duplicate_retries: re-mutations of a child whose design is already in the
//                    population or among the children, >= 0      (5)
//   seed:            run seed (unsigned 64-bit)                  (1)
//   threads:         OpenMP threads for evaluation; 0 = all cores (0)
//   time_limit_s:    wall time per replay before a design is infeasible; 0 = none (30)
//   memory_limit:    footprint cap per design, bytes or 64K/512M/2G; 0 = none (2G)
//   repeats:         timed replays per measured speed (best kept), >= 1 (3)
//   measure_cutoff:  with speed_mode measured: a design whose warm-up replay is
//                    slower than this many times glibc's replay of that trace
//                    (measured once per trace at the start of the run) is scored by that one
//                    replay instead of `repeats` more; 0 = off, else >= 1 (3)
//   threaded_replay: off | lock | tlh | tcache: with a multi-threaded trace, measured speed
//                    is the threaded replay's wall time per op under that thread
//                    model (evaluate/replay_threaded.hpp; one such replay at a time,
//                    no measure cutoff); `export --run` then builds that model
//                    unless --threads says otherwise. A design that names its
//                    own model (threads=lock|tlh|tcache: grammar/threaded.bnf) is
//                    measured and exported under that one, even with off. Under
//                    tcache a design without a front=tcache:B cache cannot be
//                    measured (infeasible). No effect on a one-thread trace (off)
//   threaded_speed:  wall | mixed: the measured speed of a trace replayed on threads:
//                    the threaded replay's wall time per op (wall), or the
//                    geometric mean of that and the sequential replay's time per
//                    op of the whole design (mixed; EvalOptions::mixed_threaded_speed):
//                    the threaded replay's own costs hide per-op differences of a
//                    few ns that the sequential replay resolves   (wall)
//   threaded_window: the threaded replay's pacing: no trace thread runs more than
//                    this many ops of the recorded order ahead of the earliest
//                    op not yet done
//                    (ThreadedReplayOptions::window, evaluate/replay_threaded.hpp:
//                    a producer the program's queue held back is held back in the
//                    replay too); 0 = each thread as fast as its waits allow   (16384)
//   warm_replay:     with speed_mode measured: time the second of two passes over
//                    the trace on one instance (EvalOptions::warm_replay): the
//                    speed of a steady state, pages mapped and caches filled, for
//                    a trace recorded from a short run of a long-running program.
//                    Off, a short trace's timed replay is mostly the first-touch
//                    page faults of a fresh instance (docs/metrics.md) (false)
//   remeasure_front: re-measure the final front with measured speed, in `repeats`
//                    interleaved rounds, each design's best round (evolve/remeasure.hpp) (true)
//   thread_siblings: with speed_mode measured and remeasure_front: after the search,
//                    evaluate every front design under each other thread model the
//                    grammar derives (its threads= key changed; evolve/siblings.hpp),
//                    archive them, and re-measure them in the same rounds as the
//                    front; the final front (front.csv) is then the front and those
//                    siblings that no other of them dominates by the re-measured
//                    figures: the model is chosen from designs timed side by side.
//                    No effect without a threads= gene (true)
//   hv_reference:    reference point of the hypervolume, [speed, fragmentation,
//                    quality] in objective units, or "auto": after the initial
//                    generation, twice the worst value of each objective on the
//                    front (stored in the checkpoint, fixed for the run)    (auto)
//   out:             results root folder                         (results)
//   exhaustive:      score every design of the enumerated grammar instead of evolving (false)
//   exhaustive_limit: at most this many designs in exhaustive mode, >= 1 (100000)
//   exhaustive_range_values: integer ranges of the grammar are sampled to at most
//                    this many evenly spaced values when enumerating; 0 = all (4)
//   islands:         the MPI island model (evolve/islands.hpp), a mapping:
//                      enabled:  run as islands, one per MPI rank        (false)
//                      interval: migrate every this many generations, >= 1 (5)
//                      migrants: designs each island sends, >= 1       (2)
//                      topology: ring (to the next island) | full (to all) (ring)
//                    e.g. `islands: {enabled: true, interval: 2}`; written to
//                    config.yaml only when enabled.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "evaluate/metrics.hpp"
#include "evaluate/workload.hpp"

namespace evo {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The `islands:` section (see above and evolve/islands.hpp).
struct IslandsConfig {
  bool enabled = false;
  std::uint64_t interval = 5;
  std::uint64_t migrants = 2;
  std::string topology = "ring";  ///< ring | full
};

struct Config {
  std::string name = "run";
  std::string source = "(defaults)";  ///< where it was read from (messages only)
  std::string trace = "traces/espresso.trace";
  std::vector<std::string> extra_traces;
  std::uint64_t trace_max_ops = 0;
  std::string grammar = "grammar/allocator.bnf";
  SpeedMode speed_mode = SpeedMode::Modeled;
  std::uint64_t population = 40;
  std::uint64_t offspring = 0;
  std::uint64_t generations = 20;
  double crossover_rate = 0.9;
  double mutation_rate = 0.05;
  std::uint64_t codon_max = 65536;
  std::uint64_t max_wraps = 2;
  std::uint64_t max_depth = 30;
  std::uint64_t init_max_depth = 10;
  std::uint64_t duplicate_retries = 5;
  std::uint64_t seed = 1;
  std::uint64_t threads = 0;
  double time_limit_s = 30;
  std::uint64_t memory_limit = std::uint64_t{2} << 30;
  std::uint64_t repeats = 3;
  double measure_cutoff = 3;
  std::string threaded_replay = "off";  ///< off | lock | tlh | tcache
  std::string threaded_speed = "wall";  ///< wall | mixed
  std::uint64_t threaded_window = kPacingWindow;  ///< ops; 0 = no pacing
  bool warm_replay = false;
  bool remeasure_front = true;
  bool thread_siblings = true;
  std::optional<std::array<double, 3>> hv_reference;  ///< nullopt = auto
  std::string out = "results";
  bool exhaustive = false;
  std::uint64_t exhaustive_limit = 100000;
  std::uint64_t exhaustive_range_values = 4;
  IslandsConfig islands;

  /// lambda (offspring, or population when 0).
  std::uint64_t lambda() const { return offspring ? offspring : population; }
  /// The evaluation options these settings imply (measure_cutoff_ns not set: it
  /// needs the trace, see search_eval_options).
  EvalOptions eval_options() const;
  /// trace followed by extra_traces.
  std::vector<std::string> traces() const;
};

/// The evaluation options of the search: eval_options() plus, in measured mode with
/// measure_cutoff > 0, measure_cutoff_ns = measure_cutoff x system_speed_ns(trace)
/// (one line about it on *progress when given, naming the trace as `name`).
EvalOptions search_eval_options(const Config& c, const Trace& trace, std::ostream* progress,
                                std::string_view name = "the trace");

/// Reads the run's traces (Config::traces(), paths as they stand in c) into the
/// workloads the search scores designs on (evaluate/workload.hpp), each with
/// search_eval_options. Throws std::runtime_error naming the file that fails.
Workloads search_workloads(const Config& c, std::ostream* progress);

/// Reads `path` over the defaults (name defaults to the file stem). Throws
/// ConfigError (bad key/value, with FILE:LINE) or ConfigError "PATH: cannot read"
/// / "PATH:LINE: YAML syntax error ...".
Config load_config(const std::string& path);
/// Parses YAML text (for tests); `source` names it in messages.
Config parse_config(std::string_view yaml, const std::string& source, Config base = {});

/// Sets one key from its text form as given on the command line ("--seed 7"):
/// the value is read as a YAML scalar/sequence and checked like the file's.
void apply_override(Config& c, std::string_view key, std::string_view value);

/// The effective config as YAML (every key, loadable by load_config).
std::string config_to_yaml(const Config& c);

}  // namespace evo
