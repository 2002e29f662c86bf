// evaluate/replay_threaded.cpp — the threaded replay (see replay_threaded.hpp).
#include "evaluate/replay_threaded.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "core/heap_lock.hpp"
#include "core/layers/front.hpp"
#include "core/remote_queue.hpp"
#include "core/route/router.hpp"
#include "evaluate/replay_check.hpp"

namespace evo {

bool parse_thread_model(const std::string& text, ThreadModel* out) {
  if (text == "lock") *out = ThreadModel::Lock;
  else if (text == "tlh") *out = ThreadModel::Tlh;
  else if (text == "tcache") *out = ThreadModel::Tcache;
  else return false;
  return true;
}

const char* thread_model_name(ThreadModel m) {
  return m == ThreadModel::Lock ? "lock" : m == ThreadModel::Tlh ? "tlh" : "tcache";
}

std::string design_for_model(std::string_view design, ThreadModel model, ThreadedReplayOptions* opt, std::string* err) {
  if (model != ThreadModel::Tcache) return std::string(design);
  AllocatorSpec spec;
  ThreadCacheSplit split;
  if (!parse_spec(design, spec, err) || !split_thread_cache(spec, &split, err)) return {};
  opt->cache_bound = split.bound;
  opt->cache_align = split.min_align;
  return split.back.text();
}

PacingWindow::PacingWindow(unsigned workers, std::uint64_t window)
    : window_(window), workers_(workers), next_(std::make_unique<Next[]>(workers)) {}

void PacingWindow::set_next(unsigned worker, std::uint64_t op) { next_[worker].at.store(op, std::memory_order_release); }

bool PacingWindow::ready(unsigned worker, std::uint64_t op, std::uint64_t& low) const {
  const std::uint64_t floor = op >= window_ ? op - window_ : 0;  // every op below it must be done
  if (floor <= low) return true;
  std::uint64_t least = kDone;
  for (unsigned k = 0; k < workers_; ++k)
    if (k != worker) least = std::min(least, next_[k].at.load(std::memory_order_acquire));
  low = least;
  return floor <= low;
}

namespace {

using Clock = std::chrono::steady_clock;

/// One instance and the lock its calls take, as in the exported library: a pthread
/// mutex for the one heap of `lock`, a HeapLock (core/heap_lock.hpp) for tcache's
/// shared heap and for the per-thread heaps of `tlh`, which its owner alone touches
/// without any lock (`exclusive`) when the row's usable_size may run beside its calls.
/// The lock starts a cache line of its own: under tcache every worker's free reads
/// `inst` (usable_size, without the lock) while refills and flushes write the lock.
struct Heap {
  explicit Heap(RemoteNodePool* nodes) : remote(nodes) {}
  Instance inst;
  bool tlh = false;
  bool exclusive = false;  // tlh, Traits::concurrent_usable_size: no lock at all
  alignas(64) std::mutex mutex;
  HeapLock heap_lock;
  HeapRemoteQueue remote;     // tlh: blocks other threads freed, drained by the owner
  void lock() {
    if (exclusive) return;
    if (tlh) heap_lock.lock();
    else mutex.lock();
  }
  void unlock() {
    if (exclusive) return;
    if (tlh) heap_lock.unlock();
    else mutex.unlock();
  }
  /// Frees the queued blocks (by the owner; the heap's lock held unless exclusive).
  void drain_remote() {
    remote.drain([this](void* q) { inst.deallocate(q); });
  }
};

/// A trace thread's cache of thread model tcache, on cache lines of its own.
using ThreadCache = FrontCache<SharedBack<OpsBack>>;
struct alignas(64) CacheSlot {
  ThreadCache cache;
  CacheSlot(SharedBack<OpsBack> back, std::uint32_t bound, std::size_t align) : cache(back, bound, align, nullptr) {}
};

/// Hands n blocks of heap h, freed by the calling worker, over to h's owner (queued:
/// never waits, never touches h's instance; as export/shim.cpp).
void hand_over(Heap* h, void* const* ps, std::size_t n) { h->remote.push_batch(ps, n); }

/// The queues' overflow nodes (tlh; core/remote_queue.hpp), returned to the OS when
/// the replay is over.
struct OwnedNodes {
  RemoteNodePool pool;
  ~OwnedNodes() { pool.unmap_all(); }
};

/// Everything the workers share. Per slot: `done`, the number of its ops done so
/// far (an op runs when done == its ordinal among the slot's ops), and the block
/// with the trace thread that allocated it (written and read only by the slot's
/// current op, ordered by `done`'s release/acquire).
struct Shared {
  const Trace* t = nullptr;
  ThreadModel model = ThreadModel::Lock;
  OwnedNodes nodes;                           // tlh: declared before the heaps, destroyed after them
  std::vector<std::unique_ptr<Heap>> heaps;  // lock, tcache: 1; tlh: one per trace thread
  OpsBack back;                               // tcache: heaps[0]'s instance, shared by the caches
  TransferCache::Owned transfer;              // tcache: batches passed between the caches
  std::vector<std::unique_ptr<CacheSlot>> caches;  // tcache: one per trace thread
  std::vector<std::uint32_t> slot;           // per op: its object's slot in this replay (renumber_slots)
  std::vector<std::uint32_t> ordinal;        // per op: its rank among its slot's ops
  /// Per slot, together (an op touches all three: one cache line, not three).
  struct SlotState {
    void* block = nullptr;
    std::atomic<std::uint32_t> done{0};
    std::uint16_t owner = 0;
  };
  std::unique_ptr<SlotState[]> slots;
  std::atomic<bool> go{false};
  Clock::time_point t0;
  std::unique_ptr<PacingWindow> pacing;  // ThreadedReplayOptions::window > 0
  // check mode and pacing: which ops are done, and the first not done (under check_lock)
  std::vector<char> op_done;
  std::uint64_t first_not_done = 0;
  bool routes = false;  // the design routes by call site: set route_site before each allocation
  // check mode
  bool check = false;
  std::mutex check_lock;
  Checker chk;
  std::mutex error_lock;
  std::string error;
  std::atomic<bool> stop{false};  // check mode found a broken guarantee: every worker stops

  void note(std::string e) {
    std::lock_guard<std::mutex> g(error_lock);
    if (error.empty()) error = std::move(e);
    if (check) stop.store(true, std::memory_order_relaxed);
  }
  Heap& heap_of(std::uint16_t thread) { return *heaps[model == ThreadModel::Tlh ? thread : 0]; }
  ThreadCache* cache_of(std::uint16_t thread) {
    return model == ThreadModel::Tcache ? &caches[thread]->cache : nullptr;
  }
};

/// One worker's counters and batch, on cache lines of its own: every op updates them
/// (packed in one vector, neighbouring workers' counters shared a line).
struct alignas(64) WorkerResult {
  double seconds = 0;
  std::uint64_t waits = 0, paced = 0, frees = 0, remote = 0, failed = 0;
  RemoteBatch<Heap> batch;  // tlh: this worker's remote frees, not yet handed over (core/remote_queue.hpp)
};

/// Frees p, a block of `from`, which is not the calling trace thread's heap (tlh):
/// into the worker's batch for `from`, handed over when full or displaced.
void free_remote(Heap& from, void* p, WorkerResult& w) { w.batch.add(&from, p, hand_over); }

std::string op_text(std::uint64_t i, const Op& op, std::uint64_t size) {
  return "op " + std::to_string(i) + " (" + op_kind_name(op.kind) + " " + std::to_string(size) + ")";
}

/// Releases slot `s`'s live block in its owner's heap (check mode: verified first).
void release(Shared& sh, std::uint64_t i, const Op& op, void* p, WorkerResult& w) {
  const std::uint16_t owner = sh.slots[op.object].owner;
  ++w.frees;
  w.remote += owner != op.thread;
  if (sh.check) {
    std::lock_guard<std::mutex> g(sh.check_lock);
    std::string e = sh.chk.on_release(i, op, p, UINT64_MAX);
    if (!e.empty()) sh.note(std::move(e));
  }
  if (ThreadCache* c = sh.cache_of(op.thread)) return c->deallocate(p);  // the freeing thread's cache
  Heap& h = sh.heap_of(owner);
  if (sh.model == ThreadModel::Tlh && owner != op.thread) return free_remote(h, p, w);
  std::lock_guard<Heap> g(h);
  h.inst.deallocate(p);
}

/// A fresh block for op i in the calling thread's heap (every allocating kind).
void* obtain(Shared& sh, const Op& op, std::uint64_t size) {
  if (sh.routes) route_site = op.site;  // core/route/router.hpp
  if (ThreadCache* c = sh.cache_of(op.thread)) {
    if (op.kind == OpKind::Malloc || op.kind == OpKind::Realloc) return c->allocate(size, 16);
    if (op.kind == OpKind::Calloc) {
      void* p = c->allocate(size, 16);
      if (p != nullptr) std::memset(p, 0, size);
      return p;
    }
    const std::uint64_t sz = op.kind == OpKind::Pvalloc ? (size + 4095) & ~std::uint64_t{4095} : size;
    return c->allocate(sz, alignment_of(op));
  }
  Heap& h = sh.heap_of(op.thread);
  std::lock_guard<Heap> g(h);
  if (h.remote.maybe_nonempty()) h.drain_remote();
  if (op.kind == OpKind::Malloc || op.kind == OpKind::Realloc) return h.inst.allocate(size, 16);
  if (op.kind == OpKind::Calloc) return h.inst.callocate(1, size);
  const std::size_t align = alignment_of(op);
  const std::uint64_t sz = op.kind == OpKind::Pvalloc ? (size + 4095) & ~std::uint64_t{4095} : size;
  return h.inst.allocate(sz, align);
}

void on_new_block(Shared& sh, std::uint64_t i, const Op& op, void* p, std::uint64_t size) {
  if (!sh.check) return;
  const std::size_t align =
      (op.kind == OpKind::Malloc || op.kind == OpKind::Calloc || op.kind == OpKind::Realloc) ? 16 : alignment_of(op);
  Op as = op;
  if (op.kind == OpKind::Realloc) as.kind = OpKind::Malloc;  // contents were checked by the caller
  if (const ThreadCache* c = sh.cache_of(op.thread)) {  // usable_size takes the shared lock itself if it must
    std::lock_guard<std::mutex> g(sh.check_lock);
    std::string e = sh.chk.on_alloc(*c, i, as, p, size, align);
    if (!e.empty()) sh.note(std::move(e));
    return;
  }
  // The checker asks the heap for usable_size: under the heap's lock (taken first;
  // no other path holds both locks at once).
  Heap& h = sh.heap_of(op.thread);
  std::lock_guard<Heap> hg(h);
  std::lock_guard<std::mutex> g(sh.check_lock);
  std::string e = sh.chk.on_alloc(h.inst, i, as, p, size, align);
  if (!e.empty()) sh.note(std::move(e));
}

/// realloc: the design's own reallocate in the block's heap when the caller owns
/// the block, or under the lock model (one heap); under tlh a block of another
/// thread is allocated anew in the caller's heap, copied and freed remotely.
void resize(Shared& sh, std::uint64_t i, const Op& op, std::uint64_t size, WorkerResult& w) {
  void*& s = sh.slots[op.object].block;
  const bool live = s != nullptr;
  const std::uint16_t owner = live ? sh.slots[op.object].owner : op.thread;
  std::uint64_t old_size = 0;
  if (live) {
    ++w.frees;
    w.remote += owner != op.thread;
    if (sh.check) {
      std::lock_guard<std::mutex> g(sh.check_lock);
      old_size = sh.chk.sizes[op.object];
      std::string e = sh.chk.on_release(i, op, s, size);
      if (!e.empty()) sh.note(std::move(e));
    }
  }
  void* p;
  if (sh.routes) route_site = op.site;
  if (ThreadCache* c = sh.cache_of(op.thread)) {
    p = c->reallocate(s, size);
  } else if (owner == op.thread || sh.model == ThreadModel::Lock) {
    Heap& h = sh.heap_of(owner);
    std::lock_guard<Heap> g(h);
    p = h.inst.reallocate(s, size);
  } else {
    Heap& from = sh.heap_of(owner);
    if (size == 0) {
      free_remote(from, s, w);
      p = nullptr;
    } else {
      std::size_t keep;
      {
        std::lock_guard<Heap> g(from);
        keep = std::min<std::size_t>(from.inst.usable_size(s), size);
      }
      p = obtain(sh, op, size);
      if (p != nullptr) {
        std::memcpy(p, s, keep);
        free_remote(from, s, w);
      }
    }
  }
  if (p == nullptr) {
    if (size != 0) {  // the old block (if any) stays live
      ++w.failed;
      sh.note(op_text(i, op, size) + " failed");
      if (live && sh.check) {
        std::lock_guard<std::mutex> g(sh.check_lock);
        sh.chk.blocks.emplace(reinterpret_cast<std::uintptr_t>(s), Checker::Live{old_size, op.object});
      }
    } else {
      s = nullptr;
    }
    return;
  }
  if (live && sh.check &&
      !Checker::verify(op.object, static_cast<unsigned char*>(p), old_size, std::min(old_size, size)))
    sh.note(op_text(i, op, size) + ": contents not preserved");
  s = p;
  sh.slots[op.object].owner = op.thread;
  on_new_block(sh, i, op, p, size);
  first_touch(nullptr, p, size);
}

void run_op(Shared& sh, std::uint64_t i, WorkerResult& w) {
  const Trace& t = *sh.t;
  Op op = t.ops[i];
  op.object = sh.slot[i];
  const std::uint64_t size = t.size_of(i);
  void*& s = sh.slots[op.object].block;
  if (op.kind == OpKind::Free) {
    if (s != nullptr) release(sh, i, op, s, w);
    s = nullptr;
  } else if (op.kind == OpKind::Realloc) {
    resize(sh, i, op, size, w);
  } else {
    void* p = obtain(sh, op, size);
    s = p;
    if (p == nullptr) {
      ++w.failed;
      sh.note(op_text(i, op, size) + " failed");
      return;
    }
    sh.slots[op.object].owner = op.thread;
    on_new_block(sh, i, op, p, size);
    first_touch(nullptr, p, size);
  }
}

/// Spins briefly, then yields, until ready() or a stop (check mode's first broken guarantee).
template <class Ready>
void wait_until(const Shared& sh, Ready ready) {
  for (unsigned spin = 0; !ready(); ++spin) {
    if (sh.stop.load(std::memory_order_relaxed)) return;
    if (spin < 64) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }
}

/// Check mode with pacing: op i may start only when every op below i - window is done.
void paced_start(Shared& sh, std::uint64_t i) {
  std::lock_guard<std::mutex> g(sh.check_lock);
  const std::uint64_t w = sh.pacing->window();
  if (i >= w && sh.first_not_done < i - w)
    sh.note("op " + std::to_string(i) + " started before op " + std::to_string(sh.first_not_done) +
            " was done (pacing window " + std::to_string(w) + ")");
}
void paced_done(Shared& sh, std::uint64_t i) {
  std::lock_guard<std::mutex> g(sh.check_lock);
  sh.op_done[i] = 1;
  while (sh.first_not_done < sh.op_done.size() && sh.op_done[sh.first_not_done] != 0) ++sh.first_not_done;
}

void worker(Shared& sh, const std::vector<std::uint64_t>& mine, WorkerResult& w, unsigned self) {
  while (!sh.go.load(std::memory_order_acquire)) std::this_thread::yield();
  std::uint64_t low = 0;  // pacing: a lower bound of the other workers' next ops
  for (std::uint64_t i : mine) {
    if (sh.pacing) {
      sh.pacing->set_next(self, i);
      if (!sh.pacing->ready(self, i, low)) {
        ++w.paced;
        wait_until(sh, [&] { return sh.pacing->ready(self, i, low); });
      }
    }
    std::atomic<std::uint32_t>& d = sh.slots[sh.slot[i]].done;
    const std::uint32_t want = sh.ordinal[i];
    if (d.load(std::memory_order_acquire) != want) {
      ++w.waits;
      wait_until(sh, [&] { return d.load(std::memory_order_acquire) == want; });
    }
    if (sh.stop.load(std::memory_order_relaxed)) break;
    if (sh.check && sh.pacing) paced_start(sh, i);
    run_op(sh, i, w);
    if (sh.check && sh.pacing) paced_done(sh, i);
    d.store(want + 1, std::memory_order_release);
  }
  if (sh.pacing) sh.pacing->set_next(self, PacingWindow::kDone);
  w.batch.flush(hand_over);  // its last remote frees reach their owners (timed: the export's exit hook does this)
  w.seconds = std::chrono::duration<double>(Clock::now() - sh.t0).count();
}

/// Between the passes of a warm replay (no worker running): frees every block still
/// live in its owner's heap (tcache: into its allocating thread's cache) and resets
/// the slots for the next pass.
void free_leftovers(Shared& sh, std::uint32_t slots) {
  for (std::uint32_t k = 0; k < slots; ++k) {
    Shared::SlotState& st = sh.slots[k];
    if (st.block != nullptr) {
      if (ThreadCache* c = sh.cache_of(st.owner)) {
        c->deallocate(st.block);
      } else {
        Heap& h = sh.heap_of(st.owner);
        std::lock_guard<Heap> g(h);
        h.inst.deallocate(st.block);
      }
    }
    st.block = nullptr;
    st.owner = 0;
    st.done.store(0, std::memory_order_relaxed);
  }
  for (const auto& h : sh.heaps) {
    std::lock_guard<Heap> g(*h);
    h->drain_remote();
  }
  if (sh.check) sh.chk.blocks.clear();  // every block it knew is freed
  std::fill(sh.op_done.begin(), sh.op_done.end(), 0);
  sh.first_not_done = 0;
}

}  // namespace

std::uint32_t renumber_slots(const Trace& t, std::uint64_t n, unsigned threads, std::vector<std::uint32_t>& slot) {
  constexpr std::uint32_t kNone = UINT32_MAX;
  std::vector<std::uint32_t> open(t.objects, kNone);          // trace slot -> this replay's slot of its object
  std::vector<std::vector<std::uint32_t>> ended(threads);     // per thread: slots its frees ended, last on top
  std::uint32_t next = 0;
  slot.resize(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    const Op& op = t.ops[i];
    std::uint32_t& cur = open[op.object];
    const bool was_open = cur != kNone;
    if (!was_open) {
      std::vector<std::uint32_t>& mine = ended[op.thread % threads];
      if (mine.empty()) {
        cur = next++;
      } else {
        cur = mine.back();
        mine.pop_back();
      }
    }
    slot[i] = cur;
    const bool ends = op.kind == OpKind::Free || (op.kind == OpKind::Realloc && was_open && t.size_of(i) == 0);
    if (ends) {
      ended[op.thread % threads].push_back(cur);
      cur = kNone;
    }
  }
  return next;
}

ThreadedReplayResult replay_threaded(const Trace& t, const InstanceMaker& make, const ThreadedReplayOptions& opt) {
  ThreadedReplayResult r;
  const std::uint64_t n = opt.max_ops == 0 ? t.ops.size() : std::min<std::uint64_t>(opt.max_ops, t.ops.size());
  const unsigned threads = std::max<unsigned>(t.threads, 1);
  const unsigned workers = opt.threads_cap == 0 ? threads : std::min(threads, opt.threads_cap);
  r.trace_threads = threads;
  r.workers = workers;

  Shared sh;
  sh.t = &t;
  sh.model = opt.model;
  sh.check = opt.check;
  if (opt.model == ThreadModel::Tcache && opt.cache_bound == 0) {
    r.ok = false;
    r.error = "thread model tcache needs the per-thread cache's bound (design_for_model)";
    return r;
  }
  const std::size_t nheaps = opt.model == ThreadModel::Tlh ? threads : 1;
  for (std::size_t k = 0; k < nheaps; ++k) {
    auto h = std::make_unique<Heap>(&sh.nodes.pool);
    h->tlh = opt.model != ThreadModel::Lock;  // tlh and tcache take a HeapLock, as the export
    std::string err;
    h->inst = make(&err);
    if (!h->inst) {
      r.ok = false;
      r.error = "cannot create instance " + std::to_string(k) + ": " + err;
      return r;
    }
    h->exclusive = opt.model == ThreadModel::Tlh && h->inst.row().traits.concurrent_usable_size;
    sh.heaps.push_back(std::move(h));
  }
  r.instances = nheaps;
  sh.routes = sh.heaps[0]->inst.row().traits.routes;
  if (opt.model == ThreadModel::Tcache) {
    Heap& shared = *sh.heaps[0];
    sh.back = OpsBack{&shared.inst.ops(), shared.inst.state()};
    const bool concurrent = shared.inst.row().traits.concurrent_usable_size;
    sh.transfer.reset(new TransferCache);  // its slot storage is reserved by the first put
    for (unsigned k = 0; k < threads; ++k) {
      const SharedBack<OpsBack> back(&sh.back, &shared.heap_lock, concurrent, sh.transfer.get());
      sh.caches.push_back(std::make_unique<CacheSlot>(back, opt.cache_bound, opt.cache_align));
      std::string err;
      if (!sh.caches.back()->cache.init(&err)) {
        r.ok = false;
        r.error = "cannot create the cache of thread " + std::to_string(k) + ": " + err;
        return r;
      }
    }
  }

  // Each op's slot and rank among its slot's ops, and each worker's ops in trace order.
  const std::uint32_t slots = renumber_slots(t, n, threads, sh.slot);
  sh.ordinal.resize(n);
  std::vector<std::uint32_t> count(slots, 0);
  std::vector<std::vector<std::uint64_t>> mine(workers);
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint32_t s = sh.slot[i];
    if (count[s] == UINT32_MAX) {
      r.ok = false;
      r.error = "object slot " + std::to_string(t.ops[i].object) + " has more than 2^32 ops";
      return r;
    }
    sh.ordinal[i] = count[s]++;
    mine[t.ops[i].thread % workers].push_back(i);
  }
  sh.slots = std::make_unique<Shared::SlotState[]>(slots);
  if (opt.window != 0) sh.pacing = std::make_unique<PacingWindow>(workers, opt.window);
  if (sh.check && sh.pacing) sh.op_done.assign(n, 0);

  std::vector<WorkerResult> wr(workers);
  auto run_pass = [&] {
    std::vector<std::thread> pool;
    pool.reserve(workers);
    if (sh.pacing)
      for (unsigned k = 0; k < workers; ++k) sh.pacing->set_next(k, mine[k].empty() ? PacingWindow::kDone : mine[k].front());
    for (unsigned k = 0; k < workers; ++k)
      pool.emplace_back(worker, std::ref(sh), std::cref(mine[k]), std::ref(wr[k]), k);
    sh.t0 = Clock::now();
    sh.go.store(true, std::memory_order_release);
    for (std::thread& th : pool) th.join();
  };
  run_pass();
  if (opt.warm && !sh.stop.load(std::memory_order_relaxed)) {  // (check mode stops at a broken guarantee)
    free_leftovers(sh, slots);
    sh.error.clear();  // the timed pass reports its own failures
    sh.go.store(false, std::memory_order_relaxed);
    wr = std::vector<WorkerResult>(workers);
    run_pass();
  }

  for (const WorkerResult& w : wr) {
    r.seconds = std::max(r.seconds, w.seconds);
    r.worker_seconds.push_back(w.seconds);
    r.waits += w.waits;
    r.paced_waits += w.paced;
    r.frees += w.frees;
    r.remote_frees += w.remote;
    r.failed_allocs += w.failed;
  }
  std::uint64_t cache_allocs = 0, cache_frees = 0, cache_slots = 0;
  for (const auto& c : sh.caches) {
    cache_allocs += c->cache.allocs(), cache_frees += c->cache.frees();
    cache_slots += c->cache.slots_resident();  // array storage: the caches' own memory
  }
  sh.caches.clear();  // every cache gives its blocks back to the shared instance
  if (sh.transfer) {  // and the batches in transfer; its slot pages count as the caches' do
    sh.transfer->drain([&sh](void* p) { sh.heaps[0]->inst.deallocate(p); });
    cache_slots += sh.transfer->resident();
  }
  for (const auto& h : sh.heaps) {
    h->drain_remote();  // queued frees count as frees
    const AllocStats s = h->inst.stats();
    r.final_stats.footprint += s.footprint;
    r.final_stats.peak_footprint += s.peak_footprint;
    r.final_stats.live_requested += s.live_requested;
    r.final_stats.allocs += s.allocs;
    r.final_stats.frees += s.frees;
    r.final_stats.os_calls += s.os_calls;
  }
  if (opt.model == ThreadModel::Tcache) {  // the program's calls are the caches' (blocks in batches are not)
    r.final_stats.allocs = cache_allocs;
    r.final_stats.frees = cache_frees;
  }
  // The caches' pointer stacks and the queues' overflow nodes: memory the thread
  // model holds beside the instances (the export counts them the same way).
  const std::uint64_t beside = cache_slots + sh.nodes.pool.mapped_bytes();
  r.final_stats.footprint += beside;
  r.final_stats.peak_footprint += beside;
  r.peak_footprint = r.final_stats.peak_footprint;
  r.ops = n;
  r.error = sh.error;
  r.ok = r.error.empty();
  return r;
}

}  // namespace evo
