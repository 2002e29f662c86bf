// evaluate/replay_threaded.hpp — replay a multi-threaded trace on real threads.
//
// Every thread of the trace runs its own ops, in its own order, on its own OS
// thread (with threads_cap = K > 0, trace thread t runs on worker t % K, which
// runs its threads' ops in trace order). The only cross-thread order kept is the
// one that makes the trace valid: every op on an object slot waits until the
// slot's previous op (in trace order) is done. So a free or realloc runs after the
// allocation it undoes, and an object allocated by one thread and freed by another
// is really freed on that other thread (a *remote free*). Slots are this replay's
// own (renumber_slots): the recorder gives a freed id to the next allocation of any
// thread, which would order that allocation after another thread's free, a wait the
// program never had; here a slot an object's free ends is reused only by the thread
// that freed it. A waiting op spins briefly, then yields. This cannot deadlock:
// each worker runs its ops in trace order, so the earliest op not yet done is
// always free to run.
//
// Pacing (window = W > 0, the default kPacingWindow): no worker starts op g (the
// op's index in the trace, i.e. in the order the program made its calls) before
// every op below g - W is done, so no thread runs more than W ops of the recorded
// order ahead of the earliest op not yet done. Without it each thread runs as fast as its slot
// waits allow, which a program whose threads pace each other never does: a
// producer held back by a full queue in the program allocated everything up front
// in the replay, its consumers freed in bursts afterwards, the heap swung through
// memory the program never held, and the time of the work the program's pacing
// puts on its critical path (under tlh, the owner draining and refiling what its
// consumers freed) fell outside the producer's run. On a recorded xmalloc-test
// (2 producers, 2 consumers; the program runs 1.3x faster under tcache than tlh)
// the unpaced replay rated tlh 1.1-1.7x ahead of tcache; paced by 4096 to 16384
// ops the two tie or tcache leads by up to 14%, while on the training traces and a
// recorded larson the order stays what it was unpaced (docs/benchmarks.md, session
// 27). A smaller W follows the recording more closely, and its waits cost every
// design more. Still no deadlock: the worker whose next op is the earliest not
// done is never held by the window (every other worker's next op is later), nor by
// a slot (the op it waits for is earlier still, so its worker would hold the
// earliest). W = 0: no pacing.
//
// Thread models (how the design's instances are shared; the export's models,
// export/shim.cpp, with more than one thread):
//   lock  one instance behind one mutex, taken by every call.
//   tlh   one instance per trace thread, its thread's alone: no lock when the
//         row's usable_size may run beside its calls (Traits::concurrent_usable_size),
//         else its own HeapLock (core/heap_lock.hpp), taken by its thread on every
//         call and by another thread reading a block's size (as the export).
//         A block goes back to the instance that allocated it: a remote free goes
//         into the worker's RemoteBatch for the owner, and a full or displaced
//         batch (and the worker's last, when its ops end) is pushed onto the
//         owner's RemoteFreeQueue in one claim (core/remote_queue.hpp: a ring, and
//         overflow nodes when it is full; never waits), which the owner drains at
//         its next allocation; a realloc of another thread's block allocates in
//         the caller's instance, copies and frees remotely. The footprint adds the
//         overflow nodes' pages.
//   tcache  one shared instance of the design without its front cache, behind one
//         HeapLock, and per trace thread a front=tcache:B cache over it
//         (core/layers/front.hpp: FrontCache<SharedBack>): every call goes to the
//         calling thread's cache; a refill or flush takes the shared lock once a
//         batch; a block freed by another thread goes to the freeing thread's
//         cache. The maker makes the shared instance; cache_bound and cache_align
//         come from split_thread_cache (core/layers/front.hpp). At the end every
//         cache gives its blocks back (as a thread's cache does when it exits).
//
// Per op the semantics are replay()'s (evaluate/replay.hpp): malloc, calloc
// (zeroed), realloc (empty slot = malloc, size 0 frees), free, the aligned kinds,
// and the program's first touch of each block (its first byte rewritten).
//
// Warm replay (warm = true): the workers run every op once untimed, then the blocks
// still live are freed (each through its owner's heap, or under tcache through the
// cache of the thread that allocated it; check mode: forgotten by the checker), and
// the workers run the ops again on the same heaps and caches, timed: the replay of
// a steady state, as replay()'s warm mode (evaluate/replay.hpp). The results are
// the timed pass's; final_stats count both passes.
//
// Results (units: seconds, bytes):
//   seconds          wall time from the start signal to the end of the last worker
//   worker_seconds   each worker's time from the start signal to its last op
//   waits            ops that found their slot's previous op not yet done
//   paced_waits      ops the pacing window held back
//   frees, remote_frees  frees and reallocs of a live block; remote: the block
//                    was allocated by another trace thread
//   peak_footprint   the sum of the instances' own peaks (tlh: an upper bound of
//                    the replay's peak, the instances peak at different times;
//                    tcache: the shared instance's peak, cached blocks included,
//                    plus the slot pages of the array caches and the transfer cache)
//   final_stats      summed over the instances, after the replay
// check = true verifies every block as replay()'s check mode does (alignment,
// usable size, no overlap with any live block of any instance, contents kept),
// under one mutex, so check mode is slow and serialises the workers; tests only.
// The first broken guarantee stops every worker (the design's state is suspect);
// error names it. A failed allocation does not stop the replay (as in replay()).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/instance.hpp"
#include "evaluate/trace.hpp"

namespace evo {

enum class ThreadModel { Lock, Tlh, Tcache };

/// "lock" | "tlh" | "tcache"; false for anything else.
bool parse_thread_model(const std::string& text, ThreadModel* out);
const char* thread_model_name(ThreadModel m);

/// The default pacing window (ops of the recorded order; see "Pacing" above).
inline constexpr std::uint64_t kPacingWindow = 16384;

struct ThreadedReplayOptions {
  ThreadModel model = ThreadModel::Lock;
  unsigned threads_cap = 0;  ///< 0: one worker per trace thread; else at most this many workers
  bool check = false;        ///< verify every block (see above)
  std::uint64_t max_ops = 0; ///< replay only the first N ops (0 = all)
  std::uint32_t cache_bound = 0;  ///< tcache: the per-thread cache's front word (parse_front: B, kFrontGrow; > 0)
  std::size_t cache_align = 16;   ///< tcache: the design's alignment
  std::uint64_t window = kPacingWindow;  ///< no op g starts before every op below g - window is done; 0: off ("Pacing")
  bool warm = false;  ///< an untimed pass first, on the same heaps (see "Warm replay" above)
};

struct ThreadedReplayResult {
  bool ok = true;
  std::string error;  ///< first failure, naming the op index
  std::uint64_t ops = 0;
  unsigned trace_threads = 0;
  unsigned workers = 0;
  std::size_t instances = 0;
  double seconds = 0;
  std::vector<double> worker_seconds;
  std::uint64_t waits = 0;
  std::uint64_t paced_waits = 0;
  std::uint64_t frees = 0;
  std::uint64_t remote_frees = 0;
  std::uint64_t failed_allocs = 0;
  std::uint64_t peak_footprint = 0;
  AllocStats final_stats{};
};

/// The pacing window's bookkeeping (see "Pacing" above), shared by the workers: per
/// worker the trace index of its next op (the one it runs or waits to run; kDone
/// when it has none left), each on a cache line of its own. A worker's ops before
/// its next are done, so every op below the least next of all workers is done.
class PacingWindow {
 public:
  static constexpr std::uint64_t kDone = UINT64_MAX;
  PacingWindow(unsigned workers, std::uint64_t window);
  /// `worker` is about to run op `op` (kDone: it has finished).
  void set_next(unsigned worker, std::uint64_t op);
  /// May `worker` start op `op`: is every other worker's next op at least op -
  /// window? `low` is the caller's lower bound of their least next op (start at 0):
  /// read only when it does not already answer, and raised to what was read.
  bool ready(unsigned worker, std::uint64_t op, std::uint64_t& low) const;
  std::uint64_t window() const { return window_; }

 private:
  struct alignas(64) Next {
    std::atomic<std::uint64_t> at{0};
  };
  std::uint64_t window_;
  unsigned workers_;
  std::unique_ptr<Next[]> next_;
};

/// Makes one fresh instance of the design (called once for lock, once per trace
/// thread for tlh, before the clock starts; for tcache, once, an instance of the
/// design without its front cache); an invalid Instance and *err on failure.
using InstanceMaker = std::function<Instance(std::string* err)>;

/// The sentence the maker of `model` builds from `design`, filling the tcache
/// fields of *opt (the design minus its front cache, split_thread_cache); "" and
/// *err when the design cannot run under the model.
std::string design_for_model(std::string_view design, ThreadModel model, ThreadedReplayOptions* opt, std::string* err);

/// This replay's slot of each of the first n ops' object: an object keeps one slot from
/// its first op to the free (or realloc to 0 bytes) that ends it; the next object
/// allocated by a thread takes the slot that thread's frees ended last, else a new
/// one. Returns the number of slots.
std::uint32_t renumber_slots(const Trace& t, std::uint64_t n, unsigned threads, std::vector<std::uint32_t>& slot);

ThreadedReplayResult replay_threaded(const Trace& t, const InstanceMaker& make, const ThreadedReplayOptions& opt = {});

}  // namespace evo
