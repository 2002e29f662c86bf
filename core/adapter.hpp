// core/adapter.hpp — turns an allocator class into a registry row, and reads the
// common keys of a spec. Used by every family's add_rows. Also what allocator
// classes share: their stats from a MemorySource (fill_source_stats, SourceCounted),
// the alignment arithmetic, the marked large chunks of the pagemap families, and
// reallocate by copy.
//
// An allocator class A (the policy composition of one row) provides:
//   static A* create(const AllocatorSpec&, const InstanceOptions&, std::string* err);
//                                             // nullptr + *err on unusable numerics
//   void* allocate(std::size_t size, std::size_t align);
//   void deallocate(void* p);
//   void* reallocate(void* p, std::size_t size);
//   std::size_t usable_size(const void* p) const;
//   void stats(AllocStats* out) const;
//   bool validate(ValidateLevel level, std::string* err) const;
// and optionally
//   std::size_t good_size(std::size_t size) const;   // its rounding (core/ops.hpp)
// and is destroyed with `delete` (its destructor returns every byte to the OS).
// The same class is what the exporter instantiates directly, so the table and the
// compiled export run the same code (the table adds one indirect call).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "core/probe.hpp"
#include "core/registry.hpp"
#include "core/source/memory_source.hpp"

namespace evo {

// allocate and deallocate are flattened: the whole path is inlined into the one
// function the table points at, so a table call costs one indirect call. Families
// keep their slow paths (growing from the OS, large mappings, batch coalescing) out
// of that inlining with [[gnu::noinline]]. reallocate is not flattened: it would
// inline allocate, deallocate and the copy again (86 KB of code a block row, 80 s
// of the Release build for 12 rows) for no measured speed (replay of espresso on
// seven designs within noise, 2026-12-03).
template <class A>
struct RowAdapter {
  [[gnu::flatten]] static void* allocate(void* s, std::size_t n, std::size_t a) {
    return static_cast<A*>(s)->allocate(n, a);
  }
  [[gnu::flatten]] static void deallocate(void* s, void* p) { static_cast<A*>(s)->deallocate(p); }
  static void* reallocate(void* s, void* p, std::size_t n) {
    return static_cast<A*>(s)->reallocate(p, n);
  }
  static std::size_t usable_size(const void* s, const void* p) { return static_cast<const A*>(s)->usable_size(p); }
  static void stats(const void* s, AllocStats* out) { static_cast<const A*>(s)->stats(out); }
  static bool validate(const void* s, ValidateLevel l, std::string* err) {
    return static_cast<const A*>(s)->validate(l, err);
  }
  static void destroy(void* s) { delete static_cast<A*>(s); }
  static std::size_t good_size(const void* s, std::size_t n) {
    if constexpr (requires(const A& a) { a.good_size(n); }) return static_cast<const A*>(s)->good_size(n);
    else return (n == 0 ? 16 : (n + 15) & ~std::size_t{15});
  }
  static void* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    return A::create(spec, opt, err);
  }
};

/// A registry row for class A. `name` may be just "family key=value..." over the
/// discrete keys (the registry canonicalises it).
template <class A>
RegistryRow make_row(std::string name, Traits traits) {
  using R = RowAdapter<A>;
  RegistryRow row{};
  row.id = 0;
  row.name = std::move(name);
  row.traits = traits;
  row.ops = AllocatorOps{&R::allocate, &R::deallocate, &R::reallocate, &R::usable_size,
                         &R::stats,    &R::validate,   &R::destroy, &R::good_size};
  row.create = &R::create;
  return row;
}

/// The common keys of a canonical spec, decoded.
struct CommonParams {
  std::size_t min_align = 16;  ///< align=16|32|64
  bool region = false;         ///< source=region (else mmap chunks)
  std::size_t retain = 0;      ///< retain=0|256K|1M|4M|16M|64M|auto: unmapped chunks kept committed (MemorySource::set_retain; auto: kRetainAuto)
};

inline CommonParams common_params(const AllocatorSpec& spec) {
  CommonParams c;
  if (const std::string* a = spec.get("align")) c.min_align = static_cast<std::size_t>(std::stoul(*a));
  if (const std::string* s = spec.get("source")) c.region = (*s == "region");
  if (const std::string* r = spec.get("retain"))
    c.retain = *r == "auto" ? MemorySource::kRetainAuto : static_cast<std::size_t>(spec.get_size("retain"));
  return c;
}

/// AllocStats of an allocator that holds memory only through `src` and counts its
/// own calls: footprint, peak and OS calls from the source; live_requested 0 (not
/// tracked).
inline void fill_source_stats(const MemorySource& src, std::uint64_t allocs, std::uint64_t frees, AllocStats* out) {
  out->footprint = src.footprint();
  out->peak_footprint = src.peak_footprint();
  out->live_requested = 0;
  out->allocs = allocs;
  out->frees = frees;
  out->os_calls = src.os_calls();
}

/// The base of an allocator class that holds its memory only through one
/// MemorySource and counts its own calls: the source (reserve 0 = the default) and
/// stats() from it and the counters (fill_source_stats).
class SourceCounted {
 public:
  SourceCounted(const SourceCounted&) = delete;
  SourceCounted& operator=(const SourceCounted&) = delete;

  void stats(AllocStats* out) const { fill_source_stats(src_, allocs_, frees_, out); }

 protected:
  SourceCounted(std::size_t reserve, std::size_t limit, SourceBacking backing, std::size_t retain,
                MemoryGroup* group)
      : src_(reserve != 0 ? reserve : MemorySource::kDefaultReserve, limit, backing, group) {
    src_.set_retain(retain);
  }

  MemorySource src_;
  std::uint64_t allocs_ = 0;
  std::uint64_t frees_ = 0;
};

/// Sets the fields every engine's config shares: min_align and retain from the
/// spec's common keys, reserve, limit, backing and probe from the instance options.
template <class Config>
void set_common_config(Config& c, const CommonParams& common, const InstanceOptions& opt) {
  c.min_align = common.min_align;
  c.reserve = opt.reserve;
  c.limit = opt.memory_limit;
  c.backing = opt.backing;
  c.group = opt.group;
  c.probe = opt.probe;
  c.retain = common.retain;
}

/// Effective alignment of a request: max(min_align, align); align is a power of two.
inline std::size_t effective_align(std::size_t min_align, std::size_t align) {
  return align > min_align ? align : min_align;
}

inline std::size_t align_up(std::size_t n, std::size_t a) { return (n + a - 1) & ~(a - 1); }
inline std::uintptr_t align_up_addr(std::uintptr_t n, std::size_t a) { return (n + a - 1) & ~std::uintptr_t(a - 1); }

/// A large block mapped directly from a MemorySource is marked in its heap's pagemap
/// as (pages << 1) | 1 on its first page (the superblock and buddy families); any
/// other non-zero entry is a pointer (even). The bytes of the chunk an entry marks,
/// or 0 when the entry is not such a mark.
inline std::size_t marked_chunk_bytes(std::uintptr_t entry) {
  return (entry & 1) ? (entry >> 1) * kPageSize : 0;
}

/// Maps `bytes` (a multiple of the page size) from `src`, `align`-aligned (zeroed
/// when `zero`), and marks it in `pm`. Returns the chunk, or nullptr with nothing
/// mapped when the mapping or the pagemap entry fails.
template <class Pagemap>
void* map_marked_chunk(MemorySource& src, Pagemap& pm, const Probe* probe, std::size_t bytes,
                       std::size_t align, bool zero = true) {
  void* p = src.map(bytes, align, zero);
  if (p == nullptr) return nullptr;
  if (!pm.set(p, ((bytes / kPageSize) << 1) | 1, probe)) {
    src.unmap(p, bytes);
    return nullptr;
  }
  return p;
}

/// Clears the mark of the chunk at `base` and unmaps its `bytes` (marked_chunk_bytes).
template <class Pagemap>
void unmap_marked_chunk(MemorySource& src, Pagemap& pm, const Probe* probe, void* base, std::size_t bytes) {
  pm.set(base, 0, probe);
  src.unmap(base, bytes);
}

/// Resizes a large block that is a chunk mapped directly from `src` and marked in
/// the pagemap `pm` as (pages << 1) | 1 on its first page (the superblock and
/// buddy families), with MemorySource::remap: shrunk or grown in place, or moved
/// without copying (to an `align`-aligned range). The entry follows: rewritten in
/// place, or set for the destination before the pages move (a pagemap that cannot
/// get a node for it cancels the move) and cleared at the old address. Returns
/// the block's address, or nullptr with the block and its entry untouched.
/// old_bytes, new_bytes: multiples of the page size.
template <class Pagemap>
void* remap_marked_chunk(MemorySource& src, Pagemap& pm, const Probe* probe, void* p, std::size_t old_bytes,
                         std::size_t new_bytes, std::size_t align) {
  struct Prep {
    Pagemap* pm;
    const Probe* probe;
    std::uintptr_t entry;
    void* dst;
  };
  const std::uintptr_t entry = ((new_bytes / kPageSize) << 1) | 1;  // as map_marked_chunk
  Prep prep{&pm, probe, entry, nullptr};
  MemorySource::RemapPrepare prepare = [](void* ctx, void* dst) {
    auto* m = static_cast<Prep*>(ctx);
    m->dst = dst;
    return m->pm->set(dst, m->entry, m->probe);
  };
  void* q = src.remap(p, old_bytes, new_bytes, align, prepare, &prep);
  if (q == nullptr) {
    if (prep.dst != nullptr) pm.set(prep.dst, 0, probe);  // clearing never allocates
    return nullptr;
  }
  pm.set(p, q == p ? entry : 0, probe);  // p's entry exists: cannot fail
  return q;
}

/// Generic reallocate on top of allocate/usable_size/deallocate: for classes whose
/// blocks cannot grow in place. Preserves min(old usable, size) bytes.
template <class A>
void* realloc_by_copy(A& a, void* p, std::size_t size) {
  if (p == nullptr) return a.allocate(size, 16);
  if (size == 0) {
    a.deallocate(p);
    return nullptr;
  }
  std::size_t old = a.usable_size(p);
  if (size <= old && size >= old / 2) return p;  // shrink in place: keep the block
  void* q = a.allocate(size, 16);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, old < size ? old : size);
  a.deallocate(p);
  return q;
}

}  // namespace evo
