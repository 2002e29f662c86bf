// core/ops.hpp — the allocator contract: one row of the jump table.
//
// An allocator *instance* is { const AllocatorOps* ops; void* state }. The state
// owns everything the design needs, including its own MemorySource, so two
// instances never share memory and can be replayed side by side in OpenMP threads.
// Calls go through plain function pointers (no virtual calls on the allocation
// path); the exported library instantiates the same templates directly.
//
// Contract of every row (checked by tests/core/test_stress.cpp for every row):
//   allocate(s, size, align)  align is a power of two; align <= 16 means "default".
//                             Returns a block of at least `size` usable bytes,
//                             aligned to max(16, align), or nullptr on failure
//                             (never aborts). size 0 returns a unique, freeable
//                             pointer. Fresh memory is NOT guaranteed zeroed;
//                             Instance::callocate zeroes.
//   deallocate(s, p)          p == nullptr is a no-op; otherwise p came from this
//                             instance and is live (the hardening layer checks that).
//   reallocate(s, p, size)    p == nullptr behaves as allocate(size, 16); contents
//                             up to min(old usable, size) are preserved; on failure
//                             returns nullptr and p stays valid. size 0 frees p and
//                             returns nullptr (glibc semantics).
//   usable_size(s, p)         >= the size requested for p.
//   stats(s, out)             fills AllocStats (bytes are exact, from the source).
//   validate(s, level, err)   checks internal invariants; Cheap is O(1)-ish, Full
//                             walks everything. Returns false and writes a one-line
//                             reason into err (if non-null) on a broken invariant.
//   destroy(s)                returns every byte to the OS and frees the state.
//   good_size(s, size)        the usable size a request of `size` bytes (default
//                             alignment) would get: the design's rounding (its size
//                             class, page rounding, ...), >= size and monotone in
//                             size; no allocation happens (like jemalloc's nallocx).
//                             The cache front end (core/layers/front.hpp) builds its
//                             classes from it. Families that do not round say
//                             align_up(size, 16) (core/adapter.hpp's default).
// Units are bytes throughout. Single-threaded: an instance is used by one thread
// at a time (the export adds locking or thread-local heaps around it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace evo {

/// Exact accounting of one instance, in bytes and counts.
struct AllocStats {
  std::uint64_t footprint = 0;       ///< bytes currently held from the OS (committed), metadata included
  std::uint64_t peak_footprint = 0;  ///< maximum of footprint over the instance's life
  std::uint64_t live_requested = 0;  ///< sum of requested sizes of live blocks (if tracked, else 0)
  std::uint64_t allocs = 0;          ///< successful allocate calls (reallocate that moves counts as one)
  std::uint64_t frees = 0;           ///< deallocate calls on non-null pointers
  std::uint64_t os_calls = 0;        ///< map/unmap/grow/shrink requests to the OS
};

enum class ValidateLevel : int { Cheap = 1, Full = 2 };

/// A broken invariant (validate) or a rejected spec (a family's check): writes
/// `reason` into *err when err is not null; returns false.
inline bool fail(std::string* err, std::string_view reason) {
  if (err != nullptr) err->assign(reason);
  return false;
}

/// The jump-table row. Every member is non-null in a registered row.
struct AllocatorOps {
  void* (*allocate)(void* self, std::size_t size, std::size_t align);
  void (*deallocate)(void* self, void* p);
  void* (*reallocate)(void* self, void* p, std::size_t size);
  std::size_t (*usable_size)(const void* self, const void* p);
  void (*stats)(const void* self, AllocStats* out);
  bool (*validate)(const void* self, ValidateLevel level, std::string* err);
  void (*destroy)(void* self);
  std::size_t (*good_size)(const void* self, std::size_t size);
};

/// What a row declares about itself; decoding rejects inconsistent compositions
/// before any replay (see core/registry.hpp).
struct Traits {
  std::size_t min_align = 16;     ///< alignment of every returned block
  bool reuses_memory = true;      ///< false for the no-reuse family (minimal, pad)
  bool needs_header = false;      ///< keeps a per-block header in front of the block
  bool needs_region = false;      ///< needs the sbrk-style region source
  bool coalesces = false;         ///< merges adjacent free blocks
  /// usable_size of a live block may run beside any other call on the instance (it
  /// reads only metadata fixed while the block is live): thread model tcache's
  /// per-thread caches then find a freed block's size without the shared lock.
  bool concurrent_usable_size = false;
  /// Sends each allocation to a sub-design by its call site (the route family,
  /// core/route/router.hpp): callers set route_site before each allocating call.
  bool routes = false;
};

}  // namespace evo
