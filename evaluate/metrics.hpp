// evaluate/metrics.hpp — the three objectives of a design on a trace, defined once.
//
// evaluate_design(sentence, trace, options) parses the sentence (core/spec.hpp),
// builds an Instance with a metadata probe, replays the whole trace through it
// (evaluate/replay.hpp) and returns a Metrics record. It never throws for a bad
// design: an unparsable / non-instantiable sentence is *invalid*, a replay that
// breaks a limit or fails an allocation is *infeasible*; both carry a one-line
// reason and the run goes on.
//
// All three objectives are minimised. With N = number of trace ops replayed:
//
// speed (Metrics::speed; the config picks which of the two, EvalOptions::speed_mode)
//   measured  speed_measured_ns = best of `repeats` timed replays of the trace
//             through a fresh instance with no probe attached, after one warm-up
//             replay, in nanoseconds per op (wall clock, steady_clock). With
//             EvalOptions::threaded and a multi-threaded trace: the threaded
//             replay's wall time per op (every trace thread on its own thread).
//             With EvalOptions::mixed_threaded_speed: the geometric mean of that
//             and the sequential replay's ns per op (best of the repeats each).
//             With EvalOptions::warm_replay every timed replay is the second pass
//             over the trace on one instance (a warm replay, evaluate/replay.hpp).
//   modeled   speed_modeled = ( kWeightTouch  * metadata touches
//                             + kWeightL1Miss * metadata L1 misses
//                             + kWeightL2Miss * metadata L2 misses
//                             + kWeightOsCall * OS calls (map/unmap/grow/shrink) ) / N
//             in "cycles per op": the weights approximate the cost in cycles of a
//             touch that hits L1 (1), an L1 miss served by L2 (12), a miss to DRAM
//             (200) and a system call that changes the mapping (5000). Deterministic
//             and noise-free: the same design on the same trace gives the same value
//             (addresses inside an instance's own reservation are reproducible).
//             Only the allocator's own metadata misses are charged; the program's
//             touches share the cache (and evict metadata) but are not charged here.
//
// fragmentation  = peak_footprint / peak_live_requested - 1   (>= 0 for sane designs)
//   peak_footprint: the maximum of the bytes held from the OS (committed pages,
//   metadata included) over the replay, exact from the instance's MemorySource.
//   peak_live_requested: the maximum over the replay of the sum of requested sizes
//   of live blocks (a property of the trace). Parts, reported apart:
//     frag_internal = peak_live_usable / peak_live_requested - 1, where
//                     peak_live_usable is the maximum over the replay of the sum of
//                     usable_size() of live blocks (rounding to classes, headers
//                     are not counted: usable_size is what the program could use);
//     frag_external = fragmentation - frag_internal (free space, metadata, pages
//                     held but not handed out). An additive split: the two peaks
//                     need not fall at the same op.
//
// quality (locality) = ( kWeightL1Miss * L1 misses + kWeightL2Miss * L2 misses
//                      + kWeightPage * distinct pages ) / N
//   over the combined address stream of the allocator's metadata touches and the
//   program's first touch of each returned block (ReplayOptions::program_touch),
//   fed through one CacheModel (evaluate/cache_model.hpp, default geometry:
//   L1 32 KiB 8-way, L2 1 MiB 16-way, 64 B lines, 4 KiB pages). kWeightPage (1000)
//   stands for the first-touch page fault + TLB fill of each distinct page.
//
// Backings (EvalOptions::backing, measure_backing; core/source/memory_source.hpp):
// the probed replay runs on the simulated MemorySource backing (same footprint,
// peak, os_calls and addresses as the real one, so every metric above is
// unchanged, but no system call per page commit/decommit); the timed replays of
// measured speed run on the real backing, so ns/op include the real syscalls.
//
// Cores: evaluations may run in parallel (one per OpenMP thread); a threaded
// replay is timed with the cores to itself, the other evaluations paused at their
// next slice of ops (evaluate/cpu_gate.hpp).
//
// Limits: EvalOptions::time_limit_s (wall time of one replay, not counting the
// time it waited at the CpuGate for another design's threaded replay; 0 = none) and
// memory_limit (bytes of footprint, passed to InstanceOptions::memory_limit;
// 0 = none). Breaking either makes the design infeasible; `completed` tells how
// far the replay got (fraction of ops), which the evolution uses to rank
// infeasible designs among themselves.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "core/registry.hpp"
#include "evaluate/cache_model.hpp"
#include "evaluate/replay_threaded.hpp"

namespace evo {

struct Trace;

inline constexpr double kWeightTouch = 1.0;
inline constexpr double kWeightL1Miss = 12.0;
inline constexpr double kWeightL2Miss = 200.0;
inline constexpr double kWeightOsCall = 5000.0;
inline constexpr double kWeightPage = 1000.0;

enum class SpeedMode { Modeled, Measured };
/// "modeled" / "measured".
const char* speed_mode_name(SpeedMode m);
/// Parses "modeled" / "measured"; false otherwise.
bool parse_speed_mode(std::string_view s, SpeedMode& out);

struct EvalOptions {
  SpeedMode speed_mode = SpeedMode::Modeled;
  int repeats = 3;                  ///< timed replays for measured speed (best is kept)
  /// One untimed replay before the timed ones (and measure_cutoff_ns is checked on
  /// it). Off for a design already warmed up, e.g. the later rounds of an
  /// interleaved re-measure (evolve/remeasure.hpp).
  bool warmup = true;
  /// Measured speed only: every timed replay runs the trace twice on one instance
  /// and times the second pass (ReplayOptions::warm, ThreadedReplayOptions::warm):
  /// the speed of a steady state, for a trace recorded from a short run of a
  /// long-running program. No separate warm-up replay then (each replay warms up in
  /// its first pass); the first timed replay answers measure_cutoff_ns. The probed
  /// replay (fragmentation, quality, modeled speed) stays one cold pass.
  bool warm_replay = false;
  double time_limit_s = 0;          ///< per replay; 0 = none
  std::uint64_t memory_limit = 0;   ///< bytes of footprint; 0 = none
  std::uint64_t max_ops = 0;        ///< replay only the first max_ops ops; 0 = all
  CacheConfig cache{};
  /// Backing of the probed metrics replay's instance (modeled speed, fragmentation,
  /// quality): Simulated by default — the accounting is identical to Real, so the
  /// metrics are too, without a system call per page commit/decommit (which
  /// serialises OpenMP threads on the process's mmap lock).
  SourceBacking backing = SourceBacking::Simulated;
  /// Backing of the timed replays of measured speed (measure_speed_ns): Real by
  /// default, so measured ns/op include the system calls the shipped library pays.
  SourceBacking measure_backing = SourceBacking::Real;
  /// Measured speed only: a design whose warm-up replay is slower than this many
  /// ns/op is scored by that one replay, without the timed repeats (it cannot be
  /// among the fastest; its slow replays, mostly system calls, would also disturb
  /// the timings of the designs measured beside it). 0 = always the full repeats.
  double measure_cutoff_ns = 0;
  /// Measured speed of a multi-threaded trace (Trace::threads > 1) from the threaded
  /// replay (evaluate/replay_threaded.hpp) under `thread_model`: wall time of the
  /// whole replay per op, so contention and remote frees are paid. One threaded
  /// replay runs at a time in the process (parallel evaluations wait for each other
  /// there), so they do not compete for the cores. The probed replay (modeled
  /// speed, fragmentation, quality) stays sequential. false or a one-thread trace:
  /// the sequential replay. A design whose text names its model (threads=lock|tlh,
  /// core/spec.hpp) is replayed on threads under that model even when false.
  bool threaded = false;
  ThreadModel thread_model = ThreadModel::Lock;
  /// The threaded replay's pacing window (ThreadedReplayOptions::window: no thread
  /// runs more than this many ops of the recorded order ahead of the earliest op
  /// not yet done; 0 off).
  std::uint64_t threaded_window = kPacingWindow;
  /// Measured speed of a trace replayed on threads: the geometric mean of the
  /// threaded replay's wall time per op (contention, remote frees, the thread
  /// model) and the sequential replay's time per op of the whole design on the same
  /// trace (each the best of the repeats). The threaded replay's own cost (ordering
  /// waits, a few threads on few cores) hides per-op differences of a few ns that
  /// the sequential replay resolves (docs/metrics.md).
  bool mixed_threaded_speed = false;
  /// The trace's per-site lifetimes (site_lives, evaluate/site_profile.hpp), by
  /// which routing designs (core/route/router.hpp) classify its call sites; the
  /// caller keeps them alive. Empty: a routing design sends everything to its rest
  /// class.
  std::span<const SiteLife> sites{};
};

/// Everything measured about one design on one trace. NaN marks "not measured".
struct Metrics {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

  // ---- status ----
  bool valid = false;     ///< the sentence parsed and instantiated
  bool feasible = false;  ///< valid and the replay finished within the limits
  std::string reason;     ///< one line when !valid or !feasible, else empty
  double completed = 0;   ///< fraction of the trace's ops replayed, in [0, 1]

  // ---- objectives (minimised) ----
  double speed = kNaN;          ///< speed_modeled or speed_measured_ns (see speed_mode)
  double fragmentation = kNaN;
  double quality = kNaN;

  // ---- parts ----
  double speed_modeled = kNaN;      ///< cycles per op (model)
  double speed_measured_ns = kNaN;  ///< ns per op, best of k
  double frag_internal = kNaN;
  double frag_external = kNaN;

  // ---- raw counts of the probed replay ----
  std::uint64_t ops = 0;
  std::uint64_t peak_footprint = 0;
  std::uint64_t peak_live_requested = 0;
  std::uint64_t peak_live_usable = 0;
  std::uint64_t os_calls = 0;
  std::uint64_t meta_touches = 0;
  std::uint64_t meta_l1_misses = 0;
  std::uint64_t meta_l2_misses = 0;
  std::uint64_t l1_misses = 0;  ///< metadata + program
  std::uint64_t l2_misses = 0;  ///< metadata + program
  std::uint64_t pages = 0;      ///< distinct pages touched (metadata + program)
  double eval_seconds = 0;      ///< wall time spent evaluating (all replays)

  std::array<double, 3> objectives() const { return {speed, fragmentation, quality}; }
};

/// Evaluates one design (see above). Thread-safe: each call owns its instances and
/// cache model; `trace` is only read. `hist` is the trace's size histogram
/// (size_histogram(trace)), passed in so callers compute it once.
Metrics evaluate_design(std::string_view sentence, const Trace& trace, std::span<const SizeCount> hist,
                        const EvalOptions& opt);

/// Whether measure_speed_ns times `sentence` on `trace` with the threaded replay, and
/// under which model (*model): a multi-threaded trace, and either opt.threaded (model
/// opt.thread_model) or a design that names its model (threads=lock|tlh), which wins.
bool measured_on_threads(std::string_view sentence, const Trace& trace, const EvalOptions& opt, ThreadModel* model);

/// Measured speed only (ns per op, best of opt.repeats after a warm-up (opt.warmup),
/// or the warm-up alone past opt.measure_cutoff_ns), for re-measuring a front. Returns NaN
/// (and writes *err) if the design fails.
double measure_speed_ns(std::string_view sentence, const Trace& trace, std::span<const SizeCount> hist,
                        const EvalOptions& opt, std::string* err = nullptr);

/// The process's own malloc (glibc) replaying the trace: ns per op, best of
/// `repeats` timed replays (the baseline of the measure cutoff, see evolve/config.hpp).
/// warm: each replay is a warm one (ReplayOptions::warm), as the designs' with
/// EvalOptions::warm_replay.
double system_speed_ns(const Trace& trace, std::uint64_t max_ops, int repeats, bool warm = false);

}  // namespace evo
