// core/source/memory_source.hpp — where an instance gets its memory from the OS.
//
// Every instance owns one MemorySource: a private reservation of virtual address
// space (MAP_NORESERVE, so it costs nothing until used), split in two:
//
//   [ region: sbrk-style, a moving break, low half ][ chunks: mmap-style, high half ]
//
// * Region (grow/shrink): the textbook "break". Pages below the break are
//   committed (read/write); the break moves by any number of bytes, pages are
//   committed/decommitted as it crosses page boundaries.
// * Chunks (map/unmap): page-granular blocks anywhere in the high half, at any
//   power-of-two alignment, committed on map and returned to the OS on unmap.
//   Freshly mapped or grown memory reads as zero.
// * remap: resizes a mapped chunk, like mremap. Shrinking decommits the tail and
//   returns it to the free ranges; growing takes the free range right after the
//   chunk when it is long enough (in place), else moves the chunk to a new range
//   (first fit at `align`) and gives the old range back. A move does not copy
//   bytes through user space when the kernel can move the pages: the page table
//   entries are moved by mremap(MREMAP_MAYMOVE | MREMAP_FIXED) into the new range
//   (inside the reservation), the hole left behind is mapped again as reserved
//   address space (PROT_NONE for Real, fresh read/write pages for Simulated, so
//   the old range reads as zero and holds no dirty pages). When mremap refuses
//   (the chunk spans two kernel mappings that could not merge, or the process ran
//   out of mappings), the bytes are copied with memcpy and the old range is
//   decommitted as unmap would: same result, same accounting. Accounting of a
//   remap: footprint changes by new - old; shrink and grow in place count one
//   os_call (the decommit or commit of the tail); a move counts two (the move and
//   the re-reservation of the old range); the limit applies to the grown
//   footprint, and a remap that fails (limit, no range) leaves the chunk intact.
//
// * Retention (set_retain, the spec's common key retain=): unmapped chunks, up to
//   `retain` bytes in all, stay committed and are handed out again by map() (best
//   fit by size, at the requested alignment, most recent first; the rest of a larger
//   kept chunk stays kept): no system call and no page fault for a chunk freed and
//   mapped again, as jemalloc's and mimalloc's delayed purging do. The region keeps
//   up to `retain` bytes committed above its break when it shrinks (glibc's trim
//   threshold), so a block freed at the top and taken again costs no commit either.
//   Kept bytes stay in the footprint (they are resident), so the fragmentation
//   metric pays for them.
//   When a chunk does not fit in the budget, or the table of kept chunks is full
//   (kMaxKept = 1024 chunks: 16 MiB of 16 KiB slabs), the oldest kept chunks are
//   returned first. (Until 2026-12-06 the table held 64 chunks, so retain=16M kept
//   1 MiB of 16 KiB slabs: docs/benchmarks.md.) retain=auto (kRetainAuto) grows the budget with the largest block freed,
//   as glibc's dynamic threshold does (see kRetainAuto).
//   map(.., zero = false) lets a caller that writes everything it reads (superblock
//   and slab pages, boundary-tag segments, large blocks) skip zeroing a reused
//   chunk. set_scribble(true) (tests) fills every such chunk with 0xA5 instead, so a
//   caller that reads what it did not write fails the shadow-checked stress.
//
// Footprint is exact: the number of bytes currently committed (region rounded up
// to whole pages + mapped chunks). Every commit/decommit counts one os_call. A
// `limit` caps the footprint (0 = no cap): past it, grow/map fail (return
// nullptr) — that is how a candidate that blows the memory cap is detected.
//
// Two backings (SourceBacking), with the SAME accounting (footprint, peak,
// os_calls, limit, addresses handed out: identical for the same calls):
//
// * Real (the default; the exported library, the timed replays of measured speed,
//   the tests): the reservation is PROT_NONE; commit is an mprotect, decommit an
//   mmap(MAP_FIXED, PROT_NONE) that really returns the pages (a stray access to
//   decommitted memory faults). Each commit/decommit is a system call that takes
//   the process's mmap lock for writing and may IPI the other CPUs (TLB
//   shootdown): instances replayed side by side in threads serialise on it.
// * Simulated (evaluation's probed replay, evaluate/metrics.hpp): the reservation
//   is mapped read/write once; commit/decommit are pure accounting, no system
//   call. Decommitted pages stay resident and are remembered in a bitmap of
//   dirty pages (lazily touched pages just past the reservation, outside the
//   footprint and outside contains()); a commit zeroes the dirty pages it covers,
//   so fresh memory still reads as zero. When the dirty bytes exceed a budget
//   (kDefaultDirtyBudget) they are all released in one batch (madvise
//   MADV_DONTNEED per run of dirty pages), which bounds the resident memory to
//   footprint + budget. Costs: a memset per re-committed dirty page instead of
//   a fault + kernel zeroing; no protection of decommitted memory.
//
// Keeping all of an instance's memory inside one known range, its base aligned to
// 1 GiB (so absolute and base-relative alignment agree), makes offsets reproducible
// run to run (the fidelity test compares offsets from base()) and
// lets a flat pagemap cover everything the instance can ever hand out.
//
// Allocation-free: the source never calls malloc (the exported library replaces
// malloc and builds on this class). Not thread-safe; one owner at a time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace evo {

inline constexpr std::size_t kPageSize = 4096;

/// Several MemorySources counted as one: the sub-heaps of a routing design
/// (core/route/router.hpp). Every member adds its commits and decommits to `footprint`
/// (so `peak` is the peak of the sum, not a sum of peaks), a non-zero `limit` caps
/// that sum (a member's map/grow past it fails, as past its own limit), and each
/// member records its reservation with the `tag` its owner set before creating it,
/// so the owner finds which member holds an address (tag_of). Not thread-safe: the
/// members are used by one thread at a time, as their instance is.
struct MemoryGroup {
  static constexpr std::size_t kMaxMembers = 16;
  struct Member {
    std::uintptr_t lo, hi;  ///< [base, base + reserved)
    std::uint32_t tag;
  };
  std::uint64_t footprint = 0;
  std::uint64_t peak = 0;
  std::uint64_t limit = 0;  ///< 0 = none
  std::uint32_t tag = 0;    ///< the tag the next member records
  Member members[kMaxMembers]{};
  std::size_t nmembers = 0;

  /// The tag of the member whose reservation holds p, or `none`.
  std::uint32_t tag_of(const void* p, std::uint32_t none) const {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    for (std::size_t i = 0; i < nmembers; ++i)
      if (a - members[i].lo < members[i].hi - members[i].lo) return members[i].tag;
    return none;
  }
};

/// How commit/decommit reach the OS (see the header comment). Same accounting.
enum class SourceBacking : std::uint8_t {
  Real,       ///< PROT_NONE reservation, mprotect/mmap per commit/decommit
  Simulated,  ///< read/write reservation, accounting only, dirty pages zeroed on re-commit
};
/// "real" / "simulated".
const char* source_backing_name(SourceBacking b);

class MemorySource {
 public:
  /// Default reservation: 64 GiB (32 GiB region + 32 GiB of chunk space): the
  /// largest heap (and block) an instance can serve, in evaluation and in the
  /// exported library alike. Address space only (MAP_NORESERVE, untouched pages
  /// cost nothing); designs with a flat or radix pagemap over the chunk space keep
  /// ~16-32 KiB more metadata than at 8 GiB (which capped programs at 4 GiB).
  static constexpr std::size_t kDefaultReserve = std::size_t{64} << 30;
  /// When the default reservation cannot be mapped (an address-space cap: ulimit -v,
  /// valgrind), halves of it are tried down to this size.
  static constexpr std::size_t kMinFallbackReserve = std::size_t{1} << 30;

  /// set_retain(kRetainAuto), the spec's retain=auto: the budget starts at
  /// kAutoRetainStart and, each time a chunk (or a shrink of the region) larger than
  /// it is given back, becomes twice that size, up to kAutoRetainMax. This is
  /// glibc's dynamic mmap threshold (malloc/malloc.c: freeing an mmapped chunk
  /// raises mmap_threshold to its size and trim_threshold to twice that, up to
  /// 32 MiB and 64 MiB on 64-bit): a design fitted on a trace keeps the program's
  /// big buffers committed for reuse even when they are larger than any in the trace.
  static constexpr std::size_t kRetainAuto = SIZE_MAX;
  static constexpr std::size_t kAutoRetainStart = std::size_t{1} << 20;
  static constexpr std::size_t kAutoRetainMax = std::size_t{64} << 20;

  /// Simulated backing: decommitted-but-resident bytes allowed before a batch release.
  static constexpr std::size_t kDefaultDirtyBudget = std::size_t{128} << 20;

  /// Reserves `reserve` bytes (rounded up to 4 MiB). On failure ok() is false
  /// and every request fails. group: counted with other sources (MemoryGroup; it
  /// must outlive the source); ok() is false when the group has no room left.
  explicit MemorySource(std::size_t reserve = kDefaultReserve, std::size_t limit = 0,
                        SourceBacking backing = SourceBacking::Real, MemoryGroup* group = nullptr);
  ~MemorySource();
  MemorySource(const MemorySource&) = delete;
  MemorySource& operator=(const MemorySource&) = delete;

  bool ok() const { return base_ != nullptr; }

  // ---- region (sbrk-style) ----
  /// Moves the break up by `bytes`; returns the old break (start of the new
  /// bytes), or nullptr if the region or the limit would be exceeded.
  void* grow(std::size_t bytes);
  /// Moves the break down by `bytes` (<= region_size()); whole pages above the
  /// new break go back to the OS.
  void shrink(std::size_t bytes);
  char* region_base() const { return base_; }
  char* brk() const { return brk_; }
  std::size_t region_size() const { return static_cast<std::size_t>(brk_ - base_); }
  std::size_t region_capacity() const { return half_; }

  // ---- chunks (mmap-style) ----
  /// Commits a chunk of `bytes` (rounded up to pages) aligned to `align` (a power
  /// of two; < page size means page aligned). nullptr on failure.
  /// zero = false: the caller does not need the memory to read as zero (a reused
  /// kept chunk is then handed out as it was; fresh pages read as zero anyway).
  void* map(std::size_t bytes, std::size_t align = kPageSize, bool zero = true);
  /// Tests: every map(.., zero = false), of any source of the process, returns its
  /// chunk filled with 0xA5 (kScribble), not as it was. Off by default.
  static void set_scribble(bool on);
  static constexpr unsigned char kScribble = 0xA5;
  /// Returns a chunk (or a page-aligned tail/head part of one) to the OS.
  void unmap(void* p, std::size_t bytes);
  /// Called by a moving remap once the destination `dst` is chosen and before any
  /// page moves: the owner sets up its metadata for dst (it may map from this
  /// source). false cancels the remap (it then fails, the chunk intact).
  using RemapPrepare = bool (*)(void* ctx, void* dst);
  /// Resizes the chunk [p, p + old_bytes) (from map(), both sizes rounded up to
  /// pages, new_bytes > 0) to new_bytes, preserving min(old, new) bytes; bytes past
  /// the old size read as zero. Returns p (shrunk or grown in place) or the chunk's
  /// new address (moved, aligned to `align`; p is then no longer mapped), or
  /// nullptr with the chunk untouched (limit, no free range, prepare refused).
  /// If prepare ran (it was given dst) and the remap still failed, *ctx's owner
  /// must undo what prepare did for dst; remap fails after prepare only when
  /// prepare's own mappings pushed the footprint past the limit.
  void* remap(void* p, std::size_t old_bytes, std::size_t new_bytes, std::size_t align = kPageSize,
              RemapPrepare prepare = nullptr, void* ctx = nullptr);
  char* chunk_base() const { return base_ + half_; }
  std::size_t chunk_capacity() const { return reserved_ - half_; }

  // ---- lazily committed metadata (e.g. a flat pagemap) ----
  /// Takes `bytes` (rounded up to pages) of chunk address space aligned to `align`
  /// WITHOUT committing it (it costs no footprint and faults if touched). Commit
  /// parts with commit_pages. A reservation is never returned before the source dies.
  /// readable: the range can be read before it is committed (it reads as zero and
  /// costs no memory: the kernel maps its shared zero page), so a table over it can
  /// be looked up without first checking which of its pages are committed.
  void* reserve(std::size_t bytes, std::size_t align = kPageSize, bool readable = false);
  /// Commits the pages covering [p, p+bytes) of a reserve()d range (counted in the
  /// footprint like any commit); false past the limit. Committing twice is a bug.
  bool commit_pages(void* p, std::size_t bytes);

  // ---- accounting ----
  char* base() const { return base_; }
  std::size_t reserved() const { return reserved_; }
  bool contains(const void* p) const {
    auto a = reinterpret_cast<const char*>(p);
    return a >= base_ && a < base_ + reserved_;
  }
  std::uint64_t footprint() const { return footprint_; }
  std::uint64_t peak_footprint() const { return peak_; }
  std::uint64_t os_calls() const { return os_calls_; }
  /// Keeps up to `bytes` (rounded down to pages) of unmapped chunks committed for
  /// reuse (see "Retention" above); 0 (the default) returns every chunk at once;
  /// kRetainAuto adapts the budget to the blocks the program frees (retain=auto).
  void set_retain(std::size_t bytes);
  /// The budget now (under kRetainAuto it grows as the program runs).
  std::size_t retain() const { return retain_limit_; }
  bool retain_auto() const { return retain_auto_; }
  /// Bytes of unmapped chunks kept committed for reuse now.
  std::size_t kept_bytes() const { return kept_bytes_; }
  std::size_t limit() const { return limit_; }
  SourceBacking backing() const { return backing_; }

  // ---- simulated backing only (0 / no effect for the real one) ----
  /// Bytes decommitted but still resident (zeroed when committed again).
  std::size_t dirty_bytes() const { return dirty_bytes_; }
  /// Batch releases (madvise) done so far.
  std::uint64_t dirty_releases() const { return dirty_releases_; }
  /// Test hook: lowers (or raises) the dirty budget; takes effect at the next decommit.
  void set_dirty_budget(std::size_t bytes) { dirty_budget_ = bytes; }

  /// Test hook (both backings): moving remaps take the memcpy path that is used
  /// when mremap refuses, so both paths can be compared.
  void set_remap_by_copy(bool on) { remap_by_copy_ = on; }

 private:
  struct Range {
    std::uintptr_t start;
    std::size_t len;
  };
  static constexpr std::size_t kMaxRanges = 1024;
  static constexpr std::size_t kMaxKept = 1024;

  bool commit(char* p, std::size_t bytes);
  // True when `bytes` more would pass the source's limit or its group's.
  bool over_limit(std::size_t bytes) const {
    return (limit_ != 0 && footprint_ + bytes > limit_) ||
           (group_ != nullptr && group_->limit != 0 && group_->footprint + bytes > group_->limit);
  }
  // footprint += delta (bytes, may be negative), the peak and the group's with it.
  void add_footprint(std::int64_t delta) {
    footprint_ += static_cast<std::uint64_t>(delta);
    if (footprint_ > peak_) peak_ = footprint_;
    if (group_ != nullptr) {
      group_->footprint += static_cast<std::uint64_t>(delta);
      if (group_->footprint > group_->peak) group_->peak = group_->footprint;
    }
  }
  std::uintptr_t take_range(std::size_t bytes, std::size_t align);  // 0 if none
  bool take_range_at(std::uintptr_t start, std::size_t bytes);      // exactly there, or false
  // Moves the committed pages [src, src+old) to dst and commits [dst+old, dst+len);
  // src's range becomes reserved, uncommitted address space. No accounting.
  // 0: nothing moved (the OS refused); 1: moved; 2: moved, but src's range could
  // not be reserved again (it must never be handed out).
  int move_pages(char* src, std::size_t old, char* dst, std::size_t len);
  // Simulated backing: forgets the dirty pages of [p, p+bytes), zeroing them first
  // when `zero` (clean_pages) or not (their contents were replaced by a move).
  void drop_dirty(char* p, std::size_t bytes, bool zero);
  void decommit(char* p, std::size_t bytes);
  void add_free_range(std::uintptr_t start, std::size_t len);
  // Simulated backing: zero + forget the dirty pages in [p, p+bytes); remember them.
  void clean_pages(char* p, std::size_t bytes);
  void mark_dirty(char* p, std::size_t bytes);
  void release_dirty();
  // Retention: a kept chunk of >= bytes at `align` (best fit, newest first), or 0.
  std::uintptr_t take_kept(std::size_t bytes, std::size_t align);
  // Returns the oldest kept chunk to the OS and the free ranges.
  void drop_oldest_kept();

  char* base_ = nullptr;
  std::size_t reserved_ = 0;
  std::size_t half_ = 0;
  std::size_t limit_ = 0;
  char* brk_ = nullptr;
  char* committed_brk_ = nullptr;  // page-rounded end of the committed region
  std::uint64_t footprint_ = 0;
  std::uint64_t peak_ = 0;
  std::uint64_t os_calls_ = 0;
  SourceBacking backing_ = SourceBacking::Real;
  MemoryGroup* group_ = nullptr;
  // Simulated backing: one bit per page of the reservation, at base_ + reserved_.
  std::uint64_t* dirty_ = nullptr;
  std::size_t dirty_map_bytes_ = 0;  // mapped bytes of the bitmap (page-rounded)
  std::size_t dirty_lo_ = SIZE_MAX, dirty_hi_ = 0;  // word range that may hold set bits
  std::size_t dirty_bytes_ = 0;
  std::size_t dirty_budget_ = kDefaultDirtyBudget;
  std::uint64_t dirty_releases_ = 0;
  bool remap_by_copy_ = false;
  // Free address ranges of the chunk half, sorted by address, coalesced.
  Range ranges_[kMaxRanges];
  std::size_t nranges_ = 0;
  // Retention: unmapped chunks kept committed, oldest first.
  Range kept_[kMaxKept];
  std::size_t nkept_ = 0;
  std::size_t kept_bytes_ = 0;
  std::size_t retain_limit_ = 0;
  bool retain_auto_ = false;
  void* map_chunk(std::size_t bytes, std::size_t align, bool zero);  // map() but for the scribble
  void note_freed(std::size_t bytes);  // retain=auto: the budget follows what is freed
};

}  // namespace evo
