// evaluate/metrics.cpp — evaluate_design: the probed metrics replay and measured speed.
//
// The probed replay below mirrors replay()'s per-op semantics (evaluate/replay.hpp)
// but adds what the metrics need and replay() must not pay for in its timed loop:
// per-slot requested/usable sizes (peak live usable bytes, peak live requested
// bytes over the replayed prefix), a deadline checked every kDeadlineStride ops,
// and an early stop at the first failed allocation (the design is infeasible; the
// fraction replayed is kept). Measured speed uses replay() itself (no probe).
// Both take the process's CpuGate (evaluate/cpu_gate.hpp): a threaded replay
// exclusively, everything else shared, the probed replay in slices of
// kDeadlineStride ops, so that a threaded replay is never timed beside another
// design's evaluation.
#include "evaluate/metrics.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "core/instance.hpp"
#include "core/route/router.hpp"
#include "core/spec.hpp"
#include "evaluate/cpu_gate.hpp"
#include "evaluate/replay.hpp"
#include "evaluate/trace.hpp"

namespace evo {

const char* speed_mode_name(SpeedMode m) { return m == SpeedMode::Measured ? "measured" : "modeled"; }

bool parse_speed_mode(std::string_view s, SpeedMode& out) {
  if (s == "modeled") {
    out = SpeedMode::Modeled;
    return true;
  }
  if (s == "measured") {
    out = SpeedMode::Measured;
    return true;
  }
  return false;
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kDeadlineStride = 4096;

struct ProbeCtx {
  CacheModel* model;
  Source source;
  bool muted = false;  // set around the metrics' own usable_size calls (not the program's)
};

void on_touch(void* ctx, const void* addr, std::uint32_t bytes) {
  auto* c = static_cast<ProbeCtx*>(ctx);
  if (!c->muted) c->model->access(addr, bytes, c->source);
}

std::uint64_t op_limit(const Trace& t, std::uint64_t max_ops) {
  return max_ops == 0 ? t.ops.size() : std::min<std::uint64_t>(max_ops, t.ops.size());
}

InstanceOptions instance_options(const EvalOptions& opt, std::span<const SizeCount> hist, const Probe* probe,
                                 SourceBacking backing) {
  InstanceOptions io;
  io.probe = probe;
  io.backing = backing;
  io.memory_limit = static_cast<std::size_t>(opt.memory_limit);
  io.size_histogram = hist;
  io.sites = opt.sites;
  return io;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

Metrics evaluate_design(std::string_view sentence, const Trace& trace, std::span<const SizeCount> hist,
                        const EvalOptions& opt) {
  const auto t_start = Clock::now();
  Metrics m;
  CacheModel model(opt.cache);
  ProbeCtx meta_ctx{&model, Source::Meta, false};
  ProbeCtx prog_ctx{&model, Source::Program, false};
  Probe meta_probe{&on_touch, &meta_ctx};
  Probe prog_probe{&on_touch, &prog_ctx};

  std::string err;
  Instance inst = Instance::create(sentence, instance_options(opt, hist, &meta_probe, opt.backing), &err);
  if (!inst) {
    m.reason = "invalid design: " + one_line(err);
    m.eval_seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
    return m;
  }
  m.valid = true;

  // ---- the probed replay ----
  const std::uint64_t n = op_limit(trace, opt.max_ops);
  std::vector<void*> slot(trace.objects, nullptr);
  std::vector<std::uint64_t> req(trace.objects, 0), usable(trace.objects, 0);
  std::uint64_t live_req = 0, live_usable = 0, peak_req = 0, peak_usable = 0;
  const bool big = !trace.big_sizes.empty();
  auto deadline =
      opt.time_limit_s > 0 ? t_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.time_limit_s))
                           : Clock::time_point::max();
  std::uint64_t i = 0;
  auto release = [&](std::uint32_t obj) {
    live_req -= req[obj];
    live_usable -= usable[obj];
    req[obj] = usable[obj] = 0;
  };
  auto acquire = [&](std::uint32_t obj, void* p, std::uint64_t size) {
    slot[obj] = p;
    req[obj] = size;
    meta_ctx.muted = true;  // bookkeeping of the metric, not a call the program makes
    usable[obj] = inst.usable_size(p);
    meta_ctx.muted = false;
    live_req += size;
    live_usable += usable[obj];
    peak_req = std::max(peak_req, live_req);
    peak_usable = std::max(peak_usable, live_usable);
    if (size != 0) {
      *static_cast<volatile char*>(p) = 1;
      touch(&prog_probe, p, size < 64 ? size : 64);
    }
  };
  // The replay holds the CpuGate shared, one slice of kDeadlineStride ops at a
  // time; between slices a threaded replay waiting for the cores runs. The time
  // waited for it is not this design's, so it moves the deadline on.
  std::shared_lock<CpuGate> slice(cpu_gate(), std::defer_lock);
  auto take_slice = [&] {
    const auto from = Clock::now();
    slice.lock();
    if (deadline != Clock::time_point::max()) deadline += Clock::now() - from;
  };
  take_slice();
  for (; i < n; ++i) {
    if (i % kDeadlineStride == 0 && i != 0) {
      slice.unlock();
      take_slice();
      if (Clock::now() > deadline) {
        m.reason = "time limit: " + std::to_string(opt.time_limit_s) + " s exceeded after op " + std::to_string(i);
        break;
      }
    }
    const Op& op = trace.ops[i];
    const std::uint64_t size = big ? trace.size_of(i) : op.size;
    void*& s = slot[op.object];
    bool failed = false;
    route_site = op.site;  // read only by routing designs (core/route/router.hpp)
    switch (op.kind) {
      case OpKind::Free:
        if (s != nullptr) release(op.object);
        inst.deallocate(s);
        s = nullptr;
        break;
      case OpKind::Realloc: {
        void* p = inst.reallocate(s, size);
        if (p == nullptr) {
          if (size != 0) {
            failed = true;
            break;
          }
          if (s != nullptr) release(op.object);
          s = nullptr;
          break;
        }
        if (s != nullptr) release(op.object);
        acquire(op.object, p, size);
        break;
      }
      default: {
        if (s != nullptr) release(op.object);  // slot reused without a free: the block leaks
        void* p;
        if (op.kind == OpKind::Malloc) {
          p = inst.allocate(size, 16);
        } else if (op.kind == OpKind::Calloc) {
          p = inst.callocate(1, size);
        } else {
          const std::size_t align = alignment_of(op);
          const std::uint64_t sz = op.kind == OpKind::Pvalloc ? (size + 4095) & ~std::uint64_t{4095} : size;
          p = inst.allocate(sz, align);
        }
        if (p == nullptr) {
          s = nullptr;
          failed = true;
          break;
        }
        acquire(op.object, p, size);
        break;
      }
    }
    if (failed) {
      const AllocStats st = inst.stats();
      m.reason = "op " + std::to_string(i) + ": " + op_kind_name(op.kind) + "(" + std::to_string(size) +
                 ") failed (footprint " + std::to_string(st.footprint) + " B" +
                 (opt.memory_limit ? ", limit " + std::to_string(opt.memory_limit) + " B" : std::string()) + ")";
      break;
    }
  }
  slice.unlock();
  const AllocStats st = inst.stats();
  m.ops = i;
  m.completed = n ? static_cast<double>(i) / static_cast<double>(n) : 1.0;
  m.peak_footprint = st.peak_footprint;
  m.peak_live_requested = peak_req;
  m.peak_live_usable = peak_usable;
  m.os_calls = st.os_calls;
  const CacheCounts meta = model.counts(Source::Meta);
  const CacheCounts all = model.total();
  m.meta_touches = meta.touches;
  m.meta_l1_misses = meta.l1_misses;
  m.meta_l2_misses = meta.l2_misses;
  m.l1_misses = all.l1_misses;
  m.l2_misses = all.l2_misses;
  m.pages = model.distinct_pages();
  inst.reset();

  if (i == n) {
    m.feasible = true;
    const double ops = static_cast<double>(std::max<std::uint64_t>(n, 1));
    m.speed_modeled = (kWeightTouch * static_cast<double>(m.meta_touches) +
                       kWeightL1Miss * static_cast<double>(m.meta_l1_misses) +
                       kWeightL2Miss * static_cast<double>(m.meta_l2_misses) +
                       kWeightOsCall * static_cast<double>(m.os_calls)) /
                      ops;
    const double live = static_cast<double>(std::max<std::uint64_t>(peak_req, 1));
    m.fragmentation = static_cast<double>(m.peak_footprint) / live - 1.0;
    m.frag_internal = static_cast<double>(peak_usable) / live - 1.0;
    m.frag_external = m.fragmentation - m.frag_internal;
    m.quality = (kWeightL1Miss * static_cast<double>(m.l1_misses) + kWeightL2Miss * static_cast<double>(m.l2_misses) +
                 kWeightPage * static_cast<double>(m.pages)) /
                ops;
    if (opt.speed_mode == SpeedMode::Measured) {
      std::string merr;
      m.speed_measured_ns = measure_speed_ns(sentence, trace, hist, opt, &merr);
      if (std::isnan(m.speed_measured_ns)) {
        m.feasible = false;
        m.reason = "measured replay failed: " + merr;
      }
    }
    m.speed = opt.speed_mode == SpeedMode::Measured ? m.speed_measured_ns : m.speed_modeled;
  }
  m.eval_seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
  return m;
}

bool measured_on_threads(std::string_view sentence, const Trace& trace, const EvalOptions& opt, ThreadModel* model) {
  *model = opt.thread_model;
  bool threaded = opt.threaded;
  if (AllocatorSpec spec; parse_spec(sentence, spec, nullptr))
    if (const std::string* named = spec.get("threads"); named != nullptr && parse_thread_model(*named, model))
      threaded = true;
  return threaded && trace.threads > 1;
}

double measure_speed_ns(std::string_view sentence, const Trace& trace, std::span<const SizeCount> hist,
                        const EvalOptions& opt, std::string* err) {
  ReplayOptions ro;
  ro.max_ops = opt.max_ops;
  ro.warm = opt.warm_replay;
  ThreadedReplayOptions tro;
  tro.max_ops = opt.max_ops;
  tro.warm = opt.warm_replay;
  tro.window = opt.threaded_window;
  const bool threaded = measured_on_threads(sentence, trace, opt, &tro.model);
  // tcache: the maker builds the shared instance (the design without its front cache).
  const std::string design = threaded ? design_for_model(sentence, tro.model, &tro, err) : std::string(sentence);
  if (design.empty()) return Metrics::kNaN;
  const InstanceOptions options = instance_options(opt, hist, nullptr, opt.measure_backing);
  const InstanceMaker make = [&](std::string* e) { return Instance::create(design, options, e); };
  // One timed replay: its ns per op, or an error (NaN, and *err). on_threads: the
  // threaded replay (of `design`), else the sequential one (of the whole sentence).
  auto once = [&](bool on_threads) -> double {
    std::string e;
    double seconds = 0;
    std::uint64_t ops = 0;
    if (on_threads) {
      std::unique_lock<CpuGate> g(cpu_gate());  // the cores to itself (evaluate/cpu_gate.hpp)
      ThreadedReplayResult res = replay_threaded(trace, make, tro);
      e = res.error, seconds = res.seconds, ops = res.ops;
    } else if (Instance inst = Instance::create(sentence, options, &e)) {
      std::shared_lock<CpuGate> g(cpu_gate());
      ReplayResult res = replay(trace, inst, ro);
      e = res.error, seconds = res.seconds, ops = res.ops;
    } else if (e.empty()) {
      e = "cannot create the instance";
    }
    if (!e.empty()) {
      if (err) *err = one_line(e);
      return Metrics::kNaN;
    }
    return seconds * 1e9 / static_cast<double>(std::max<std::uint64_t>(ops, 1));
  };
  const bool mixed = threaded && opt.mixed_threaded_speed;
  double best = Metrics::kNaN, best_seq = Metrics::kNaN;
  // A warm-up, then the timed repeats; a warm replay warms up in its own first
  // pass, so with warm_replay the first timed replay stands in for the warm-up.
  const bool separate_warmup = opt.warmup && !opt.warm_replay;
  const int runs = (separate_warmup ? 1 : 0) + std::max(opt.repeats, 1);
  for (int r = 0; r < runs; ++r) {
    const double ns = once(threaded);
    if (std::isnan(ns)) return ns;
    if (r == 0 && opt.warmup && opt.measure_cutoff_ns > 0 && ns > opt.measure_cutoff_ns)
      return ns;  // hopeless: one replay is enough
    const double seq = mixed ? once(false) : Metrics::kNaN;
    if (mixed && std::isnan(seq)) return seq;
    if (r == 0 && separate_warmup) continue;
    if (std::isnan(best) || ns < best) best = ns;
    if (mixed && (std::isnan(best_seq) || seq < best_seq)) best_seq = seq;
  }
  return mixed ? std::sqrt(best * best_seq) : best;
}

double system_speed_ns(const Trace& trace, std::uint64_t max_ops, int repeats, bool warm) {
  ReplayOptions ro;
  ro.max_ops = max_ops;
  ro.warm = warm;
  double best = Metrics::kNaN;
  for (int r = 0; r < 1 + std::max(repeats, 1); ++r) {
    ReplayResult res = replay_system(trace, ro);
    if (!res.ok || r == 0) continue;
    const double ns = res.seconds * 1e9 / static_cast<double>(std::max<std::uint64_t>(res.ops, 1));
    if (std::isnan(best) || ns < best) best = ns;
  }
  return best;
}

}  // namespace evo
