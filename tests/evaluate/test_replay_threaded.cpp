// Tests of evaluate/replay_threaded (and `evoalloc replay --threaded`): a
// multi-threaded trace replays on its threads under every registry row with the
// shadow check on, in all three thread models; remote frees and reallocs are
// counted from the trace; a one-thread trace gives replay()'s footprint; tcache on
// one thread is the lock model's front cache, and its caches give every block back;
// check mode catches an allocator that hands one block out twice; the shipped
// threaded traces (pyqueue, fd, plthreads) replay in all three models with every
// free and remote free the trace holds.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/instance.hpp"
#include "core/layers/front.hpp"
#include "core/layers/transfer.hpp"
#include "evaluate/replay.hpp"
#include "evaluate/replay_threaded.hpp"
#include "evaluate/trace.hpp"
#include "tests/common/cli_helpers.hpp"

using namespace evo;

namespace {

/// What a threaded trace was built to contain.
struct Expect {
  std::uint64_t frees = 0;   // frees and reallocs of a live block
  std::uint64_t remote = 0;  // of those, on a block another thread allocated
};

/// Object ids as the recorder hands them out: one pool for every thread, the most
/// recently freed id first.
struct IdPool {
  std::uint32_t next = 0;
  std::vector<std::uint32_t> freed;
  std::uint32_t take() {
    if (freed.empty()) return next++;
    const std::uint32_t k = freed.back();
    freed.pop_back();
    return k;
  }
  void give(std::uint32_t k) { freed.push_back(k); }
};

/// Four threads: 0 produces blocks that 1 frees and 2 reallocs (remote), 3 churns
/// on its own blocks, and every thread frees some of its own. Deterministic (LCG).
Trace producer_consumer(std::uint32_t rounds, Expect* e) {
  Trace t;
  for (std::uint64_t k = 0; k <= 10; ++k) t.sites.push_back(CallSite{"pc", k * 16, "site" + std::to_string(k)});
  std::uint64_t x = 99;
  auto rnd = [&](std::uint64_t m) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return (x >> 33) % m;
  };
  IdPool ids;
  auto id = [&] { return ids.take(); };
  std::vector<std::uint32_t> own3;
  for (std::uint32_t r = 0; r < rounds; ++r) {
    const std::uint32_t a = id(), b = id(), c = id();
    t.push(OpKind::Malloc, a, 16 + rnd(300), 0, 0, 1);
    t.push(OpKind::Calloc, b, 8 + rnd(3000), 0, 0, 2);
    t.push(OpKind::Memalign, c, 40 + rnd(100), 6, 0, 3);
    t.push(OpKind::Free, a, 0, 0, 1, 4);  // remote free
    ids.give(a);
    t.push(OpKind::Realloc, b, 100 + rnd(5000), 0, 2, 5);  // remote realloc: b now belongs to 2
    t.push(OpKind::Free, c, 0, 0, 0, 6);  // local free
    ids.give(c);
    e->frees += 3;
    e->remote += 2;
    if (r % 3 == 0) {
      t.push(OpKind::Free, b, 0, 0, 2, 7);  // local to 2 since its realloc
      ids.give(b);
      ++e->frees;
    } else {
      t.push(OpKind::Realloc, b, 0, 0, 1, 8);  // realloc(p, 0) by 1: a remote free
      ids.give(b);
      ++e->frees;
      ++e->remote;
    }
    const std::uint32_t d = id();
    t.push(OpKind::Malloc, d, 1 + rnd(70000), 0, 3, 9);
    own3.push_back(d);
    if (own3.size() > 8) {
      std::uint32_t k = own3[rnd(own3.size())];
      own3.erase(std::find(own3.begin(), own3.end(), k));
      t.push(OpKind::Free, k, 0, 0, 3, 10);
      ids.give(k);
      ++e->frees;
    }
  }
  t.finish();
  return t;
}

InstanceMaker maker(const std::string& design) {
  return [design](std::string* err) { return Instance::create(design, {}, err); };
}

/// The maker of `design` under model m (tcache: the shared part), filling o's tcache fields.
InstanceMaker maker(const std::string& design, ThreadModel m, ThreadedReplayOptions* o) {
  std::string err;
  const std::string d = design_for_model(design, m, o, &err);
  REQUIRE_MESSAGE(!d.empty(), err);
  return maker(d);
}

}  // namespace

// Rounds of producer_consumer for the every-row case (a round is ~10 ops).
#ifdef EVOALLOC_SANITIZE
constexpr std::uint32_t kRowRounds = 40;
#else
constexpr std::uint32_t kRowRounds = 120;
#endif

TEST_CASE("threaded replay: every registry row, all three models, shadow-checked") {
  Expect e;
  const Trace t = producer_consumer(kRowRounds, &e);
  REQUIRE(t.threads == 4);
  for (const RegistryRow& row : rows()) {
    for (ThreadModel m : {ThreadModel::Lock, ThreadModel::Tlh, ThreadModel::Tcache}) {
      // tcache runs a front cache per thread: the row with front=tcache:16 (a small
      // bound: refills and flushes, the batches under the shared lock, are frequent),
      // the adaptive tcache:64:grow (limits moving under load), or either as pointer
      // stacks (:array), in turn over the rows.
      std::string design = row.name;
      if (m == ThreadModel::Tcache) {
        const std::size_t at = design.rfind("front=none");  // the design's own (last)
        REQUIRE(at != std::string::npos);
        const char* kFronts[] = {"front=tcache:16", "front=tcache:64:grow", "front=tcache:64:array",
                                 "front=tcache:256:grow:array"};
        design.replace(at, 10, kFronts[row.id % 4]);
      }
      const std::string model = thread_model_name(m);
      CAPTURE(design);
      CAPTURE(model);
      ThreadedReplayOptions o;
      o.model = m;
      o.check = true;
      ThreadedReplayResult r = replay_threaded(t, maker(design, m, &o), o);
      REQUIRE_MESSAGE(r.ok, r.error);
      CHECK(r.ops == t.ops.size());
      CHECK(r.workers == 4);
      CHECK(r.instances == (m == ThreadModel::Tlh ? 4u : 1u));
      if (m == ThreadModel::Tcache) {  // the calls, counted by the caches
        CHECK(r.final_stats.frees > 0);
        CHECK(r.final_stats.allocs >= r.final_stats.frees);
      }
      CHECK(r.frees == e.frees);
      CHECK(r.remote_frees == e.remote);
      CHECK(r.failed_allocs == 0);
    }
  }
}

TEST_CASE("threaded replay: one worker runs the trace in order; remote frees still count by trace thread") {
  Expect e;
  const Trace t = producer_consumer(200, &e);
  const std::string design = "slab slab=16K align=16 source=mmap harden=off front=none retain=0";
  ThreadedReplayOptions o;
  o.threads_cap = 1;
  ThreadedReplayResult one = replay_threaded(t, maker(design), o);
  REQUIRE_MESSAGE(one.ok, one.error);
  CHECK(one.workers == 1);
  CHECK(one.waits == 0);  // in trace order nothing ever waits
  CHECK(one.remote_frees == e.remote);
  // Lock model on one worker = the single-threaded replay: same peak footprint.
  std::string err;
  Instance inst = Instance::create(design, {}, &err);
  REQUIRE(inst);
  ReplayResult seq = replay(t, inst);
  REQUIRE(seq.ok);
  CHECK(one.peak_footprint == seq.peak_footprint);
  CHECK(one.final_stats.allocs == seq.final_stats.allocs);
  CHECK(one.final_stats.frees == seq.final_stats.frees);

  // Two workers for four trace threads: threads 0 and 2 share one, 1 and 3 the other.
  o.threads_cap = 2;
  o.check = true;
  ThreadedReplayResult two = replay_threaded(t, maker(design), o);
  REQUIRE_MESSAGE(two.ok, two.error);
  CHECK(two.workers == 2);
  CHECK(two.worker_seconds.size() == 2);
  CHECK(two.remote_frees == e.remote);
}

TEST_CASE("threaded replay: tlh remote frees past the owner's ring wait in overflow nodes, then are reused") {
  // Thread 0 allocates kN blocks, thread 1 frees them all (remote frees), then thread
  // 0 allocates kN more. On one worker, in trace order, all kN frees are queued
  // before thread 0 allocates again: 157 batches for a ring of 64 (core/remote_queue.hpp).
  // Its second round drains them and reuses their memory; without the frees it needs
  // twice the memory. Under an owner that takes no lock (slab: its usable_size runs
  // beside other calls) and one that does (block).
  constexpr std::uint32_t kN = 5000;
  auto make = [](bool frees) {
    Trace t;
    for (std::uint32_t i = 0; i < kN; ++i) t.push(OpKind::Malloc, i, 16 + (i * 37) % 300, 0, 0);
    if (frees)
      for (std::uint32_t i = 0; i < kN; ++i) t.push(OpKind::Free, i, 0, 0, 1);
    else
      t.push(OpKind::Malloc, kN, 16, 0, 1);  // (thread 1 exists either way)
    for (std::uint32_t i = 0; i < kN; ++i) t.push(OpKind::Malloc, kN + 1 + i, 16 + (i * 37) % 300, 0, 0);
    t.finish();
    return t;
  };
  const Trace handed = make(true), kept = make(false);
  for (const char* design : {"slab slab=16K align=16 source=mmap harden=off front=none retain=0",
                             "block fit=best coalesce=immediate"}) {
    CAPTURE(design);
    ThreadedReplayOptions o;
    o.model = ThreadModel::Tlh;
    o.threads_cap = 1;
    o.check = true;
    ThreadedReplayResult r = replay_threaded(handed, maker(design), o);
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(r.remote_frees == kN);
    CHECK(r.final_stats.allocs == 2 * kN);
    CHECK(r.final_stats.frees == kN);  // every queued block reached its owner
    ThreadedReplayResult k = replay_threaded(kept, maker(design), o);
    REQUIRE_MESSAGE(k.ok, k.error);
    CAPTURE(r.peak_footprint);
    CAPTURE(k.peak_footprint);
    CHECK(r.peak_footprint * 4 < k.peak_footprint * 3);  // the freed blocks were reused
  }
}

TEST_CASE("threaded replay: a single-threaded trace gives replay()'s footprint") {
  Trace t;
  for (std::uint32_t i = 0; i < 2000; ++i) t.push(OpKind::Malloc, i, 24 + (i * 37) % 900);
  for (std::uint32_t i = 0; i < 2000; i += 2) t.push(OpKind::Free, i, 0);
  for (std::uint32_t i = 0; i < 2000; i += 2) t.push(OpKind::Malloc, i, 500);
  t.finish();
  const std::string design = "superblock classes=pow2 sb=64K bins=fullness-list alg=bumpstack pagemap=flat "
                             "cache=lazy large=16K align=16 source=mmap harden=off front=none retain=0";
  std::string err;
  Instance inst = Instance::create(design, {}, &err);
  REQUIRE_MESSAGE(inst, err);
  ReplayResult seq = replay(t, inst);
  REQUIRE(seq.ok);
  for (ThreadModel m : {ThreadModel::Lock, ThreadModel::Tlh}) {
    ThreadedReplayOptions o;
    o.model = m;
    ThreadedReplayResult r = replay_threaded(t, maker(design), o);
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(r.workers == 1);
    CHECK(r.remote_frees == 0);
    CHECK(r.peak_footprint == seq.peak_footprint);
  }
}

TEST_CASE("threaded replay: a warm replay times a second pass on the same heaps, the first's leftovers freed") {
  Expect e;
  const Trace t = producer_consumer(300, &e);  // thread 3 ends with blocks still live
  const std::string design = "slab slab=16K align=16 source=mmap harden=off front=tcache:16 retain=1M";
  for (ThreadModel m : {ThreadModel::Lock, ThreadModel::Tlh, ThreadModel::Tcache}) {
    const std::string model = thread_model_name(m);
    CAPTURE(model);
    ThreadedReplayOptions o;
    o.model = m;
    o.check = true;  // the second pass is shadow-checked too: no block of the first is handed out twice
    const ThreadedReplayResult cold = replay_threaded(t, maker(design, m, &o), o);
    REQUIRE_MESSAGE(cold.ok, cold.error);
    const std::uint64_t left = cold.final_stats.allocs - cold.final_stats.frees;
    REQUIRE(left > 0);
    o.warm = true;
    const ThreadedReplayResult warm = replay_threaded(t, maker(design, m, &o), o);
    REQUIRE_MESSAGE(warm.ok, warm.error);
    CHECK(warm.ops == t.ops.size());
    CHECK(warm.frees == e.frees);  // the timed pass's own counts
    CHECK(warm.remote_frees == e.remote);
    CHECK(warm.failed_allocs == 0);
    // Both passes ran on the same heaps, the first pass's live blocks freed between them.
    CHECK(warm.final_stats.allocs == 2 * cold.final_stats.allocs);
    CHECK(warm.final_stats.frees == 2 * cold.final_stats.frees + left);
    CHECK(warm.final_stats.live_requested == cold.final_stats.live_requested);
  }
}

TEST_CASE("threaded replay: tcache is the front cache per thread over one shared instance") {
  // On a one-thread trace, tcache (one cache over the shared instance) makes exactly
  // the back-end calls the lock model's front=tcache:B instance makes: same peak, but
  // for the transfer cache's slot pages (here under 512 pointers a class: one page
  // for each class its flushes reached).
  Trace seq;
  for (std::uint32_t i = 0; i < 3000; ++i) seq.push(OpKind::Malloc, i, 16 + (i * 37) % 1500);
  for (std::uint32_t i = 0; i < 3000; i += 3) seq.push(OpKind::Free, i, 0);
  for (std::uint32_t i = 0; i < 3000; i += 3) seq.push(OpKind::Malloc, i, 48 + (i * 11) % 400);
  for (std::uint32_t i = 0; i < 3000; ++i) seq.push(OpKind::Free, i, 0);
  seq.finish();
  const std::string design = "superblock classes=jemalloc sb=64K bins=fullness-list alg=bumpstack pagemap=flat "
                             "cache=lazy large=16K align=16 source=mmap harden=off front=tcache:64 retain=0";
  ThreadedReplayOptions lock_o, tc_o;
  tc_o.model = ThreadModel::Tcache;
  ThreadedReplayResult a = replay_threaded(seq, maker(design, ThreadModel::Lock, &lock_o), lock_o);
  ThreadedReplayResult b = replay_threaded(seq, maker(design, ThreadModel::Tcache, &tc_o), tc_o);
  REQUIRE_MESSAGE(a.ok, a.error);
  REQUIRE_MESSAGE(b.ok, b.error);
  CHECK(tc_o.cache_bound == 64);
  REQUIRE(b.peak_footprint >= a.peak_footprint);
  CHECK((b.peak_footprint - a.peak_footprint) % 4096 == 0);
  CHECK(b.peak_footprint - a.peak_footprint <= TransferCache::kClasses * 4096);
  CHECK(b.final_stats.allocs == a.final_stats.allocs);
  CHECK(b.final_stats.frees == a.final_stats.frees);

  // Four threads with remote frees: every block comes back to the shared instance
  // (each cache is flushed when the replay ends), none is lost or freed twice.
  Expect e;
  const Trace t = producer_consumer(300, &e);
  ThreadedReplayOptions o;
  o.model = ThreadModel::Tcache;
  o.check = true;
  // The trace leaves thread 3's last 8 blocks live; a replay that frees them all:
  Trace all = t;
  std::vector<bool> live(t.objects, false);
  for (const Op& op : t.ops)
    live[op.object] = op.kind != OpKind::Free && !(op.kind == OpKind::Realloc && t.size_of(op) == 0);
  for (std::uint32_t k = 0; k < t.objects; ++k)
    if (live[k]) all.push(OpKind::Free, k, 0, 0, 3, 10);
  all.finish();
  ThreadedReplayResult r = replay_threaded(all, maker(design, ThreadModel::Tcache, &o), o);
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.remote_frees == e.remote);
  CHECK(r.final_stats.live_requested == 0);  // the caches gave every block back
  CHECK(r.final_stats.allocs == r.final_stats.frees);
  // The caches count the calls as the lock model's one cache does.
  ThreadedReplayOptions lo;
  ThreadedReplayResult l = replay_threaded(all, maker(design, ThreadModel::Lock, &lo), lo);
  REQUIRE_MESSAGE(l.ok, l.error);
  CHECK(r.final_stats.allocs == l.final_stats.allocs);
  CHECK(r.final_stats.frees == l.final_stats.frees);

  // A design without a front cache cannot run under tcache.
  std::string err;
  ThreadedReplayOptions none;
  CHECK(design_for_model("slab slab=16K front=none", ThreadModel::Tcache, &none, &err).empty());
  CHECK(err.find("front=tcache:B") != std::string::npos);
  // Nor one whose hardening layer would sit under the caches, blind to double frees.
  CHECK(design_for_model("slab slab=16K harden=checked front=tcache:64", ThreadModel::Tcache, &none, &err).empty());
  CHECK(err.find("harden=checked") != std::string::npos);
  CHECK_FALSE(design_for_model("slab slab=16K harden=canary front=tcache:64", ThreadModel::Tcache, &none, &err).empty());
  ThreadedReplayOptions no_bound;
  no_bound.model = ThreadModel::Tcache;
  CHECK_FALSE(replay_threaded(t, maker(design), no_bound).ok);
}

TEST_CASE("threaded replay: slots are renumbered per thread, so only a real dependency waits") {
  // Recorder-style ids: one pool shared by all threads, the last freed id first.
  Trace t;
  t.sites.push_back(CallSite{"s", 0, "s"});
  t.push(OpKind::Malloc, 0, 32, 0, 0, 0);   // 0: thread 0's object in trace slot 0
  t.push(OpKind::Free, 0, 0, 0, 0, 0);      // 1: ends it
  t.push(OpKind::Malloc, 0, 48, 0, 1, 0);   // 2: thread 1 reuses trace slot 0
  t.push(OpKind::Realloc, 1, 0, 0, 1, 0);   // 3: realloc(NULL, 0) on slot 1: an allocation, not an end
  t.push(OpKind::Free, 1, 0, 0, 0, 0);      // 4: thread 0 frees it (remote): same slot as op 3
  t.push(OpKind::Malloc, 1, 64, 0, 0, 0);   // 5: thread 0 takes the slot its own free ended
  t.push(OpKind::Realloc, 0, 0, 0, 1, 0);   // 6: realloc(p, 0): ends op 2's object
  t.push(OpKind::Malloc, 2, 16, 0, 1, 0);   // 7: thread 1 takes that slot back
  t.finish();
  std::vector<std::uint32_t> slot;
  const std::uint32_t n = renumber_slots(t, t.ops.size(), t.threads, slot);
  REQUIRE(slot.size() == 8);
  CHECK(slot[1] == slot[0]);
  CHECK(slot[2] != slot[0]);  // not ordered after thread 0's free
  CHECK(slot[4] == slot[3]);  // the remote free keeps its object's slot
  CHECK(slot[5] == slot[4]);  // thread 0 ended it: thread 0 reuses it
  CHECK(slot[6] == slot[2]);
  CHECK(slot[7] == slot[6]);
  CHECK(n == 3);

  // Two threads that never touch each other's objects, with ids interleaved through
  // one pool: no op ever waits, whatever the scheduling.
  Trace u;
  u.sites.push_back(CallSite{"s", 0, "s"});
  IdPool pool;
  std::vector<std::uint32_t> live[2];
  for (std::uint32_t k = 0; k < 20000; ++k) {
    const std::uint16_t th = static_cast<std::uint16_t>(k % 2);
    if (live[th].size() < 4) {
      const std::uint32_t id = pool.take();
      u.push(OpKind::Malloc, id, 16 + k % 200, 0, th, 0);
      live[th].push_back(id);
    } else {
      const std::uint32_t id = live[th][k % 4];
      live[th].erase(live[th].begin() + k % 4);
      u.push(OpKind::Free, id, 0, 0, th, 0);
      pool.give(id);
    }
  }
  u.finish();
  REQUIRE(u.threads == 2);
  ThreadedReplayOptions o;
  o.check = true;
  const ThreadedReplayResult r = replay_threaded(u, maker("slab slab=64K"), o);
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.waits == 0);
  CHECK(r.remote_frees == 0);
  CHECK(r.frees > 9000);
}

TEST_CASE("threaded replay: check mode catches a block handed out twice") {
  // A row that, every 50th allocation, returns its previous block again while
  // that block is still live and large enough (the design never sees the second use).
  static const RegistryRow* base = &rows()[0];
  static RegistryRow twice = *base;
  static void* last = nullptr;
  static int calls = 0;
  twice.ops.allocate = [](void* s, std::size_t n, std::size_t a) -> void* {
    if (++calls % 50 == 0 && last != nullptr && base->ops.usable_size(s, last) >= n) return last;
    return last = base->ops.allocate(s, n, a);
  };
  twice.ops.deallocate = [](void* s, void* p) {
    if (p == last) last = nullptr;
    base->ops.deallocate(s, p);
  };
  twice.ops.reallocate = [](void* s, void* p, std::size_t n) -> void* {
    if (p == last) last = nullptr;
    return base->ops.reallocate(s, p, n);
  };
  Expect e;
  const Trace t = producer_consumer(200, &e);
  ThreadedReplayOptions o;
  o.check = true;
  o.threads_cap = 1;  // one worker: the double use shows deterministically
  ThreadedReplayResult r = replay_threaded(
      t,
      [](std::string* err) {
        AllocatorSpec spec;
        if (!parse_spec(base->name, spec, err)) return Instance();
        return Instance(&twice, base->create(spec, {}, err));
      },
      o);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("overlaps a live block") != std::string::npos);
}

TEST_CASE("evoalloc replay --threaded: output, JSON and usage errors") {
  Expect e;
  const Trace t = producer_consumer(150, &e);
  const std::string bin = std::string(EVOALLOC_BINARY_DIR) + "/app/evoalloc";
  namespace fs = std::filesystem;
  fs::path tr = test::scratch_file("replay_threaded", "pc.trace");
  write_trace(tr.string(), t);
  const std::string a = " -a " + test::quote("slab slab=64K align=16 source=mmap harden=off front=none retain=0");
  fs::path log = test::scratch_file("replay_threaded", "cmd.log");
  std::string out;
  REQUIRE(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a + " --threaded --model tlh -k 2",
                           log, &out) == 0);
  CHECK(out.find("model tlh") != std::string::npos);
  CHECK(out.find("4 trace threads on 4 workers") != std::string::npos);
  CHECK(out.find("remote " + std::to_string(e.remote) + " (") != std::string::npos);
  REQUIRE(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a + " --threaded --json -k 1",
                           log, &out) == 0);
  CHECK(out.find("\"remote_frees\":" + std::to_string(e.remote) + ",") != std::string::npos);
  CHECK(out.find("\"model\":\"lock\"") != std::string::npos);
  CHECK(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + " --threaded", log, &out) == 2);
  CHECK(out.find("--threaded needs --allocator") != std::string::npos);
  CHECK(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a + " --threaded --model spin", log,
                         &out) == 2);
  CHECK(out.find("not lock, tlh or tcache") != std::string::npos);
  REQUIRE(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) +
                               " -a 'slab slab=64K front=tcache:64' --threaded --model tcache --check -k 1",
                           log, &out) == 0);
  CHECK(out.find("model tcache") != std::string::npos);
  CHECK(out.find("remote " + std::to_string(e.remote) + " (") != std::string::npos);
  // Without --model the design's own threads= key is the model; --model overrides it.
  const std::string own = " -a 'slab slab=64K front=tcache:64 threads=tcache'";
  REQUIRE(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + own + " --threaded -k 1", log,
                           &out) == 0);
  CHECK(out.find("model tcache") != std::string::npos);
  REQUIRE(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + own +
                               " --threaded --model tlh -k 1",
                           log, &out) == 0);
  CHECK(out.find("model tlh") != std::string::npos);
  CHECK(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a + " --threaded --model tcache",
                         log, &out) == 2);
  CHECK(out.find("needs front=tcache:B") != std::string::npos);
  CHECK(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a + " --model tlh", log, &out) == 2);
  // --warm: the second pass on the same heaps is timed; the JSON says so.
  REQUIRE(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a +
                               " --threaded --model tlh --warm --check --json -k 1",
                           log, &out) == 0);
  CHECK(out.find("\"warm\":true") != std::string::npos);
  CHECK(out.find("\"remote_frees\":" + std::to_string(e.remote) + ",") != std::string::npos);
  REQUIRE(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a + " --warm -k 1", log, &out) == 0);
  CHECK(out.find("ops (warm)") != std::string::npos);
  CHECK(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a + " --warm --check", log, &out) == 2);
  CHECK(out.find("--warm times a replay") != std::string::npos);
  // Pacing: on by default (kPacingWindow ops), --window sets it, 0 turns it off; only with --threaded.
  REQUIRE(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a + " --threaded --json -k 1", log,
                           &out) == 0);
  CHECK(out.find("\"window\":" + std::to_string(kPacingWindow) + ",") != std::string::npos);
  CHECK(out.find("\"paced_waits\":") != std::string::npos);
  REQUIRE(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a + " --threaded --window 8 --check -k 1",
                           log, &out) == 0);
  CHECK(out.find("paced by 8 ops") != std::string::npos);
  CHECK(out.find("remote " + std::to_string(e.remote) + " (") != std::string::npos);
  REQUIRE(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a + " --threaded --window 0 -k 1",
                           log, &out) == 0);
  CHECK(out.find("unpaced") != std::string::npos);
  CHECK(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a + " --window 8", log, &out) == 2);
  CHECK(out.find("--window need --threaded") != std::string::npos);
  CHECK(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a + " --threaded --window -3", log,
                         &out) == 2);
  CHECK(out.find("'--window' is invalid") != std::string::npos);
  CHECK(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a + " --threaded --threads-cap -3",
                         log, &out) == 2);
  CHECK(out.find("'--threads-cap' is invalid") != std::string::npos);
  CHECK(test::run_logged(test::quote(bin) + " replay " + test::quote(tr.string()) + a +
                             " --threaded --threads-cap 4294967296", log, &out) == 2);
  CHECK(out.find("--threads-cap 4294967296: at most 4294967295") != std::string::npos);
}

TEST_CASE("pacing window: a worker starts op g only when every other worker's next op is at least g - W") {
  PacingWindow p(3, 100);
  p.set_next(0, 10);
  p.set_next(1, 150);
  p.set_next(2, PacingWindow::kDone);  // finished: holds nobody back
  std::uint64_t low = 0;
  CHECK(p.ready(1, 110, low));         // floor 10: worker 0's next op is 10
  CHECK(p.ready(1, 111, low) == false);  // floor 11: op 10 is not done
  CHECK(low == 10);                    // what was read
  CHECK(p.ready(0, 10, low = 0));      // the earliest op is never held
  p.set_next(0, 60);
  CHECK(p.ready(1, 160, low));         // the bound is read again: 60
  CHECK(low == 60);
  CHECK(p.ready(1, 99, low = 0));      // ops below the window: floor 0
  p.set_next(0, PacingWindow::kDone);
  CHECK(p.ready(1, 1'000'000, low));
  // One worker (threads_cap = 1): only its own order.
  PacingWindow one(1, 1);
  one.set_next(0, 500);
  CHECK(one.ready(0, 500, low = 0));
}

TEST_CASE("threaded replay: paced, no op starts before every op a window below it is done (check mode verifies)") {
  // Thread 1's 4000 ops all come after thread 0's 4000 in the trace, on objects of
  // their own: unpaced, thread 1 starts at once; paced by 64, it may start its op g
  // only when thread 0 has done its ops below g - 64. Check mode asserts that for
  // every op, and the result is the same replay either way.
  Trace t;
  t.sites.push_back(CallSite{"s", 0, "s"});
  for (std::uint16_t th = 0; th < 2; ++th)
    for (std::uint32_t k = 0; k < 2000; ++k) {
      const std::uint32_t id = th * 2000 + k;
      t.push(OpKind::Malloc, id, 16 + k % 300, 0, th, 0);
      t.push(OpKind::Free, id, 0, 0, th, 0);
    }
  t.finish();
  REQUIRE(t.threads == 2);
  for (ThreadModel m : {ThreadModel::Lock, ThreadModel::Tlh, ThreadModel::Tcache}) {
    for (std::uint64_t w : {std::uint64_t{0}, std::uint64_t{64}, std::uint64_t{1}}) {
      CAPTURE(thread_model_name(m));
      CAPTURE(w);
      ThreadedReplayOptions o;
      o.check = true;
      o.window = w;
      o.model = m;
      const ThreadedReplayResult r =
          replay_threaded(t, maker("slab slab=64K align=16 source=mmap harden=off front=tcache:64 retain=0", m, &o), o);
      REQUIRE_MESSAGE(r.ok, r.error);
      CHECK(r.frees == 4000);
      CHECK(r.remote_frees == 0);
      CHECK(r.waits == 0);  // no object is shared: only the window waits
      if (w == 0) CHECK(r.paced_waits == 0);
    }
  }
}

namespace {

/// Frees (and reallocs) of a live block in the first n ops of t, and how many of them
/// were on another thread than the block's last (re)allocation: counted from the
/// trace alone, for the replay to match.
Expect count_frees(const Trace& t, std::uint64_t n) {
  Expect e;
  std::vector<int> owner(t.objects, -1);  // -1: not live
  for (std::uint64_t i = 0; i < std::min<std::uint64_t>(n, t.ops.size()); ++i) {
    const Op& op = t.ops[i];
    int& o = owner[op.object];
    if (op.kind == OpKind::Free || op.kind == OpKind::Realloc) {
      if (o >= 0) {
        ++e.frees;
        e.remote += o != op.thread;
      }
      o = op.kind == OpKind::Realloc && t.size_of(op) != 0 ? op.thread : -1;
    } else {
      o = op.thread;
    }
  }
  return e;
}

}  // namespace

TEST_CASE("threaded replay: the shipped threaded traces replay on their threads, shadow-checked, in all three models") {
#ifdef EVOALLOC_SANITIZE
  constexpr std::uint64_t kOps = 60000;
#else
  constexpr std::uint64_t kOps = 0;  // all
#endif
  const std::string src = EVOALLOC_SOURCE_DIR;
  for (const char* name : {"pyqueue.trace", "fd.trace", "plthreads.trace"}) {
    const Trace t = read_trace(src + "/traces/" + name);
    REQUIRE(t.threads >= 4);
    const std::uint64_t n = kOps == 0 ? t.ops.size() : std::min<std::uint64_t>(kOps, t.ops.size());
    const Expect e = count_frees(t, n);
    CHECK(e.remote > 0);  // threads free each other's blocks: what the threaded replay is for
    for (ThreadModel m : {ThreadModel::Lock, ThreadModel::Tlh, ThreadModel::Tcache}) {
      const std::string design = std::string("slab slab=16K align=16 source=mmap harden=off front=") +
                                 (m == ThreadModel::Tcache ? "tcache:256:grow:array" : "none") + " retain=1M";
      CAPTURE(name);
      CAPTURE(design);
      ThreadedReplayOptions o;
      o.model = m;
      o.check = true;
      o.max_ops = kOps;
      const ThreadedReplayResult r = replay_threaded(t, maker(design, m, &o), o);
      REQUIRE_MESSAGE(r.ok, r.error);
      CHECK(r.ops == n);
      CHECK(r.trace_threads == t.threads);
      CHECK(r.frees == e.frees);
      CHECK(r.remote_frees == e.remote);
      CHECK(r.failed_allocs == 0);
    }
  }
}
