// evaluate/cache_model.hpp — a two-level set-associative LRU cache model fed by addresses.
//
// Used by the metrics (evaluate/metrics.hpp) to turn the address stream of an
// allocator's metadata touches (core/probe.hpp) and the program's first touch of
// each returned block into simulated cache misses and distinct pages.
//
// Model (the documented defaults, CacheConfig{}):
//   L1: 32 KiB, 8-way, 64 B lines  (64 sets)
//   L2:  1 MiB, 16-way, 64 B lines (1024 sets)
//   pages: 4 KiB
// * An access of `bytes` at `addr` touches every line in [addr, addr+bytes); each
//   line is one access to L1. An L1 miss goes to L2. Replacement is true LRU per
//   set in both levels; the levels are non-inclusive (an L2 hit fills L1, an L2
//   miss fills both; evictions are independent).
// * Every access carries a Source tag (allocator metadata or program data); the
//   counters are kept per source so metrics can charge the allocator's own misses
//   to speed and all misses to locality, while both streams share (and pollute)
//   the same cache, as they would on a real machine.
// * Distinct pages: the number of distinct 4 KiB pages ever touched (all sources),
//   kept exactly in an open-addressed hash table.
// * Page renaming (CacheConfig::rename_pages, on by default): each distinct virtual
//   page is given a dense frame number in order of first touch, and the caches
//   are indexed with (frame, offset in page) instead of the virtual address. Real
//   L2 caches are physically indexed and the OS hands out frames in no relation to
//   virtual addresses, so this is no less faithful; and it makes the counts
//   independent of where mmap placed the instance's reservation or where the
//   heap placed its state (page-aligned shifts change nothing), which keeps the
//   modeled metrics reproducible run to run and thread to thread.
//
// Contract: sizes are powers of two, ways >= 1, line <= page; set counts are
// size / (ways * line) and must be >= 1 (checked by the constructor, which throws
// std::invalid_argument). Not thread-safe: one model per replay/thread.
// Cost: O(ways) per line access, no allocation except when the page set grows.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace evo {

struct CacheConfig {
  std::uint32_t line = 64;             ///< line size in bytes (both levels)
  std::uint32_t l1_size = 32 * 1024;   ///< bytes
  std::uint32_t l1_ways = 8;
  std::uint32_t l2_size = 1024 * 1024; ///< bytes
  std::uint32_t l2_ways = 16;
  std::uint32_t page = 4096;           ///< page size for the distinct-page count
  bool rename_pages = true;            ///< index caches by first-touch frame number (see above)
};

/// Who made an access.
enum class Source : int { Meta = 0, Program = 1 };

/// Counters of one source.
struct CacheCounts {
  std::uint64_t touches = 0;    ///< access() calls
  std::uint64_t accesses = 0;   ///< line accesses (a touch spanning k lines counts k)
  std::uint64_t l1_misses = 0;  ///< line accesses that missed L1
  std::uint64_t l2_misses = 0;  ///< line accesses that missed L1 and L2
};

class CacheModel {
 public:
  explicit CacheModel(const CacheConfig& cfg = {});

  /// One access of `bytes` (>= 1; 0 is treated as 1) at address `addr`.
  void access(std::uintptr_t addr, std::uint32_t bytes, Source src = Source::Meta) {
    CacheCounts& c = counts_[static_cast<int>(src)];
    ++c.touches;
    if (bytes == 0) bytes = 1;
    std::uintptr_t first = addr >> line_shift_;
    std::uintptr_t last = (addr + bytes - 1) >> line_shift_;
    for (std::uintptr_t l = first; l <= last; ++l) access_line(l, c);
  }
  void access(const void* addr, std::uint32_t bytes, Source src = Source::Meta) {
    access(reinterpret_cast<std::uintptr_t>(addr), bytes, src);
  }

  const CacheCounts& counts(Source s) const { return counts_[static_cast<int>(s)]; }
  /// Sum over both sources.
  CacheCounts total() const;
  /// Distinct pages touched so far (all sources).
  std::uint64_t distinct_pages() const { return pages_size_; }
  const CacheConfig& config() const { return cfg_; }

  /// Empties both levels, the page set and the counters.
  void reset();

 private:
  // One level: sets x ways of line tags, each set ordered most-recent first.
  struct Level {
    std::uint32_t ways = 0;
    std::uint64_t set_mask = 0;
    std::vector<std::uint64_t> tags;  // kEmpty for an invalid way
    /// Looks `line` up; on a hit moves it to the front, on a miss inserts it at the
    /// front (evicting the LRU way). Returns true on a hit.
    bool lookup(std::uint64_t line) {
      std::uint64_t* set = &tags[(line & set_mask) * ways];
      if (set[0] == line) return true;
      for (std::uint32_t i = 1; i < ways; ++i) {
        if (set[i] == line) {
          for (std::uint32_t j = i; j > 0; --j) set[j] = set[j - 1];
          set[0] = line;
          return true;
        }
      }
      for (std::uint32_t j = ways - 1; j > 0; --j) set[j] = set[j - 1];
      set[0] = line;
      return false;
    }
  };
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};

  void access_line(std::uint64_t line, CacheCounts& c) {
    ++c.accesses;
    // Same line as the previous access: it is the MRU way of its L1 set.
    if (line == last_line_) return;
    last_line_ = line;
    const std::uint64_t page = line >> page_line_shift_;
    if (page != last_page_) {
      last_page_ = page;
      last_frame_ = note_page(page);
    }
    const std::uint64_t key =
        cfg_.rename_pages ? (last_frame_ << page_line_shift_) | (line & page_line_mask_) : line;
    if (l1_.lookup(key)) return;
    ++c.l1_misses;
    if (l2_.lookup(key)) return;
    ++c.l2_misses;
  }
  /// Records `page`; returns its frame number (dense, in order of first touch).
  std::uint64_t note_page(std::uint64_t page);
  void grow_pages();

  CacheConfig cfg_;
  unsigned line_shift_ = 6;
  unsigned page_line_shift_ = 6;  // log2(page / line)
  std::uint64_t page_line_mask_ = 63;
  Level l1_, l2_;
  std::uint64_t last_line_ = kEmpty;
  std::uint64_t last_page_ = kEmpty;
  std::uint64_t last_frame_ = 0;
  std::array<CacheCounts, 2> counts_{};
  std::vector<std::uint64_t> pages_;   // open addressing, kEmpty = free slot
  std::vector<std::uint64_t> frames_;  // frame number of pages_[i]
  std::uint64_t pages_size_ = 0;
};

}  // namespace evo
