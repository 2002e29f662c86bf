// tests/core/stress.hpp — the randomized differential stress harness for allocator rows.
//
// Drives one Instance with a seeded random mix of malloc / aligned malloc / calloc /
// realloc (up and down) / free and keeps a shadow map of every live block. After each
// operation it checks: the block is non-null, aligned to max(requested, row min_align),
// usable_size >= size, [p, p+usable) overlaps no other live block, calloc memory is
// zero, realloc preserved the old contents; every block is filled with a per-block
// byte pattern over its whole usable size and the pattern is verified at free and
// realloc. validate(Cheap) runs every `cheap_every` ops, validate(Full) every
// `full_every` ops and at the end. Reproducible: the same seed gives the same ops.
//
// Usage (doctest):   StressResult r = run_stress(inst, cfg);  CHECK_MESSAGE(r.ok, r.error);
// Other families' tests include this header (it has no doctest dependency of its
// own). Shared helpers of the family tests: with_keys (swap keys of a row name),
// with_harden, heap_noise (scramble the process heap);
// when doctest is included first, make (create or REQUIRE-fail with the error),
// full_ok (validate(Full), printing the error), family_rows (a family's row count)
// and free_adjacent_three (three neighbours freed, the middle one last).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/instance.hpp"
#include "core/route/router.hpp"

namespace evo::test {

struct StressConfig {
  std::uint64_t seed = 0x5eed;
  std::size_t ops = 100000;
  std::size_t max_size = 64 * 1024;   ///< largest request (e.g. 4x the large threshold)
  std::size_t max_live = 1500;        ///< live blocks kept at most (frees take over above)
  std::size_t cheap_every = 64;       ///< validate(Cheap) period in ops
  std::size_t full_every = 10000;     ///< validate(Full) period in ops
  bool allow_alloc_failure = false;   ///< a null result is an error unless set
  std::size_t min_align = 0;          ///< alignment of every block (0 = the row's traits.min_align);
                                      ///< set it from the spec's align= key
  /// > 0: before each op, route_site (core/route/router.hpp) is set to a random site
  /// in [0, route_sites), so a routing design spreads blocks over its sub-designs.
  std::uint32_t route_sites = 0;
};

struct StressResult {
  bool ok = true;
  std::string error;        ///< first failure: op index, what, row
  std::size_t ops_done = 0;
  std::size_t max_live_seen = 0;
};

/// Small, fast, deterministic generator (xorshift64*).
struct StressRng {
  std::uint64_t s;
  explicit StressRng(std::uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  std::uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

namespace detail {

struct Live {
  char* p;
  std::size_t size;
  std::size_t usable;
  unsigned char pat;
};

/// True when all n bytes at p equal v (p[0] == v and each byte equals the next:
/// one library memcmp, which is vectorised).
inline bool all_equal(const char* p, std::size_t n, unsigned char v) {
  if (n == 0) return true;
  if (static_cast<unsigned char>(p[0]) != v) return false;
  return std::memcmp(p, p + 1, n - 1) == 0;
}

}  // namespace detail

inline StressResult run_stress(Instance& inst, const StressConfig& cfg) {
  using detail::Live;
  StressResult res;
  StressRng rng(cfg.seed);
  std::vector<Live> live;
  std::map<std::uintptr_t, std::uintptr_t> ranges;  // start -> end of live blocks
  const std::size_t min_align = std::max(cfg.min_align, inst.row().traits.min_align);
  std::size_t op = 0;
  std::string why;

  auto fail = [&](const std::string& what) {
    res.ok = false;
    res.error = "op " + std::to_string(op) + " (seed " + std::to_string(cfg.seed) + ", row '" + inst.row().name +
                "'): " + what;
    return res;
  };
  auto pick_size = [&]() -> std::size_t {
    std::uint64_t r = rng.below(100);
    if (r < 3) return 0;
    if (r < 70) return 1 + rng.below(128);
    if (r < 98) return 1 + rng.below(std::min<std::size_t>(cfg.max_size / 4, 4096));
    return 1 + rng.below(cfg.max_size);
  };
  // Registers a new block; returns an error message or "".
  auto add = [&](void* vp, std::size_t size, std::size_t align, bool zeroed) -> std::string {
    char* p = static_cast<char*>(vp);
    std::size_t a = std::max(align, min_align);
    if (reinterpret_cast<std::uintptr_t>(p) % a != 0)
      return "block of " + std::to_string(size) + " B not aligned to " + std::to_string(a);
    std::size_t usable = inst.usable_size(p);
    if (usable < size) return "usable_size " + std::to_string(usable) + " < size " + std::to_string(size);
    std::uintptr_t s = reinterpret_cast<std::uintptr_t>(p), e = s + std::max<std::size_t>(usable, 1);
    auto it = ranges.lower_bound(s);
    if (it != ranges.end() && it->first < e) return "block overlaps a live block (next)";
    if (it != ranges.begin() && std::prev(it)->second > s) return "block overlaps a live block (previous)";
    if (zeroed && !detail::all_equal(p, size, 0)) return "calloc memory not zeroed";
    ranges.emplace(s, e);
    auto pat = static_cast<unsigned char>(rng.next() | 1);
    std::memset(p, pat, usable);
    live.push_back({p, size, usable, pat});
    res.max_live_seen = std::max(res.max_live_seen, live.size());
    return {};
  };
  auto take = [&](std::size_t i) {
    Live b = live[i];
    live[i] = live.back();
    live.pop_back();
    ranges.erase(reinterpret_cast<std::uintptr_t>(b.p));
    return b;
  };

  for (op = 0; op < cfg.ops; ++op) {
    if (cfg.route_sites != 0) route_site = static_cast<std::uint32_t>(rng.below(cfg.route_sites));
    std::uint64_t r = rng.below(100);
    bool must_free = live.size() >= cfg.max_live;
    if (!live.empty() && (must_free || r < 35)) {  // free
      Live b = take(rng.below(live.size()));
      if (!detail::all_equal(b.p, b.usable, b.pat)) return fail("contents of a block changed before free");
      inst.deallocate(b.p);
    } else if (!live.empty() && r < 50) {  // realloc up or down
      std::size_t i = rng.below(live.size());
      Live b = live[i];
      if (!detail::all_equal(b.p, b.usable, b.pat)) return fail("contents of a block changed before realloc");
      std::size_t ns = rng.below(2) ? b.size + pick_size() : (b.size > 1 ? 1 + rng.below(b.size) : 1);
      if (ns > cfg.max_size) ns = cfg.max_size;
      if (ns == 0) ns = 1;  // realloc(p, 0) frees (glibc semantics): covered elsewhere
      void* q = inst.reallocate(b.p, ns);
      if (q == nullptr) {
        if (!cfg.allow_alloc_failure) return fail("realloc to " + std::to_string(ns) + " returned null");
        continue;
      }
      take(i);
      std::size_t keep = std::min(b.size, ns);
      if (!detail::all_equal(static_cast<char*>(q), keep, b.pat)) return fail("realloc lost contents");
      if (auto e = add(q, ns, 16, false); !e.empty()) return fail("realloc: " + e);
    } else if (r < 60) {  // calloc
      std::size_t n = 1 + rng.below(8), sz = 1 + pick_size() / 8;
      void* p = inst.callocate(n, sz);
      if (p == nullptr) {
        if (!cfg.allow_alloc_failure) return fail("calloc returned null");
        continue;
      }
      if (auto e = add(p, n * sz, 16, true); !e.empty()) return fail("calloc: " + e);
    } else if (r < 68) {  // aligned
      static constexpr std::size_t kAligns[] = {32, 64, 128, 256, 1024, 4096};
      std::size_t align = kAligns[rng.below(6)];
      std::size_t size = pick_size();
      void* p = inst.allocate(size, align);
      if (p == nullptr) {
        if (!cfg.allow_alloc_failure) return fail("aligned alloc returned null");
        continue;
      }
      if (auto e = add(p, size, align, false); !e.empty()) return fail("aligned alloc: " + e);
    } else {  // malloc
      std::size_t size = pick_size();
      void* p = inst.allocate(size, 16);
      if (p == nullptr) {
        if (!cfg.allow_alloc_failure) return fail("malloc(" + std::to_string(size) + ") returned null");
        continue;
      }
      if (auto e = add(p, size, 16, false); !e.empty()) return fail("malloc: " + e);
    }
    if (cfg.cheap_every != 0 && op % cfg.cheap_every == 0 && !inst.validate(ValidateLevel::Cheap, &why))
      return fail("validate(Cheap): " + why);
    if (cfg.full_every != 0 && op % cfg.full_every == cfg.full_every - 1 && !inst.validate(ValidateLevel::Full, &why))
      return fail("validate(Full): " + why);
  }
  if (!inst.validate(ValidateLevel::Full, &why)) return fail("validate(Full) before cleanup: " + why);
  while (!live.empty()) {
    Live b = take(live.size() - 1);
    if (!detail::all_equal(b.p, b.usable, b.pat)) return fail("contents changed before final free");
    inst.deallocate(b.p);
  }
  if (!inst.validate(ValidateLevel::Full, &why)) return fail("validate(Full) after freeing everything: " + why);
  res.ops_done = cfg.ops;
  return res;
}

/// A StressConfig with these fields (the others default): the row sweeps of the
/// family tests.
inline StressConfig stress_config(std::uint64_t seed, std::size_t ops, std::size_t max_size,
                                  std::size_t full_every) {
  StressConfig cfg;
  cfg.seed = seed;
  cfg.ops = ops;
  cfg.max_size = max_size;
  cfg.full_every = full_every;
  return cfg;
}

/// A test's op count: `ops`, or `sanitized_ops` in a sanitizer build
/// (EVOALLOC_SANITIZE), where every op is many times slower.
constexpr std::size_t stress_ops([[maybe_unused]] std::size_t ops,
                                 [[maybe_unused]] std::size_t sanitized_ops) {
#ifdef EVOALLOC_SANITIZE
  return sanitized_ops;
#else
  return ops;
#endif
}

/// A StressConfig for `spec`: sizes up to 4x its large threshold (64K when it has
/// none), alignment from its align= key.
inline StressConfig stress_config_for(const AllocatorSpec& spec, std::uint64_t seed, std::size_t ops);

/// Largest request to try for a row: 4x its large threshold (64K when it has none).
inline std::size_t stress_max_size(const AllocatorSpec& spec) {
  std::uint64_t large = spec.get_size("large");
  return large != 0 ? static_cast<std::size_t>(4 * large) : std::size_t{64} * 1024;
}

inline StressConfig stress_config_for(const AllocatorSpec& spec, std::uint64_t seed, std::size_t ops) {
  StressConfig cfg;
  cfg.seed = seed;
  cfg.ops = ops;
  cfg.max_size = stress_max_size(spec);
  cfg.min_align = static_cast<std::size_t>(spec.get_size("align"));
  return cfg;
}

/// `name` with the keys of `extra` (" k=v k=v", leading space) replacing its own
/// (its top-level keys: a route design's bracketed sub-designs are left alone).
inline std::string with_keys(const std::string& name, const std::string& extra) {
  std::string out;
  std::size_t i = 0;
  while (i < name.size()) {
    std::size_t j = i;
    for (int depth = 0; j < name.size() && (depth > 0 || name[j] != ' '); ++j) {
      if (name[j] == '[') ++depth;
      else if (name[j] == ']') --depth;
    }
    std::string tok = name.substr(i, j - i);
    std::size_t eq = tok.find('=');
    std::string key(" ");
    key.append(tok, 0, eq == std::string::npos ? 0 : eq + 1);
    if (eq == std::string::npos || extra.find(key) == std::string::npos) {
      if (!out.empty()) out += ' ';
      out += tok;
    }
    i = j + 1;
  }
  return out + extra;
}

/// `name` (a canonical row text) with harden=off replaced by harden=MODE (the
/// design's own key: the last one, after a route design's sub-designs).
inline std::string with_harden(const std::string& name, const char* mode) {
  std::string out = name;
  std::size_t at = out.rfind("harden=off");
  if (at != std::string::npos) out.replace(at, 10, std::string("harden=") + mode);
  return out;
}

/// Allocates and frees `rounds` pieces of junk (16 .. 16+max_bytes bytes) on the
/// process heap, keeping about a third in `keep`, so that whatever the heap hands
/// out next sits at other addresses (the determinism tests of issue #6).
inline void heap_noise(std::uint64_t seed, std::vector<std::vector<char>>& keep, int rounds = 64,
                       std::size_t max_bytes = 3000) {
  std::uint64_t s = seed;
  for (int i = 0; i < rounds; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    std::vector<char> junk(16 + (s >> 33) % max_bytes, 'j');
    if ((s >> 20) % 3 == 0) keep.push_back(std::move(junk));
  }
}

#ifdef DOCTEST_LIBRARY_INCLUDED
/// The instance of `text` (default options); REQUIRE-fails with the error otherwise.
inline Instance make(const std::string& text) {
  std::string err;
  Instance inst = Instance::create(text, {}, &err);
  REQUIRE_MESSAGE(inst, (text + ": " + err));
  return inst;
}

/// validate(Full), printing the error when it fails.
inline bool full_ok(const Instance& inst) {
  std::string err;
  bool ok = inst.validate(ValidateLevel::Full, &err);
  if (!ok) MESSAGE(err);
  return ok;
}

/// The rows of `family` in the registry.
inline int family_rows(const std::string& family) {
  int n = 0;
  for (const RegistryRow& r : rows())
    if (r.family == family) ++n;
  return n;
}

/// Three adjacent blocks of `size` and a guard block after them, the three freed
/// left, right, then the middle one (which has a free neighbour on both sides);
/// CHECKs validate(Full) after. Returns the first block and the guard, still live.
struct FreedRun {
  void* first;
  void* guard;
};
inline FreedRun free_adjacent_three(Instance& a, std::size_t size) {
  void* x = a.allocate(size);
  void* y = a.allocate(size);
  void* z = a.allocate(size);
  void* guard = a.allocate(size);
  a.deallocate(x);
  a.deallocate(z);
  a.deallocate(y);
  CHECK(full_ok(a));
  return {x, guard};
}
#endif

}  // namespace evo::test
