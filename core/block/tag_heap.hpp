// core/block/tag_heap.hpp — TagHeap: a boundary-tag heap, the engine of the
// block-based (segregated fits) family and of the textbook free-list designs.
//
// Composition (compile time): Index = where free chunks wait and how one is chosen
// (core/block/indexes.hpp); C = coalescing {None, Immediate, Deferred}; Selective =
// split only when the remainder is >= split_min (else whenever it can hold a chunk).
// Numbers (run time, HeapConfig): the top growth size, split_min, the large
// threshold, the minimum alignment and the memory source.
//
// Memory. Chunks (core/block/chunk.hpp) live in segments taken from the instance's
// MemorySource: source=region -> one segment that grows with the break (and is
// trimmed when the top exceeds 2 x grow + 64K); source=mmap -> segments of at
// least `grow` bytes from map(), a segment entirely free (and not the top one) goes
// back to the OS. Segment layout:
//   S+0 next segment | S+8 segment bytes | S+16 prologue fence | S+24 first chunk
//   ... chunks ... | S+bytes-8 epilogue fence
// The top chunk (wilderness) is the free chunk at the end of the newest segment;
// it is not in the index and is carved when the index has no fit, then grown by
// at least `grow` bytes. Requests >= `large` (0 = never) are mapped one each:
// header word at p-8 = mapped bytes | kMapped | kInUse, word at p-16 = p - base.
// reallocate of a mapped block to a size that is mapped too resizes its chunk with
// MemorySource::remap (in place, or moved without copying; the header words move
// with it), unless the block may stay (new size within [usable/2, usable]).
// The index's own tables (list heads, bitmaps, class limits, trees) come from the
// same source through a MetaArena (arena()), so the footprint counts them and the
// heap never calls malloc once built.
//
// Coalescing: Immediate merges a freed chunk with free neighbours at once (O(1)
// through footers, or through the address-ordered list for AddrList); Deferred
// only marks chunks free and merges every run of free chunks in one pass over the
// segments when a search fails and at least 64 + 1/4 of all chunks were freed
// since the last pass (amortised O(1) per free); None never merges (freed chunks
// keep their size; only the top is carved).
//
// Alignment: every block is 16-byte aligned; larger alignments (a request's or
// min_align) over-allocate, split off a leading free chunk and trim the tail.
// usable_size = chunk size - 16 (footers) or - 8 (no footers). Allocation failure
// (source exhausted, limit reached, size > 2^46) returns nullptr.
#pragma once

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "core/adapter.hpp"
#include "core/block/chunk.hpp"
#include "core/ops.hpp"
#include "core/probe.hpp"
#include "core/source/memory_source.hpp"
#include "core/source/meta_arena.hpp"

namespace evo::block {

enum class Coalesce { None, Immediate, Deferred };

struct HeapConfig {
  std::size_t grow = 64 * 1024;  ///< minimum growth of the top (bytes)
  std::size_t split_min = 64;    ///< Selective: minimum remainder worth splitting off (bytes)
  std::size_t large = 0;         ///< requests >= large are mapped directly (0 = never)
  std::size_t min_align = 16;    ///< alignment of every block (16, 32 or 64)
  bool region = false;           ///< segments from the region (sbrk-style) instead of map()
  std::size_t reserve = 0;       ///< MemorySource reservation (0 = default)
  std::size_t limit = 0;         ///< footprint cap (0 = none)
  SourceBacking backing = SourceBacking::Real;  ///< see core/source/memory_source.hpp
  MemoryGroup* group = nullptr;                 ///< InstanceOptions::group
  const Probe* probe = nullptr;
  std::size_t retain = 0;        ///< MemorySource::set_retain
};

template <class Index, Coalesce C, bool Selective>
class TagHeap {
 public:
  static constexpr std::size_t kMinChunk = Index::kMinChunk;
  static constexpr bool kFooters = Index::kFooters;
  static constexpr std::size_t kOverhead = kFooters ? 16 : 8;
  static constexpr std::size_t kMaxRequest = std::size_t{1} << 46;
  static constexpr std::size_t kSegHeader = 24;  // next, bytes, prologue
  static constexpr std::size_t kSegOverhead = 32;

  TagHeap(const HeapConfig& hc, const typename Index::Config& ic)
      : src_(hc.reserve != 0 ? hc.reserve : MemorySource::kDefaultReserve, hc.limit, hc.backing, hc.group), cfg_(hc) {
    src_.set_retain(hc.retain);
    cfg_.grow = std::max<std::size_t>(round_page(cfg_.grow), kPageSize);
    split_threshold_ = Selective ? std::max(kMinChunk, round16(cfg_.split_min)) : kMinChunk;
    index_ok_ = index_.init(ic, cfg_.probe, arena_);
  }
  TagHeap(const TagHeap&) = delete;
  TagHeap& operator=(const TagHeap&) = delete;

  /// The source reserved its address space and the index got its tables.
  bool ok() const { return src_.ok() && index_ok_; }
  const MemorySource& source() const { return src_; }
  /// The instance's metadata arena (the index's tables; wrappers such as Fixed add theirs).
  MetaArena& arena() { return arena_; }
  const Index& index() const { return index_; }
  const char* top() const { return top_; }

  /// Chunk size needed for a request of `size` bytes.
  static std::size_t request_chunk(std::size_t size) {
    std::size_t n = round16(size + kOverhead);
    return n < kMinChunk ? kMinChunk : n;
  }
  static std::size_t usable_of_chunk(std::size_t chunk) { return chunk - kOverhead; }
  static char* chunk_of(const void* p) { return const_cast<char*>(static_cast<const char*>(p)) - 8; }

  void* allocate(std::size_t size, std::size_t align) {
    if (size > kMaxRequest) return nullptr;
    if (size == 0) size = 1;
    std::size_t a = align > cfg_.min_align ? align : cfg_.min_align;
    void* p;
    if (cfg_.large != 0 && size >= cfg_.large) {
      p = map_large(size, a);
    } else if (a > 16) {
      p = allocate_aligned(size, a);
    } else {
      char* c = alloc_chunk(request_chunk(size));
      p = c != nullptr ? c + 8 : nullptr;
    }
    if (p != nullptr) ++allocs_;
    return p;
  }

  void deallocate(void* p) {
    if (p == nullptr) return;
    ++frees_;
    char* c = chunk_of(p);
    touch(cfg_.probe, c, 8);
    if (word(c) & kMapped) {
      unmap_large(static_cast<char*>(p));
      return;
    }
    free_chunk(c);
  }

  void* reallocate(void* p, std::size_t size) {
    if (p == nullptr) return allocate(size, 16);
    if (size == 0) {
      deallocate(p);
      return nullptr;
    }
    if (size > kMaxRequest) return nullptr;
    char* c = chunk_of(p);
    touch(cfg_.probe, c, 8);
    if (!(word(c) & kMapped) && !(cfg_.large != 0 && size >= cfg_.large)) {
      std::size_t need = request_chunk(size);
      std::size_t have = chunk_size(c);
      if (need <= have) {
        split_tail(c, need);
        return p;
      }
      if (grow_in_place(c, need)) return p;
    } else if (word(c) & kMapped) {
      std::size_t usable = usable_size(p);
      if (size <= usable && size >= usable / 2) return p;
      if (cfg_.large != 0 && size >= cfg_.large) return remap_large(static_cast<char*>(p), size);
    }
    void* q = allocate(size, 16);
    if (q == nullptr) return nullptr;
    std::size_t old = usable_size(p);
    std::memcpy(q, p, old < size ? old : size);
    deallocate(p);
    --frees_;  // a moving realloc counts as one allocation, not a free
    return q;
  }

  std::size_t usable_size(const void* p) const {
    const char* c = static_cast<const char*>(p) - 8;
    touch(cfg_.probe, c, 8);
    std::size_t h = word(c);
    if (h & kMapped) return (h & ~kFlagMask) - word(c - 8);
    return (h & ~kFlagMask) - kOverhead;
  }

  void stats(AllocStats* out) const { fill_source_stats(src_, allocs_, frees_, out); }

  /// Cheap: top and segment list sane. Full: walks every chunk of every segment
  /// (sizes, fences, footers, no adjacent free chunks under immediate coalescing)
  /// and the whole index, and checks both agree on the number of free chunks.
  bool validate(ValidateLevel level, std::string* err) const {
    auto fail = [&](const std::string& m) {
      if (err != nullptr) *err = m;
      return false;
    };
    if (top_ != nullptr && (in_use(top_) || chunk_size(top_) < kMinChunk)) return fail("top chunk is not free");
    if (level < ValidateLevel::Full) return true;
    std::size_t free_chunks = 0;
    bool top_seen = top_ == nullptr;
    for (char* s = segs_; s != nullptr; s = seg_next(s)) {
      if (word(s + 16) != kInUse) return fail("segment prologue overwritten");
      char* end = s + seg_bytes(s) - 8;
      if (word(end) != kInUse) return fail("segment epilogue overwritten");
      bool prev_free = false;
      for (char* c = s + kSegHeader; c < end;) {
        std::size_t h = word(c);
        std::size_t sz = h & ~kFlagMask;
        if (sz < kMinChunk || sz % 16 != 0 || c + sz > end)
          return fail("bad chunk size " + std::to_string(sz) + " at segment offset " + std::to_string(c - s));
        if (kFooters && (word(c + sz - 8) | 8) != (h | 8))  // bit 8: tree colour, header only
          return fail("footer differs from header at offset " + std::to_string(c - s));
        bool is_free = !(h & kInUse);
        if (c == top_) {
          top_seen = true;
          if (c + sz != end) return fail("top chunk is not the last chunk of its segment");
        } else if (is_free) {
          ++free_chunks;
        }
        if (C == Coalesce::Immediate && is_free && prev_free) return fail("two adjacent free chunks under immediate coalescing");
        prev_free = is_free;
        c += sz;
      }
    }
    if (!top_seen) return fail("top chunk lies outside every segment");
    if (!index_.validate(err)) return false;
    if (free_chunks != index_.count())
      return fail("heap has " + std::to_string(free_chunks) + " free chunks but the index holds " +
                  std::to_string(index_.count()));
    return true;
  }

  /// Allocates a chunk of at least `need` bytes (need from request_chunk, a
  /// multiple of 16 >= kMinChunk) and marks it in use; nullptr when out of memory.
  char* alloc_chunk(std::size_t need) {
    char* c = index_.take(need);
    // Deferred: batch-merge when a search fails and enough has been freed since
    // the last batch (>= 64 + 1/4 of all chunks), so the walks cost O(1) per free.
    if (c == nullptr && C == Coalesce::Deferred && pending_ >= 64 + (index_.count() + (allocs_ - frees_)) / 4) {
      coalesce_all();
      c = index_.take(need);
    }
    if (c != nullptr) {
      set(c, chunk_size(c), kInUse);
      split_tail(c, need);
      return c;
    }
    if (top_ == nullptr || chunk_size(top_) < need) {
      if (!extend(need)) return nullptr;
    }
    return carve_top(need);
  }

  /// Frees an in-use chunk (coalescing per policy).
  void free_chunk(char* c) {
    std::size_t s = chunk_size(c);
    if constexpr (C == Coalesce::Immediate && Index::kSelfCoalescing) {
      set(c, s, 0);
      if (c + s == top_) {
        set(c, s + chunk_size(top_), 0);
        top_ = c;
        if (char* pred = index_.take_ending_at(c)) {
          set(pred, chunk_size(pred) + chunk_size(c), 0);
          top_ = pred;
        }
        maybe_trim();
        return;
      }
      c = index_.insert_merge(c);
      if (char* seg = whole_segment(c)) {
        index_.remove(c);
        release_segment(seg);
      }
    } else if constexpr (C == Coalesce::Immediate) {
      std::size_t pf = word(c - 8);
      touch(cfg_.probe, c - 8, 8);
      if (!(pf & kInUse)) {
        char* pc = c - (pf & ~kFlagMask);
        index_.remove(pc);
        s += chunk_size(pc);
        c = pc;
      }
      char* n = c + s;
      touch(cfg_.probe, n, 8);
      if (n == top_) {
        set(c, s + chunk_size(n), 0);
        top_ = c;
        maybe_trim();
        return;
      }
      if (!in_use(n)) {
        index_.remove(n);
        s += chunk_size(n);
      }
      set(c, s, 0);
      if (char* seg = whole_segment(c)) {
        release_segment(seg);
        return;
      }
      index_.insert(c);
    } else {
      set(c, s, 0);
      if (char* seg = whole_segment(c)) {
        release_segment(seg);
        return;
      }
      index_.insert(c);
      if constexpr (C == Coalesce::Deferred) ++pending_;
    }
  }

  const Probe* probe() const { return cfg_.probe; }

  /// Adds `flag` (kFixed) to an in-use chunk's header and footer: layers above
  /// the heap (core/simple/fixed) mark chunks they keep on their own lists.
  void add_flag(char* c, std::size_t flag) { set(c, chunk_size(c), (word(c) & kFlagMask) | flag); }

 private:
  static std::size_t round_page(std::size_t n) { return (n + kPageSize - 1) & ~(kPageSize - 1); }
  static char*& seg_next(char* s) { return *reinterpret_cast<char**>(s); }
  static std::size_t& seg_bytes(char* s) { return word(s + 8); }

  void set(char* c, std::size_t size, std::size_t flags) {
    word(c) = size | flags;
    touch(cfg_.probe, c, 8);
    if constexpr (kFooters) {
      word(c + size - 8) = size | flags;
      touch(cfg_.probe, c + size - 8, 8);
    }
  }

  /// Splits the in-use chunk c down to `need` if the remainder is worth it; the
  /// remainder is freed (and coalesced per policy).
  void split_tail(char* c, std::size_t need) {
    std::size_t have = chunk_size(c);
    if (have - need < split_threshold_) return;
    set(c, need, kInUse);
    char* r = c + need;
    set(r, have - need, kInUse);
    free_chunk(r);
  }

  /// Grows the in-use chunk c to `need` from a free right neighbour or the top.
  bool grow_in_place(char* c, std::size_t need) {
    std::size_t have = chunk_size(c);
    char* n = c + have;
    touch(cfg_.probe, n, 8);
    if (n == top_) {
      std::size_t total = have + chunk_size(n);
      if (total < need + kMinChunk) return false;
      set(c, need, kInUse);
      top_ = c + need;
      set(top_, total - need, 0);
      return true;
    }
    if constexpr (C == Coalesce::None || Index::kSelfCoalescing) {
      return false;
    } else {
      if (in_use(n) || have + chunk_size(n) < need) return false;
      index_.remove(n);
      set(c, have + chunk_size(n), kInUse);
      split_tail(c, need);
      return true;
    }
  }

  [[gnu::noinline]] void* allocate_aligned(std::size_t size, std::size_t a) {
    std::size_t need = request_chunk(size);
    char* c = alloc_chunk(need + a + kMinChunk);
    if (c == nullptr) return nullptr;
    auto pay = reinterpret_cast<std::uintptr_t>(c + 8);
    if (pay % a != 0) {
      std::uintptr_t q = (pay + kMinChunk + a - 1) & ~std::uintptr_t(a - 1);
      char* c2 = reinterpret_cast<char*>(q) - 8;
      std::size_t lead = static_cast<std::size_t>(c2 - c);
      std::size_t total = chunk_size(c);
      set(c2, total - lead, kInUse);
      set(c, lead, kInUse);
      free_chunk(c);
      c = c2;
    }
    split_tail(c, need);
    return c + 8;
  }

  char* carve_top(std::size_t need) {
    char* c = top_;
    std::size_t s = chunk_size(c);
    if (s - need >= kMinChunk) {
      set(c, need, kInUse);
      top_ = c + need;
      set(top_, s - need, 0);
    } else {
      set(c, s, kInUse);
      top_ = nullptr;
    }
    return c;
  }

  /// Makes the top at least `need` bytes: grows the region, or maps a new segment.
  [[gnu::noinline]] bool extend(std::size_t need) {
    if (cfg_.region) {
      if (segs_ == nullptr) {
        std::size_t n = round_page(std::max(cfg_.grow, need + kSegOverhead));
        char* b = static_cast<char*>(src_.grow(n));
        if (b == nullptr) return false;
        init_segment(b, n);
        segs_ = b;
        return true;
      }
      std::size_t have = top_ != nullptr ? chunk_size(top_) : 0;
      std::size_t n = round_page(std::max(cfg_.grow, need - have));
      char* b = static_cast<char*>(src_.grow(n));
      if (b == nullptr) return false;
      char* old_epilogue = b - 8;
      seg_bytes(segs_) += n;
      word(b + n - 8) = kInUse;
      if (top_ != nullptr) {
        set(top_, have + n, 0);
        return true;
      }
      top_ = old_epilogue;
      std::size_t size = n;
      if constexpr (C == Coalesce::Immediate) {  // keep "no two adjacent free chunks"
        char* prev = nullptr;
        if constexpr (Index::kSelfCoalescing) {
          prev = index_.take_ending_at(old_epilogue);
        } else if (!(word(old_epilogue - 8) & kInUse)) {
          prev = old_epilogue - (word(old_epilogue - 8) & ~kFlagMask);
          index_.remove(prev);
        }
        if (prev != nullptr) {
          size += chunk_size(prev);
          top_ = prev;
        }
      }
      set(top_, size, 0);
      return true;
    }
    std::size_t n = round_page(std::max(cfg_.grow, need + kSegOverhead));
    char* b = static_cast<char*>(src_.map(n, kPageSize, false));  // init_segment writes what is read
    if (b == nullptr) return false;
    if (top_ != nullptr) {
      char* old = top_;
      top_ = nullptr;
      if constexpr (Index::kSelfCoalescing) {
        index_.insert_merge(old);
      } else {
        index_.insert(old);
        if constexpr (C == Coalesce::Deferred) ++pending_;
      }
    }
    init_segment(b, n);
    seg_next(b) = segs_;
    segs_ = b;
    return true;
  }

  void init_segment(char* b, std::size_t n) {
    seg_next(b) = nullptr;
    seg_bytes(b) = n;
    word(b + 16) = kInUse;
    word(b + n - 8) = kInUse;
    top_ = b + kSegHeader;
    set(top_, n - kSegOverhead, 0);
    top_seg_ = b;
  }

  /// The mapped segment that the free chunk c spans entirely (and that is not
  /// the top's segment), or nullptr.
  char* whole_segment(char* c) const {
    if (cfg_.region) return nullptr;
    char* s = c - kSegHeader;
    if (s == top_seg_ || word(c - 8) != kInUse) return nullptr;
    if (word(c + chunk_size(c)) != kInUse || chunk_size(c) + kSegOverhead != seg_bytes(s)) return nullptr;
    // The fences match a segment's shape; confirm s is really a segment start.
    for (char* x = segs_; x != nullptr; x = seg_next(x))
      if (x == s) return s;
    return nullptr;
  }

  void release_segment(char* s) {
    char** pp = &segs_;
    while (*pp != s) pp = &seg_next(*pp);
    *pp = seg_next(s);
    src_.unmap(s, seg_bytes(s));
  }

  /// Region only: gives back the top's excess beyond `grow` when it is large.
  void maybe_trim() {
    if (!cfg_.region || top_ == nullptr) return;
    std::size_t s = chunk_size(top_);
    if (s < 2 * cfg_.grow + 64 * 1024) return;
    std::size_t release = (s - cfg_.grow) & ~(kPageSize - 1);
    src_.shrink(release);
    seg_bytes(segs_) -= release;
    set(top_, s - release, 0);
    word(top_ + s - release) = kInUse;
  }

  /// Deferred coalescing: merges every run of adjacent free chunks.
  [[gnu::noinline]] void coalesce_all() {
    pending_ = 0;
    char* s = segs_;
    while (s != nullptr) {
      char* next_seg = seg_next(s);
      char* end = s + seg_bytes(s) - 8;
      char* c = s + kSegHeader;
      while (c < end) {
        std::size_t h = word(c);
        touch(cfg_.probe, c, 8);
        std::size_t sz = h & ~kFlagMask;
        char* n = c + sz;
        if ((h & kInUse) || c == top_ || n >= end || (word(n) & kInUse)) {
          c = n;
          continue;
        }
        index_.remove(c);
        std::size_t total = sz;
        bool into_top = false;
        while (n < end && !(word(n) & kInUse)) {
          touch(cfg_.probe, n, 8);
          std::size_t ns = chunk_size(n);
          if (n == top_) {
            into_top = true;
          } else {
            index_.remove(n);
          }
          total += ns;
          n += ns;
        }
        set(c, total, 0);
        if (into_top) {
          top_ = c;
        } else if (char* whole = whole_segment(c)) {
          release_segment(whole);
          break;
        } else {
          index_.insert(c);
        }
        c = n;
      }
      s = next_seg;
    }
    maybe_trim();
  }

  [[gnu::noinline]] void* map_large(std::size_t size, std::size_t a) {
    std::size_t off = a > 16 ? a : 16;
    std::size_t len = round_page(size + off);
    // not zeroed: the two header words are written below, and malloc owes no zeroes
    // (calloc clears its block itself)
    char* base = static_cast<char*>(src_.map(len, a > kPageSize ? a : kPageSize, false));
    if (base == nullptr) return nullptr;
    char* p = base + off;
    word(p - 8) = len | kMapped | kInUse;
    word(p - 16) = off;
    touch(cfg_.probe, p - 16, 16);
    return p;
  }
  void* remap_large(char* p, std::size_t size) {
    const std::size_t len = word(p - 8) & ~kFlagMask;
    const std::size_t off = word(p - 16);
    touch(cfg_.probe, p - 16, 16);
    const std::size_t want = round_page(size + off);
    char* base = static_cast<char*>(src_.remap(p - off, len, want, kPageSize));
    if (base == nullptr) return nullptr;
    char* q = base + off;  // off is a multiple of min_align: q stays aligned
    word(q - 8) = want | kMapped | kInUse;
    touch(cfg_.probe, q - 8, 8);
    return q;
  }
  [[gnu::noinline]] void unmap_large(char* p) {
    std::size_t len = word(p - 8) & ~kFlagMask;
    std::size_t off = word(p - 16);
    touch(cfg_.probe, p - 16, 16);
    src_.unmap(p - off, len);
  }

  MemorySource src_;
  MetaArena arena_{src_};  // every table of the index (and of wrappers) lives here
  HeapConfig cfg_;
  Index index_;
  bool index_ok_ = false;
  std::size_t split_threshold_ = 32;
  char* segs_ = nullptr;     // newest first
  char* top_seg_ = nullptr;  // the segment holding the top (mapped segments)
  char* top_ = nullptr;
  std::uint64_t pending_ = 0;  // Deferred: frees since the last batch
  std::uint64_t allocs_ = 0;
  std::uint64_t frees_ = 0;
};

}  // namespace evo::block
