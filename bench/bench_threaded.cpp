// bench/bench_threaded.cpp — the threaded replay (evaluate/replay_threaded.hpp):
// throughput on 1 and 2 workers per design and thread model, and the cost of its
// cross-thread ordering.
//
//   bench_threaded [TRACE] [ROUNDS] [DESIGN...]
// TRACE defaults to traces/pyqueue.trace (5 threads), ROUNDS to 7, DESIGNs to a slab,
// a superblock and a block design. Each round runs every contestant once, in turn
// (machine noise hits all alike). Contestants:
//   seq              replay(): the sequential replay of the same design (baseline)
//   lock/1, lock/2   the threaded replay, lock model, on 1 and 2 workers
//   tlh/1, tlh/2     the same under tlh (one instance per trace thread)
//   tcache/1, tcache/2  the same under tcache (the design's front cache per trace
//                    thread over one shared instance; "-" for a design with front=none)
//   seq/warm, tlh/2/warm, tcache/2/warm  the same as warm replays (the second of
//                    two passes on the same instance(s) timed: ReplayOptions::warm),
//                    what `warm_replay: true` measures; their ratio to the cold ones
//                    is the share of a fresh instance's first-touch page faults
// and, once, "null": a design that hands out scratch memory and frees nothing, in
// the sequential replay and the threaded one on 1 worker: their ratio is the
// ordering's own cost per op (slot counters, the heap mutex, per-op dispatch); and
// on one worker per trace thread, unpaced and paced by the default window
// (ThreadedReplayOptions::window): their ratio is the pacing's cost.
// Printed: median ns/op (wall per op), best, and the ratio of medians to seq of the
// same design in this run (null: to the sequential null).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "core/instance.hpp"
#include "evaluate/replay.hpp"
#include "evaluate/replay_threaded.hpp"
#include "evaluate/trace.hpp"

using namespace evo;

namespace {

// The null design: 256 scratch blocks of 64 KiB handed out in turn (big enough
// for the trace's requests up to 64 KiB, larger ones get a fresh scratch area),
// frees do nothing. As cheap as an allocator can be, so what is left is the
// replay's own cost.
struct Null {
  static constexpr std::size_t kBlock = 64 << 10;
  std::vector<char> scratch = std::vector<char>(256 * kBlock);
  std::vector<std::vector<char>> big;
  std::size_t next = 0;
  void* get(std::size_t n) {
    if (n > kBlock) return big.emplace_back(n).data();
    void* p = scratch.data() + (next++ % 256) * kBlock;
    return p;
  }
};

const RegistryRow& null_row() {
  static const RegistryRow row = [] {
    RegistryRow r = rows()[0];
    r.name = "null";
    r.create = [](const AllocatorSpec&, const InstanceOptions&, std::string*) -> void* { return new Null; };
    r.ops.allocate = [](void* s, std::size_t n, std::size_t) -> void* { return static_cast<Null*>(s)->get(n); };
    r.ops.deallocate = [](void*, void*) {};
    r.ops.reallocate = [](void* s, void* p, std::size_t n) -> void* {
      if (n == 0) return nullptr;
      void* q = static_cast<Null*>(s)->get(n);
      if (p != nullptr) std::memcpy(q, p, std::min<std::size_t>(n, 64));
      return q;
    };
    r.ops.usable_size = [](const void*, const void*) -> std::size_t { return 64; };
    r.ops.stats = [](const void*, AllocStats* out) { *out = AllocStats{}; };
    r.ops.destroy = [](void* s) { delete static_cast<Null*>(s); };
    return r;
  }();
  return row;
}

Instance make_null() { return Instance(&null_row(), null_row().create({}, {}, nullptr)); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : std::string(EVOALLOC_SOURCE_DIR) + "/traces/pyqueue.trace";
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  std::vector<std::string> designs;
  for (int i = 3; i < argc; ++i) designs.emplace_back(argv[i]);
  if (designs.empty())
    designs = {"slab slab=64K align=16 source=mmap harden=off front=none retain=256K",
               "superblock classes=jemalloc sb=64K bins=fullness-list alg=bumpstack pagemap=flat cache=lazy large=16K "
               "align=16 source=mmap harden=off front=tcache:64 retain=1M",
               "block classes=fitted:32 fit=best coalesce=none split=always split_min=64 search=larger top=128K "
               "large=64K align=16 source=mmap harden=off front=tcache:16 retain=4M"};
  const Trace t = bench::read_trace_or_exit(path, "bench_threaded");
  const auto hist = size_histogram(t);
  InstanceOptions io;
  io.size_histogram = hist;
  const double ops = static_cast<double>(std::max<std::size_t>(t.ops.size(), 1));

  struct Variant {
    const char* name;
    bool threaded;
    ThreadModel model;
    unsigned cap;
    bool warm = false;
  };
  const Variant variants[] = {{"seq", false, ThreadModel::Lock, 0},
                              {"lock/1", true, ThreadModel::Lock, 1},
                              {"lock/2", true, ThreadModel::Lock, 2},
                              {"tlh/1", true, ThreadModel::Tlh, 1},
                              {"tlh/2", true, ThreadModel::Tlh, 2},
                              {"tcache/1", true, ThreadModel::Tcache, 1},
                              {"tcache/2", true, ThreadModel::Tcache, 2},
                              {"seq/warm", false, ThreadModel::Lock, 0, true},
                              {"tlh/2/warm", true, ThreadModel::Tlh, 2, true},
                              {"tcache/2/warm", true, ThreadModel::Tcache, 2, true}};
  constexpr std::size_t kV = std::size(variants);
  std::vector<std::vector<std::vector<double>>> ns(designs.size(), std::vector<std::vector<double>>(kV));
  std::vector<double> null_seq, null_thr, null_all, null_paced;
  std::uint64_t remote = 0, frees = 0;

  for (int r = -1; r < rounds; ++r) {  // one warm-up round, not counted
    for (std::size_t d = 0; d < designs.size(); ++d) {
      const InstanceMaker make = [&](std::string* err) { return Instance::create(designs[d], io, err); };
      for (std::size_t v = 0; v < kV; ++v) {
        double s;
        if (variants[v].model == ThreadModel::Tcache) {  // the design's shared part, and its cache bound
          ThreadedReplayOptions o;
          o.model = ThreadModel::Tcache;
          o.threads_cap = variants[v].cap;
          o.warm = variants[v].warm;
          const std::string shared = design_for_model(designs[d], o.model, &o, nullptr);
          if (shared.empty()) continue;  // front=none: no cache to run per thread
          ThreadedReplayResult res =
              replay_threaded(t, [&](std::string* err) { return Instance::create(shared, io, err); }, o);
          if (!res.ok) {
            std::fprintf(stderr, "bench_threaded: %s (%s): %s\n", designs[d].c_str(), variants[v].name,
                         res.error.c_str());
            return 1;
          }
          if (r >= 0) ns[d][v].push_back(res.seconds * 1e9 / ops);
          continue;
        }
        if (!variants[v].threaded) {
          std::string err;
          Instance inst = make(&err);
          ReplayOptions ro;
          ro.warm = variants[v].warm;
          ReplayResult res = inst ? replay(t, inst, ro) : ReplayResult{};
          if (!inst || !res.ok) {
            std::fprintf(stderr, "bench_threaded: %s: %s\n", designs[d].c_str(), inst ? res.error.c_str() : err.c_str());
            return 1;
          }
          s = res.seconds;
        } else {
          ThreadedReplayOptions o;
          o.model = variants[v].model;
          o.threads_cap = variants[v].cap;
          o.warm = variants[v].warm;
          ThreadedReplayResult res = replay_threaded(t, make, o);
          if (!res.ok) {
            std::fprintf(stderr, "bench_threaded: %s (%s): %s\n", designs[d].c_str(), variants[v].name,
                         res.error.c_str());
            return 1;
          }
          s = res.seconds;
          remote = res.remote_frees;
          frees = res.frees;
        }
        if (r >= 0) ns[d][v].push_back(s * 1e9 / ops);
      }
    }
    Instance n1 = make_null();
    ReplayResult a = replay(t, n1);
    ThreadedReplayOptions o;
    o.threads_cap = 1;
    ThreadedReplayResult b = replay_threaded(t, [](std::string*) { return make_null(); }, o);
    o.threads_cap = 0;
    o.window = 0;
    ThreadedReplayResult c = replay_threaded(t, [](std::string*) { return make_null(); }, o);
    o.window = kPacingWindow;
    ThreadedReplayResult p = replay_threaded(t, [](std::string*) { return make_null(); }, o);
    if (r >= 0) {
      null_seq.push_back(a.seconds * 1e9 / ops);
      null_thr.push_back(b.seconds * 1e9 / ops);
      null_all.push_back(c.seconds * 1e9 / ops);
      null_paced.push_back(p.seconds * 1e9 / ops);
    }
  }

  std::printf("bench_threaded: %s, %zu ops on %u threads, %.1f%% of frees remote; %d rounds, medians\n\n",
              path.c_str(), t.ops.size(), t.threads, frees ? 100.0 * static_cast<double>(remote) / frees : 0.0,
              rounds);
  std::printf("%-15s %12s %12s %10s\n", "variant", "ns/op med", "ns/op best", "vs seq");
  for (std::size_t d = 0; d < designs.size(); ++d) {
    std::printf("%s\n", designs[d].c_str());
    const double base = median(ns[d][0]);
    for (std::size_t v = 0; v < kV; ++v) {
      if (ns[d][v].empty()) {
        std::printf("  %-13s %12s %12s %10s\n", variants[v].name, "-", "-", "-");
        continue;
      }
      const double m = median(ns[d][v]);
      std::printf("  %-13s %12.2f %12.2f %10.2f\n", variants[v].name, m,
                  *std::min_element(ns[d][v].begin(), ns[d][v].end()), m / base);
    }
  }
  const double ns0 = median(null_seq), ns1 = median(null_thr);
  std::printf("\nnull design: sequential %.2f ns/op, threaded on 1 worker %.2f ns/op: ordering cost %.2f ns/op (%.2fx)\n",
              ns0, ns1, ns1 - ns0, ns1 / ns0);
  const double na = median(null_all), np = median(null_paced);
  std::printf("null design on %u workers: unpaced %.2f ns/op, paced by %llu ops %.2f ns/op: pacing cost %.2f ns/op (%.2fx)\n",
              t.threads, na, static_cast<unsigned long long>(kPacingWindow), np, np - na, np / na);
  return 0;
}
