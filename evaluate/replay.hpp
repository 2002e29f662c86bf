// evaluate/replay.hpp — run a trace's requests through an allocator.
//
// replay() walks Trace::ops once, front to back, keeping one pointer per object
// slot in a flat array (sized Trace::objects before the clock starts), and calls
// the instance through its function-pointer row. Nothing is allocated inside the
// timed loop (check mode excepted). Per op:
//   Malloc          allocate(size, 16)
//   Calloc          callocate(1, size)            (zeroes, as calloc does)
//   Realloc         reallocate(slot, size)         (empty slot = malloc; size 0 frees)
//   Free            deallocate(slot)
//   Memalign, PosixMemalign, AlignedAlloc, Valloc, Pvalloc
//                   allocate(size, 1 << align_log2) (pvalloc rounds size up to 4 KiB)
// The program's *first touch* of every block it receives (size > 0) is modelled:
// replay rewrites the block's first byte with its own value (one read-modify-write
// instruction, a single page fault on a fresh page: rewrite_first_byte in
// evaluate/replay_check.hpp), and when ReplayOptions::program_touch is
// set it reports the touch (block address, min(size, 64) bytes) to that probe —
// the locality metric feeds it to its cache model next to the allocator's own
// metadata touches (InstanceOptions::probe).
//
// Results (units: bytes, seconds):
//   ok / error        error names the first failure with its op index: a failed
//                     allocation ("op N: malloc(S) failed"), or in check mode a
//                     broken guarantee. ok == error.empty(). Replay continues after
//                     a failed allocation (the slot stays empty) and counts them.
//   seconds           wall time of the op loop only (steady_clock; replay_system's
//                     footprint samples between chunks are not timed).
//   peak_footprint    for an Instance: AllocStats::peak_footprint after the loop
//                     (the instance tracks its own peak exactly, so the loop needs
//                     no per-op stats call). For replay_system: the peak of glibc's
//                     in-use chunk bytes, mallinfo2() uordblks + hblkhd (requests +
//                     chunk headers + rounding; free holes NOT counted, as glibc's
//                     arena totals cannot separate the replay's holes from the
//                     process's earlier ones) above its value before the loop,
//                     sampled every kSystemSampleOps ops, right after the live
//                     peak (so it is at least the live bytes) and at the end: a
//                     lower bound, not comparable with an Instance's exact footprint.
//   peak_live_requested  the trace's own property: the peak sum of requested
//                     sizes live at once over the replayed ops (Trace::peak_live
//                     when the whole trace is replayed; recomputed for max_ops).
//   final_stats       instance stats after the loop (replay_system: footprint and
//                     peak only).
// The timed loop (replay without check mode, replay_null, replay_system) is one
// template for the three: it walks the op array by pointer and handles inline only
// Free and Malloc below kBigSize; realloc, calloc, the aligned kinds, big sizes and
// failed allocations go to a noinline cold path (same semantics as above). The
// glibc loop and the instance loop have the same shape on purpose, so that
// null/glibc measures the loop's own overhead fairly (bench/bench_replay):
// changing one means changing the other (evaluate/replay.cpp, InstanceEnv and
// SystemEnv). replay_system samples glibc's footprint between chunks of
// kSystemSampleOps ops, right after the op where the trace's live bytes peak, and
// after the last op (the samples are not timed; mallinfo2 walks glibc's bins and
// takes milliseconds on a big heap).
// Warm replay (ReplayOptions::warm; not in check mode): the ops run once untimed,
// the blocks still live at the end are freed, and only then the timed replay runs,
// on the same instance (replay_system: the same process heap): the time of a
// steady state, whose pages are already mapped and faulted and whose caches are
// full, as in a long run of the program whose short run the trace recorded. The
// results (ops, failed_allocs, error) are the timed replay's; the stats are the
// instance's after both (allocs and frees count both; the peak footprint is the
// higher of the two passes). First-touch page faults cost ~8 us each on a
// paravirtualised VM: a 300 K-op trace through a 8 MB-footprint design replays at
// 75 ns/op cold and 16 ns/op warm (docs/benchmarks.md), so a short trace's cold
// replay ranks designs by the pages they touch, not by their speed.
// check = true verifies, per op: alignment (>= max(16, requested)), usable_size
// >= size, no overlap with any live block, and block contents (a pattern written
// on allocation is verified on free/realloc, up to 256 bytes at each end);
// validate_every = N > 0 calls validate(Full) every N ops and at the end. Check
// mode is slow (a std::map of live blocks) and for tests only.
#pragma once

#include <cstdint>
#include <string>

#include "core/instance.hpp"
#include "core/probe.hpp"
#include "evaluate/trace.hpp"

namespace evo {

struct ReplayOptions {
  const Probe* program_touch = nullptr;  ///< receives the program's first touch of each block
  bool check = false;                    ///< verify alignment/usable_size/no-overlap/contents
  std::uint64_t validate_every = 0;      ///< call validate(Full) every N ops (0 = never)
  std::uint64_t max_ops = 0;             ///< replay only the first N ops (0 = all)
  /// Replay the ops once untimed, free the blocks still live, then the timed
  /// replay on the same instance (see "Warm replay" above). Ignored in check mode.
  bool warm = false;
};

struct ReplayResult {
  bool ok = true;
  std::string error;                 ///< first failure, naming the op index
  std::uint64_t ops = 0;             ///< ops replayed
  double seconds = 0;                ///< loop time
  std::uint64_t peak_footprint = 0;  ///< bytes (see above)
  std::uint64_t peak_live_requested = 0;
  std::uint64_t failed_allocs = 0;
  AllocStats final_stats{};
};

inline constexpr std::uint64_t kSystemSampleOps = 65536;

/// Replays `t` through `inst` (a fresh instance gives a fresh footprint peak).
ReplayResult replay(const Trace& t, Instance& inst, const ReplayOptions& opt = {});
/// Replays through the process's malloc (glibc unless preloaded otherwise); frees
/// every block still live afterwards (untimed). Ignores check/validate_every.
ReplayResult replay_system(const Trace& t, const ReplayOptions& opt = {});
/// Replays through a null allocator (allocations spread over 256 scratch cache
/// lines, frees do nothing) called through the same function-pointer path as an
/// Instance: the loop's own overhead. Ignores check/validate_every.
ReplayResult replay_null(const Trace& t, const ReplayOptions& opt = {});

}  // namespace evo
