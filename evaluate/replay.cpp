// evaluate/replay.cpp — the replay loops (see replay.hpp).
#include "evaluate/replay.hpp"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "core/route/router.hpp"
#include "evaluate/replay_check.hpp"

namespace evo {

namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t op_limit(const Trace& t, const ReplayOptions& opt) {
  return opt.max_ops == 0 ? t.ops.size() : std::min<std::uint64_t>(opt.max_ops, t.ops.size());
}

std::uint64_t peak_live_of(const Trace& t, std::uint64_t n) {
  if (n < t.ops.size()) return compute_peak_live(t, n);
  return t.peak_live != 0 ? t.peak_live : compute_peak_live(t);
}

/// What every replay fills in at its end: the ops run (the first `n`), the final
/// stats and their peak footprint, the trace's peak live bytes over those ops, ok.
void finish(ReplayResult& r, const Trace& t, std::uint64_t n, const AllocStats& final_stats) {
  r.ops = n;
  r.final_stats = final_stats;
  r.peak_footprint = final_stats.peak_footprint;
  r.peak_live_requested = peak_live_of(t, n);
  r.ok = r.error.empty();
}

std::string fail_text(std::uint64_t i, const Op& op, std::uint64_t size) {
  return "op " + std::to_string(i) + ": " + op_kind_name(op.kind) + "(" + std::to_string(size) + ") failed";
}

// ---------------------------------------------------------------- instance loop

/// Calls through a copy of the row's pointers held in locals, so the loop does not
/// reload them from the instance after every (opaque) call.
struct Calls {
  void* (*allocate)(void*, std::size_t, std::size_t);
  void (*deallocate)(void*, void*);
  void* (*reallocate)(void*, void*, std::size_t);
  void* state;
  explicit Calls(const Instance& i)
      : allocate(i.ops().allocate), deallocate(i.ops().deallocate), reallocate(i.ops().reallocate), state(i.state()) {}
};

/// The general loop: every kind inline, check-mode bookkeeping per op. Used only
/// for check mode (slow anyway); the timed paths use hot_loop() below.
template <bool kCheck>
ReplayResult run_checked(const Trace& t, Instance& inst, const ReplayOptions& opt) {
  ReplayResult r;
  const std::uint64_t n = op_limit(t, opt);
  std::vector<void*> slot(t.objects, nullptr);
  void** slots = slot.data();
  Checker chk;
  const Op* ops = t.ops.data();
  const bool big = !t.big_sizes.empty();
  const Calls c(inst);
  const Probe* const probe = opt.program_touch;
  auto note = [&](std::string e) {
    if (r.error.empty()) r.error = std::move(e);
  };
  auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    const Op& op = ops[i];
    const std::uint64_t size = big ? t.size_of(i) : op.size;
    void*& s = slots[op.object];
    route_site = op.site;  // read only by routing designs (core/route/router.hpp)
    if (op.kind == OpKind::Free) {
      if constexpr (kCheck)
        if (s != nullptr) note(chk.on_release(i, op, s, UINT64_MAX));
      c.deallocate(c.state, s);
      s = nullptr;
    } else if (op.kind == OpKind::Malloc) {
      void* p = c.allocate(c.state, size, 16);
      if (p == nullptr) [[unlikely]] {
        ++r.failed_allocs;
        note(fail_text(i, op, size));
      } else {
        if constexpr (kCheck) {
          if (s != nullptr) chk.on_release(i, op, s, 0);  // slot reused without a free: leaked
          note(chk.on_alloc(inst, i, op, p, size, 16));
        }
        first_touch(probe, p, size);
      }
      s = p;
    } else if (op.kind == OpKind::Realloc) {
      void* old = s;
      std::uint64_t old_size = 0;
      if constexpr (kCheck) {
        if (old != nullptr) {
          old_size = chk.sizes[op.object];
          note(chk.on_release(i, op, old, size));
        }
      }
      void* p = c.reallocate(c.state, old, size);
      if (p == nullptr) {
        if (size != 0) {
          ++r.failed_allocs;
          note(fail_text(i, op, size));
          if constexpr (kCheck)
            if (old != nullptr)
              chk.blocks.emplace(reinterpret_cast<std::uintptr_t>(old), Checker::Live{old_size, op.object});
        } else {
          s = nullptr;
        }
      } else {
        if constexpr (kCheck) {
          if (old != nullptr &&
              !Checker::verify(op.object, static_cast<unsigned char*>(p), old_size, std::min(old_size, size)))
            note("op " + std::to_string(i) + " (realloc): contents not preserved");
          note(chk.on_alloc(inst, i, Op{OpKind::Malloc, 0, op.thread, op.site, op.object, 0}, p, size, 16));
        }
        s = p;
        first_touch(probe, p, size);
      }
    } else {
      void* p;
      std::size_t align = 16;
      if (op.kind == OpKind::Calloc) {
        p = c.allocate(c.state, size, 16);
        if (p != nullptr) std::memset(p, 0, size);
      } else {
        align = alignment_of(op);
        std::uint64_t sz = op.kind == OpKind::Pvalloc ? (size + 4095) & ~std::uint64_t{4095} : size;
        p = c.allocate(c.state, sz, align);
      }
      if (p == nullptr) [[unlikely]] {
        ++r.failed_allocs;
        note(fail_text(i, op, size));
      } else {
        if constexpr (kCheck) {
          if (s != nullptr) chk.on_release(i, op, s, 0);
          note(chk.on_alloc(inst, i, op, p, size, align));
        }
        first_touch(probe, p, size);
      }
      s = p;
    }
    if constexpr (kCheck) {
      if (opt.validate_every != 0 && (i + 1) % opt.validate_every == 0) {
        std::string err;
        if (!inst.validate(ValidateLevel::Full, &err)) note("op " + std::to_string(i) + ": validate: " + err);
      }
    }
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if constexpr (kCheck) {
    std::string err;
    if (opt.validate_every != 0 && !inst.validate(ValidateLevel::Full, &err)) note("end of trace: validate: " + err);
  }
  finish(r, t, n, inst.stats());
  return r;
}

/// glibc's bytes in allocated chunks (requests + chunk headers + rounding), in the
/// main arena and in mmapped chunks. Free holes are not counted: glibc's arena
/// totals cannot tell the replay's holes from the ones the process had before.
std::uint64_t system_footprint() {
  struct mallinfo2 m = mallinfo2();
  return static_cast<std::uint64_t>(m.uordblks) + static_cast<std::uint64_t>(m.hblkhd);
}

// ---------------------------------------------------------------- the timed loop
//
// One loop, hot_loop(), serves both the instance replay and the glibc replay, so
// that null/glibc compares two loops of the same shape (coupling: change one Env,
// keep the other in step). It walks the op array by pointer and handles inline
// only what dominates real traces: Free, and Malloc of a size below kBigSize. Its
// live state is the op cursor, the end, the slot array and the Env's hot calls
// (Env::Hot, copied into locals). Everything rare — realloc, calloc, the aligned
// kinds, big sizes, failed allocations — goes to the Env's noinline cold path,
// which keeps the rest of the state (trace, result, probe) in memory. The loop is
// run over chunks of kSystemSampleOps ops; Env::chunk_done() runs between chunks,
// untimed (glibc samples its footprint there, also right after the op where the
// live bytes peak; the instance does nothing).

/// What both back-ends share (CRTP): the trace, the result, the slot array, the
/// probe, and the cold path, which handles one op of any kind with the same
/// semantics as the check-mode loop minus its checks. The back-end supplies
/// release(p), resize(p, size) (realloc) and obtain(op, size) (every allocating kind).
template <class Env>
struct EnvBase {
  const Trace* t;
  ReplayResult* r;
  void** slots;
  const Probe* probe;

  [[gnu::noinline]] void failed(const Op* op) {
    const std::uint64_t i = static_cast<std::uint64_t>(op - t->ops.data());
    ++r->failed_allocs;
    if (r->error.empty()) r->error = fail_text(i, *op, t->size_of(i));
  }
  [[gnu::noinline]] void cold(const Op* op) {
    Env& env = static_cast<Env&>(*this);
    route_site = op->site;  // for routing designs; the cold path can afford it
    const std::uint64_t size = t->size_of(static_cast<std::uint64_t>(op - t->ops.data()));
    void*& s = slots[op->object];
    if (op->kind == OpKind::Free) {
      env.release(s);
      s = nullptr;
      return;
    }
    if (op->kind == OpKind::Realloc) {
      void* p = env.resize(s, size);
      if (p == nullptr) {
        if (size != 0) failed(op);  // the old block stays in its slot
        else s = nullptr;
        return;
      }
      s = p;
      first_touch(probe, p, size);
      return;
    }
    void* p = env.obtain(*op, size);
    s = p;
    if (p == nullptr) failed(op);
    else first_touch(probe, p, size);
  }
};

/// Through an instance's AllocatorOps.
struct InstanceEnv : EnvBase<InstanceEnv> {
  struct Hot {
    void* (*alloc)(void*, std::size_t, std::size_t);
    void (*dealloc)(void*, void*);
    void* state;
    void* allocate(std::size_t size) const { return alloc(state, size, 16); }
    void deallocate(void* p) const { dealloc(state, p); }
  };
  Hot hot_calls;
  void* (*realloc_fn)(void*, void*, std::size_t);
  bool zero_calloc;  ///< false for the null allocator: its blocks are one byte deep

  Hot hot() const { return hot_calls; }
  void chunk_done() {}
  void release(void* p) { hot_calls.deallocate(p); }
  void* resize(void* p, std::size_t size) { return realloc_fn(hot_calls.state, p, size); }
  void* obtain(const Op& op, std::uint64_t size) {
    if (op.kind == OpKind::Calloc) {
      void* p = hot_calls.alloc(hot_calls.state, size, 16);
      if (p != nullptr && zero_calloc) std::memset(p, 0, size);
      return p;
    }
    if (op.kind == OpKind::Pvalloc) size = (size + 4095) & ~std::uint64_t{4095};
    return hot_calls.alloc(hot_calls.state, size, op.kind == OpKind::Malloc ? 16 : alignment_of(op));
  }
};

/// Through the process's malloc; samples glibc's footprint per chunk.
struct SystemEnv : EnvBase<SystemEnv> {
  struct Hot {
    static void* allocate(std::size_t size) { return std::malloc(size); }
    static void deallocate(void* p) { std::free(p); }
  };
  std::uint64_t base = 0, peak = 0;

  Hot hot() const { return {}; }
  void chunk_done() {
    std::uint64_t f = system_footprint();
    peak = std::max(peak, f > base ? f - base : 0);
  }
  void release(void* p) { std::free(p); }
  void* resize(void* p, std::size_t size) { return std::realloc(p, size); }
  void* obtain(const Op& op, std::uint64_t size) {
    void* p = nullptr;
    switch (op.kind) {
      case OpKind::Malloc: p = std::malloc(size); break;
      case OpKind::Calloc: p = std::calloc(1, size); break;
      case OpKind::Memalign: p = memalign(alignment_of(op), size); break;
      case OpKind::PosixMemalign:
        if (posix_memalign(&p, std::max<std::size_t>(alignment_of(op), sizeof(void*)), size) != 0) p = nullptr;
        break;
      case OpKind::AlignedAlloc: p = aligned_alloc(alignment_of(op), size); break;
      case OpKind::Valloc: p = valloc(size); break;
      case OpKind::Pvalloc: p = pvalloc(size); break;
      case OpKind::Realloc:
      case OpKind::Free: break;  // handled by EnvBase::cold
    }
    return p;
  }
};

/// kRoute: the instance routes by call site (Traits::routes): route_site is set
/// before each allocation (the only extra work of the loop for such designs).
template <bool kProbe, bool kRoute, class Env>
void hot_loop(Env& env, const Op* op, const Op* const end, void** const slots, const Probe* const probe) {
  const typename Env::Hot h = env.hot();
  for (; op != end; ++op) {
    if (op->kind == OpKind::Free) {
      void** const s = slots + op->object;
      void* const p = *s;
      *s = nullptr;  // before the call: nothing to hold across it
      h.deallocate(p);
    } else if (op->kind == OpKind::Malloc && op->size != kBigSize) [[likely]] {
      if constexpr (kRoute) route_site = op->site;
      void* const p = h.allocate(op->size);
      // object and size re-read after the call: fewer values held across it
      slots[op->object] = p;
      if (p == nullptr) [[unlikely]] {
        env.failed(op);
      } else if (op->size != 0) [[likely]] {
        rewrite_first_byte(p);  // first touch (see first_touch)
        if constexpr (kProbe) touch(probe, p, op->size < 64 ? op->size : 64);
      }
    } else {
      env.cold(op);
    }
  }
}

/// Runs hot_loop over the first `n` ops in chunks of kSystemSampleOps, plus a chunk
/// boundary after op `extra_stop` (0: none); returns the loop's seconds (the
/// chunk_done() calls between chunks are not timed).
template <class Env>
double timed_loops(Env& env, const Trace& t, std::uint64_t n, void** slots, const Probe* probe,
                   std::uint64_t extra_stop = 0, bool routes = false) {
  const Op* const begin = t.ops.data();
  const Op* op = begin;
  const Op* const end = op + n;
  const Op* const extra = extra_stop != 0 && extra_stop < n ? begin + extra_stop : nullptr;
  Clock::duration loop{};
  while (op != end) {
    const Op* stop = static_cast<std::uint64_t>(end - op) > kSystemSampleOps ? op + kSystemSampleOps : end;
    if (extra != nullptr && op < extra && extra < stop) stop = extra;
    const auto t0 = Clock::now();
    if (routes) {
      if (probe != nullptr) hot_loop<true, true>(env, op, stop, slots, probe);
      else hot_loop<false, true>(env, op, stop, slots, nullptr);
    } else {
      if (probe != nullptr) hot_loop<true, false>(env, op, stop, slots, probe);
      else hot_loop<false, false>(env, op, stop, slots, nullptr);
    }
    loop += Clock::now() - t0;
    op = stop;
    env.chunk_done();  // not timed: glibc's mallinfo2 walks its bins (~ms on a big heap)
  }
  return std::chrono::duration<double>(loop).count();
}

/// ReplayOptions::warm: the untimed pass over the first `n` ops, its leftovers
/// released and the slots cleared; the caller drops the pass's results.
template <class Env>
void warm_pass(Env& env, const Trace& t, std::uint64_t n, std::vector<void*>& slot, bool routes) {
  timed_loops(env, t, n, slot.data(), nullptr, 0, routes);
  for (void*& p : slot) {
    if (p != nullptr) env.release(p);
    p = nullptr;
  }
}

ReplayResult run_fast(const Trace& t, Instance& inst, const ReplayOptions& opt, bool zero_calloc = true) {
  ReplayResult r;
  const std::uint64_t n = op_limit(t, opt);
  std::vector<void*> slot(t.objects, nullptr);
  InstanceEnv env{{&t, &r, slot.data(), opt.program_touch},
                  {inst.ops().allocate, inst.ops().deallocate, inst.state()},
                  inst.ops().reallocate,
                  zero_calloc};
  const bool routes = inst.row().traits.routes;
  if (opt.warm) {
    warm_pass(env, t, n, slot, routes);
    r = ReplayResult{};
  }
  r.seconds = timed_loops(env, t, n, slot.data(), opt.program_touch, 0, routes);
  finish(r, t, n, inst.stats());
  return r;
}

// ---------------------------------------------------------------- null allocator

/// The null allocator's state: allocations spread over 256 cache lines (picked
/// by size), so the modelled first touches go to distinct lines, as real blocks
/// do, instead of forming one store-to-load chain on a single byte. Blocks are not usable
/// memory beyond their first byte; nothing but replay's first touch writes them
/// (run_fast is told not to zero a calloc'ed null block).
struct NullState {
  static constexpr std::size_t kLines = 256;
  alignas(64) unsigned char lines[kLines * 64];
};

void* null_allocate(void* self, std::size_t size, std::size_t) {
  // The line follows from the size: no state written, so no dependency between calls.
  return static_cast<NullState*>(self)->lines + (size % NullState::kLines) * 64;
}
void null_deallocate(void*, void*) {}
void* null_reallocate(void* self, void*, std::size_t size) { return size == 0 ? nullptr : null_allocate(self, size, 16); }
std::size_t null_usable(const void*, const void*) { return 64; }
void null_stats(const void*, AllocStats* out) { *out = AllocStats{}; }
bool null_validate(const void*, ValidateLevel, std::string*) { return true; }
void null_destroy(void* self) { delete static_cast<NullState*>(self); }
std::size_t null_good_size(const void*, std::size_t) { return 64; }

const RegistryRow& null_row() {
  static const RegistryRow row{UINT32_MAX, "null", "null", Traits{16, false, false, false, false},
                               AllocatorOps{null_allocate, null_deallocate, null_reallocate, null_usable,
                                            null_stats, null_validate, null_destroy, null_good_size},
                               nullptr};
  return row;
}

Instance null_instance() { return Instance(&null_row(), new NullState()); }

}  // namespace

ReplayResult replay(const Trace& t, Instance& inst, const ReplayOptions& opt) {
  if (!inst) {
    ReplayResult r;
    r.ok = false;
    r.error = "replay: empty allocator instance";
    return r;
  }
  return opt.check || opt.validate_every != 0 ? run_checked<true>(t, inst, opt) : run_fast(t, inst, opt);
}

ReplayResult replay_null(const Trace& t, const ReplayOptions& opt) {
  Instance inst = null_instance();
  ReplayOptions o = opt;
  o.check = false;
  o.validate_every = 0;
  return run_fast(t, inst, o, /*zero_calloc=*/false);
}

ReplayResult replay_system(const Trace& t, const ReplayOptions& opt) {
  ReplayResult r;
  const std::uint64_t n = op_limit(t, opt);
  std::vector<void*> slot(t.objects, nullptr);
  SystemEnv env{{&t, &r, slot.data(), opt.program_touch}};
  const std::uint64_t peak_at = live_peak(t, n).at;  // one footprint sample right there
  if (opt.warm) {
    warm_pass(env, t, n, slot, false);
    r = ReplayResult{};
    env.peak = 0;
  }
  env.base = system_footprint();
  r.seconds = timed_loops(env, t, n, slot.data(), opt.program_touch, peak_at);
  for (void* p : slot) std::free(p);
  AllocStats stats = r.final_stats;
  stats.peak_footprint = env.peak;
  finish(r, t, n, stats);
  return r;
}

}  // namespace evo
