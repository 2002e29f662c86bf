// core/source/memory_source.cpp — see memory_source.hpp for the contract.
#include "core/source/memory_source.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>

namespace evo {
namespace {

constexpr std::size_t kReserveGranule = std::size_t{2} << 20;
constexpr std::size_t kBaseAlign = std::size_t{1} << 30;  // see the constructor

std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) & ~(a - 1); }

constexpr std::size_t kPageShift = 12;
static_assert(std::size_t{1} << kPageShift == kPageSize);

}  // namespace

const char* source_backing_name(SourceBacking b) { return b == SourceBacking::Simulated ? "simulated" : "real"; }

MemorySource::MemorySource(std::size_t reserve, std::size_t limit, SourceBacking backing, MemoryGroup* group)
    : limit_(limit), backing_(backing), group_(group) {
  if (group != nullptr && group->nmembers == MemoryGroup::kMaxMembers) return;  // ok() false
  reserve = round_up(reserve < 2 * kReserveGranule ? 2 * kReserveGranule : reserve, 2 * kReserveGranule);
  const bool sim = backing == SourceBacking::Simulated;
  // Simulated: one dirty bit per page, in pages mapped just past the reservation.
  // Rounded to the granule so the mapping's length (and with it the kernel's choice
  // of alignment for the base, which first-fit placement depends on) is the same
  // kind as the real backing's: offsets from base() match across backings.
  // The base is aligned to kBaseAlign (map more, unmap the excess head and tail), so
  // a chunk aligned in absolute terms (superblocks at their size) lies at the same
  // offset from base() wherever the kernel put the mapping: layouts, and with them
  // the modeled metrics, do not depend on mmap's choice.
  // The default reservation falls back to halves of itself (down to kMinFallbackReserve)
  // when the process's address space is capped (ulimit -v, valgrind's address space
  // manager); any other size is all or nothing.
  const bool may_shrink = reserve == round_up(kDefaultReserve, 2 * kReserveGranule);
  std::size_t map_bytes = 0, len = 0;
  void* p = MAP_FAILED;
  for (;;) {
    map_bytes = sim ? round_up((reserve >> kPageShift) / 8, kReserveGranule) : 0;
    len = reserve + map_bytes;
    p = ::mmap(nullptr, len + kBaseAlign, sim ? PROT_READ | PROT_WRITE : PROT_NONE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED || !may_shrink || reserve / 2 < kMinFallbackReserve) break;
    reserve /= 2;
  }
  if (p == MAP_FAILED) return;
  const auto raw = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t aligned = round_up(raw, kBaseAlign);
  if (aligned > raw) ::munmap(p, aligned - raw);
  if (raw + kBaseAlign > aligned) ::munmap(reinterpret_cast<void*>(aligned + len), raw + kBaseAlign - aligned);
  base_ = reinterpret_cast<char*>(aligned);
  reserved_ = reserve;
  if (sim) {
    dirty_ = reinterpret_cast<std::uint64_t*>(base_ + reserve);
    dirty_map_bytes_ = map_bytes;
  }
  half_ = reserve / 2;
  brk_ = committed_brk_ = base_;
  ranges_[0] = {reinterpret_cast<std::uintptr_t>(base_ + half_), half_};
  nranges_ = 1;
  if (group != nullptr)
    group->members[group->nmembers++] = {aligned, aligned + reserve, group->tag};
}

MemorySource::~MemorySource() {
  if (group_ != nullptr) group_->footprint -= footprint_;
  if (base_ != nullptr) ::munmap(base_, reserved_ + dirty_map_bytes_);
}

bool MemorySource::commit(char* p, std::size_t bytes) {
  if (over_limit(bytes)) return false;
  ++os_calls_;
  if (dirty_ != nullptr) {
    clean_pages(p, bytes);
  } else if (::mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0) {
    return false;
  }
  add_footprint(static_cast<std::int64_t>(bytes));
  return true;
}

void MemorySource::decommit(char* p, std::size_t bytes) {
  ++os_calls_;
  add_footprint(-static_cast<std::int64_t>(bytes));
  if (dirty_ != nullptr) {
    mark_dirty(p, bytes);
    return;
  }
  // Replacing the pages drops their contents and physical memory at once and
  // leaves them inaccessible again (a stray access faults instead of reading junk).
  ::mmap(p, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

// ---- simulated backing: the dirty-page bitmap ----
// Page i of the reservation is bit i % 64 of word i / 64. A set bit: the page was
// decommitted and may hold old contents. Only words in [dirty_lo_, dirty_hi_] can
// hold set bits, so an empty or sparse bitmap is never scanned whole.

void MemorySource::clean_pages(char* p, std::size_t bytes) { drop_dirty(p, bytes, true); }

void MemorySource::drop_dirty(char* p, std::size_t bytes, bool zero) {
  if (dirty_bytes_ == 0 || bytes < kPageSize) return;
  const std::size_t first = static_cast<std::size_t>(p - base_) >> kPageShift;
  const std::size_t last = first + (bytes >> kPageShift);  // exclusive
  std::size_t w0 = first / 64, w1 = (last - 1) / 64;
  if (w0 < dirty_lo_) w0 = dirty_lo_;
  if (w1 > dirty_hi_) w1 = dirty_hi_;
  for (std::size_t w = w0; w <= w1 && w0 <= w1; ++w) {
    std::uint64_t mask = ~std::uint64_t{0};
    if (w == first / 64) mask &= ~std::uint64_t{0} << (first % 64);
    if (w == (last - 1) / 64 && last % 64 != 0) mask &= ~std::uint64_t{0} >> (64 - last % 64);
    std::uint64_t hit = dirty_[w] & mask;
    if (hit == 0) continue;
    dirty_[w] &= ~hit;
    dirty_bytes_ -= static_cast<std::size_t>(std::popcount(hit)) * kPageSize;
    while (zero && hit != 0) {
      const unsigned b = static_cast<unsigned>(std::countr_zero(hit));
      const unsigned run = static_cast<unsigned>(std::countr_one(hit >> b));
      std::memset(base_ + ((w * 64 + b) << kPageShift), 0, std::size_t{run} << kPageShift);
      hit = run + b >= 64 ? 0 : hit & (~std::uint64_t{0} << (b + run));
    }
  }
}

void MemorySource::mark_dirty(char* p, std::size_t bytes) {
  const std::size_t first = static_cast<std::size_t>(p - base_) >> kPageShift;
  const std::size_t last = first + (bytes >> kPageShift);  // exclusive
  if (last == first) return;
  const std::size_t w0 = first / 64, w1 = (last - 1) / 64;
  for (std::size_t w = w0; w <= w1; ++w) {
    std::uint64_t mask = ~std::uint64_t{0};
    if (w == w0) mask &= ~std::uint64_t{0} << (first % 64);
    if (w == w1 && last % 64 != 0) mask &= ~std::uint64_t{0} >> (64 - last % 64);
    const std::uint64_t fresh = mask & ~dirty_[w];
    if (fresh == 0) continue;
    dirty_[w] |= fresh;
    dirty_bytes_ += static_cast<std::size_t>(std::popcount(fresh)) * kPageSize;
  }
  if (w0 < dirty_lo_) dirty_lo_ = w0;
  if (w1 > dirty_hi_) dirty_hi_ = w1;
  if (dirty_bytes_ > dirty_budget_) release_dirty();
}

void MemorySource::release_dirty() {
  // One madvise per run of dirty pages: private anonymous pages read as zero after
  // MADV_DONTNEED, so the bits can be cleared without zeroing anything.
  std::size_t run_start = 0, run_len = 0;
  auto flush = [&] {
    if (run_len != 0) ::madvise(base_ + (run_start << kPageShift), run_len << kPageShift, MADV_DONTNEED);
    run_len = 0;
  };
  for (std::size_t w = dirty_lo_; w <= dirty_hi_; ++w) {
    std::uint64_t bits = dirty_[w];
    if (bits == 0) {
      flush();
      continue;
    }
    dirty_[w] = 0;
    for (unsigned b = 0; b < 64; ++b) {
      if ((bits >> b) & 1) {
        const std::size_t page = w * 64 + b;
        if (run_len != 0 && run_start + run_len == page) {
          ++run_len;
        } else {
          flush();
          run_start = page;
          run_len = 1;
        }
      } else {
        flush();
      }
    }
  }
  flush();
  dirty_bytes_ = 0;
  dirty_lo_ = SIZE_MAX;
  dirty_hi_ = 0;
  ++dirty_releases_;
}

void* MemorySource::grow(std::size_t bytes) {
  if (base_ == nullptr) return nullptr;
  if (bytes > static_cast<std::size_t>(base_ + half_ - brk_)) return nullptr;
  char* old = brk_;
  char* want = brk_ + bytes;
  if (want > committed_brk_) {
    char* end = base_ + round_up(static_cast<std::size_t>(want - base_), kPageSize);
    if (!commit(committed_brk_, static_cast<std::size_t>(end - committed_brk_))) return nullptr;
    committed_brk_ = end;
  }
  brk_ = want;
  return old;
}

void MemorySource::shrink(std::size_t bytes) {
  if (bytes > region_size()) bytes = region_size();
  brk_ -= bytes;
  note_freed(bytes);
  // Up to `retain` bytes above the break stay committed (glibc's trim threshold): a
  // program that frees a large block at the top and takes it again pays neither the
  // system calls nor the page faults.
  const std::size_t used = round_up(static_cast<std::size_t>(brk_ - base_), kPageSize);
  char* keep = base_ + std::min(used + retain_limit_, half_);
  if (keep < committed_brk_) {
    decommit(keep, static_cast<std::size_t>(committed_brk_ - keep));
    committed_brk_ = keep;
  }
}

std::uintptr_t MemorySource::take_range(std::size_t bytes, std::size_t align) {
  for (std::size_t i = 0; i < nranges_; ++i) {
    Range& r = ranges_[i];
    std::uintptr_t start = round_up(r.start, align);
    std::size_t lead = start - r.start;
    if (lead + bytes > r.len) continue;
    std::size_t tail = r.len - lead - bytes;
    std::uintptr_t tail_start = start + bytes;
    if (lead == 0 && tail == 0) {
      std::memmove(&ranges_[i], &ranges_[i + 1], (nranges_ - i - 1) * sizeof(Range));
      --nranges_;
    } else if (lead == 0) {
      r = {tail_start, tail};
    } else if (tail == 0) {
      r.len = lead;
    } else if (nranges_ == kMaxRanges) {
      // Table full: one of the two pieces is dropped (its addresses are never handed
      // out again; only addresses are lost, never committed memory). The smaller
      // one: the tail of the last range is the rest of the whole reservation, and
      // dropping it would end every later map.
      if (tail > lead) r = {tail_start, tail};
      else r.len = lead;
    } else {
      r.len = lead;
      std::memmove(&ranges_[i + 2], &ranges_[i + 1], (nranges_ - i - 1) * sizeof(Range));
      ranges_[i + 1] = {tail_start, tail};
      ++nranges_;
    }
    return start;
  }
  return 0;
}

void MemorySource::set_retain(std::size_t bytes) {
  retain_auto_ = bytes == kRetainAuto;
  retain_limit_ = retain_auto_ ? kAutoRetainStart : bytes & ~(kPageSize - 1);
  while (kept_bytes_ > retain_limit_) drop_oldest_kept();
}

void MemorySource::note_freed(std::size_t bytes) {
  if (retain_auto_ && bytes > retain_limit_ && retain_limit_ < kAutoRetainMax)
    retain_limit_ = bytes >= kAutoRetainMax / 2 ? kAutoRetainMax : round_up(2 * bytes, kPageSize);
}

std::uintptr_t MemorySource::take_kept(std::size_t bytes, std::size_t align) {
  std::size_t best = kMaxKept;
  for (std::size_t i = nkept_; i-- > 0;) {
    const Range& r = kept_[i];
    if (r.len < bytes || r.start % align != 0) continue;
    if (best == kMaxKept || r.len < kept_[best].len) best = i;
    if (r.len == bytes) break;
  }
  if (best == kMaxKept) return 0;
  const std::uintptr_t start = kept_[best].start;
  if (kept_[best].len == bytes) {
    std::memmove(&kept_[best], &kept_[best + 1], (nkept_ - best - 1) * sizeof(Range));
    --nkept_;
  } else {
    kept_[best] = {start + bytes, kept_[best].len - bytes};
  }
  kept_bytes_ -= bytes;
  return start;
}

void MemorySource::drop_oldest_kept() {
  const Range r = kept_[0];
  std::memmove(&kept_[0], &kept_[1], (nkept_ - 1) * sizeof(Range));
  --nkept_;
  kept_bytes_ -= r.len;
  decommit(reinterpret_cast<char*>(r.start), r.len);
  add_free_range(r.start, r.len);
}

namespace {
std::atomic<bool> g_scribble{false};
}  // namespace

void MemorySource::set_scribble(bool on) { g_scribble.store(on, std::memory_order_relaxed); }

void* MemorySource::map(std::size_t bytes, std::size_t align, bool zero) {
  void* p = map_chunk(bytes, align, zero);
  if (!zero && p != nullptr && g_scribble.load(std::memory_order_relaxed)) [[unlikely]]
    std::memset(p, kScribble, round_up(bytes, kPageSize));
  return p;
}

void* MemorySource::map_chunk(std::size_t bytes, std::size_t align, bool zero) {
  if (base_ == nullptr || bytes == 0) return nullptr;
  bytes = round_up(bytes, kPageSize);
  if (align < kPageSize) align = kPageSize;
  if (bytes > half_) return nullptr;
  if (nkept_ != 0) {
    if (const std::uintptr_t k = take_kept(bytes, align); k != 0) {
      if (zero) std::memset(reinterpret_cast<void*>(k), 0, bytes);
      return reinterpret_cast<void*>(k);
    }
  }
  // Under a footprint limit, kept chunks go back before a fresh map fails.
  while (over_limit(bytes) && nkept_ != 0) drop_oldest_kept();
  if (over_limit(bytes)) return nullptr;
  std::uintptr_t start = take_range(bytes, align);
  if (start == 0) return nullptr;
  if (!commit(reinterpret_cast<char*>(start), bytes)) {
    add_free_range(start, bytes);
    return nullptr;
  }
  return reinterpret_cast<void*>(start);
}

bool MemorySource::take_range_at(std::uintptr_t start, std::size_t bytes) {
  // Free ranges are coalesced, so a free range holding `start` just past a chunk
  // begins exactly there.
  std::size_t lo = 0, hi = nranges_;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    if (ranges_[mid].start < start) lo = mid + 1;
    else hi = mid;
  }
  if (lo == nranges_ || ranges_[lo].start != start || ranges_[lo].len < bytes) return false;
  Range& r = ranges_[lo];
  if (r.len == bytes) {
    std::memmove(&ranges_[lo], &ranges_[lo + 1], (nranges_ - lo - 1) * sizeof(Range));
    --nranges_;
  } else {
    r = {start + bytes, r.len - bytes};
  }
  return true;
}

int MemorySource::move_pages(char* src, std::size_t old, char* dst, std::size_t len) {
  // The kernel moves the page table entries (no copy) and extends the mapping with
  // zero-fill pages up to len; dst's reserved pages are replaced. The hole left at
  // src is mapped again so the reservation stays whole.
  constexpr int kFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED;
  const bool sim = dirty_ != nullptr;
  if (!remap_by_copy_ && ::mremap(src, old, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == dst) {
    if (sim) drop_dirty(dst, len, false);  // replaced by the moved pages and fresh zero pages
    // Simulated: fresh read/write pages (they read as zero, nothing dirty to remember).
    return ::mmap(src, old, sim ? PROT_READ | PROT_WRITE : PROT_NONE, kFlags, -1, 0) == src ? 1 : 2;
  }
  // mremap refused (src spans two kernel mappings, or too many mappings): copy.
  if (sim) {
    clean_pages(dst + old, len - old);
    drop_dirty(dst, old, false);  // overwritten below
    std::memcpy(dst, src, old);
    mark_dirty(src, old);
    return 1;
  }
  if (::mprotect(dst, len, PROT_READ | PROT_WRITE) != 0) return 0;
  std::memcpy(dst, src, old);
  ::mmap(src, old, PROT_NONE, kFlags, -1, 0);
  return 1;
}

void* MemorySource::remap(void* p, std::size_t old_bytes, std::size_t new_bytes, std::size_t align,
                          RemapPrepare prepare, void* ctx) {
  if (base_ == nullptr || p == nullptr || new_bytes == 0) return nullptr;
  const std::size_t old = round_up(old_bytes, kPageSize);
  const std::size_t len = round_up(new_bytes, kPageSize);
  char* c = static_cast<char*>(p);
  const auto start = reinterpret_cast<std::uintptr_t>(c);
  if (len == old) return p;
  if (len < old) {
    decommit(c + len, old - len);
    add_free_range(start + len, old - len);
    return p;
  }
  if (len > half_) return nullptr;
  const std::size_t extra = len - old;
  if (over_limit(extra)) return nullptr;
  if (take_range_at(start + old, extra)) {  // grow in place
    if (commit(c + old, extra)) return p;
    add_free_range(start + old, extra);
    return nullptr;
  }
  if (align < kPageSize) align = kPageSize;
  const std::uintptr_t to = take_range(len, align);
  if (to == 0) return nullptr;
  char* dst = reinterpret_cast<char*>(to);
  if ((prepare != nullptr && !prepare(ctx, dst)) || over_limit(extra)) {
    add_free_range(to, len);
    return nullptr;
  }
  const int moved = move_pages(c, old, dst, len);
  if (moved == 0) {
    add_free_range(to, len);
    return nullptr;
  }
  // 2: the hole at the old range could not be mapped again; like a full range
  // table, its addresses are dropped (never handed out again).
  if (moved == 1) add_free_range(start, old);
  os_calls_ += 2;
  add_footprint(static_cast<std::int64_t>(extra));
  return dst;
}

void* MemorySource::reserve(std::size_t bytes, std::size_t align, bool readable) {
  if (base_ == nullptr || bytes == 0) return nullptr;
  bytes = round_up(bytes, kPageSize);
  if (align < kPageSize) align = kPageSize;
  if (bytes > half_) return nullptr;
  const std::uintptr_t p = take_range(bytes, align);
  if (p == 0) return nullptr;
  // Readable: untouched pages read as the kernel's shared zero page (no memory).
  if (readable && dirty_ != nullptr) clean_pages(reinterpret_cast<char*>(p), bytes);  // simulated: reads as zero
  if (readable && dirty_ == nullptr && ::mprotect(reinterpret_cast<void*>(p), bytes, PROT_READ) != 0) {
    add_free_range(p, bytes);
    return nullptr;
  }
  return reinterpret_cast<void*>(p);
}

bool MemorySource::commit_pages(void* p, std::size_t bytes) {
  auto a = reinterpret_cast<std::uintptr_t>(p);
  std::uintptr_t start = a & ~std::uintptr_t(kPageSize - 1);
  std::uintptr_t end = round_up(a + bytes, kPageSize);
  return commit(reinterpret_cast<char*>(start), end - start);
}

void MemorySource::unmap(void* p, std::size_t bytes) {
  if (p == nullptr || bytes == 0) return;
  bytes = round_up(bytes, kPageSize);
  note_freed(bytes);
  if (bytes <= retain_limit_) {
    while (nkept_ != 0 && (nkept_ == kMaxKept || kept_bytes_ + bytes > retain_limit_)) drop_oldest_kept();
    kept_[nkept_++] = {reinterpret_cast<std::uintptr_t>(p), bytes};
    kept_bytes_ += bytes;
    return;
  }
  decommit(static_cast<char*>(p), bytes);
  add_free_range(reinterpret_cast<std::uintptr_t>(p), bytes);
}

void MemorySource::add_free_range(std::uintptr_t start, std::size_t len) {
  // Position of the first range after `start`.
  std::size_t i = 0;
  while (i < nranges_ && ranges_[i].start < start) ++i;
  bool merge_prev = i > 0 && ranges_[i - 1].start + ranges_[i - 1].len == start;
  bool merge_next = i < nranges_ && start + len == ranges_[i].start;
  if (merge_prev && merge_next) {
    ranges_[i - 1].len += len + ranges_[i].len;
    std::memmove(&ranges_[i], &ranges_[i + 1], (nranges_ - i - 1) * sizeof(Range));
    --nranges_;
  } else if (merge_prev) {
    ranges_[i - 1].len += len;
  } else if (merge_next) {
    ranges_[i].start = start;
    ranges_[i].len += len;
  } else {
    if (nranges_ == kMaxRanges) {
      // Table full: the smallest range goes (its addresses are never handed out
      // again), or the new one when it is no larger.
      std::size_t smallest = 0;
      for (std::size_t k = 1; k < nranges_; ++k)
        if (ranges_[k].len < ranges_[smallest].len) smallest = k;
      if (ranges_[smallest].len >= len) return;
      std::memmove(&ranges_[smallest], &ranges_[smallest + 1], (nranges_ - smallest - 1) * sizeof(Range));
      --nranges_;
      if (smallest < i) --i;
    }
    std::memmove(&ranges_[i + 1], &ranges_[i], (nranges_ - i) * sizeof(Range));
    ranges_[i] = {start, len};
    ++nranges_;
  }
}

}  // namespace evo
