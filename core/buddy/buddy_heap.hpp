// core/buddy/buddy_heap.hpp — BuddyHeap: the binary buddy system in aligned
// superblocks, composed with the superblock family's bin, pagemap and cache
// policies (core/superblock/{bins,pagemap,caches}.hpp, whose contracts it follows).
//
//   BuddyHeap<Bin, Pagemap, Cache>
//
// Blocks are powers of two, min << k for orders k = 0..K with min << K = sb, and
// are naturally aligned (superblocks are sb-aligned chunks of the source). The
// allocation state lives OFF the data pages, in a descriptor (BuddyNode) carved
// from the instance's metadata arena: per order, a bitmap of free blocks and a
// bitmap of allocated blocks, plus a free count per order. The allocator never
// writes into a superblock's data pages.
//   allocate: order k of max(size, align, min); the first non-empty bin of order
//     >= k (bin j holds the superblocks whose largest free block has order j) picks
//     a superblock; the smallest free block of order >= k is split down to k, each
//     right half becoming free. Blocks above `large` (or above sb) are mapped one
//     each, sb-aligned, with (pages << 1) | 1 in the pagemap.
//   deallocate: the pagemap entry of the sb-aligned base gives the superblock; the
//     block's order is the lowest order whose allocated bit is set at that offset;
//     the block merges with its buddy while the buddy is free. When every block is
//     back the superblock is one free block of order K (empty) and goes to the
//     cache policy.
//   live/capacity (for fullness bins and caches) count min-sized units.
//   reallocate: a mapped block to a size that is mapped too is resized with
//     MemorySource::remap (in place or moved without copying, sb-aligned; the
//     pagemap mark follows); anything else is allocate + copy + free.
// usable_size = the block size. Failure (no memory, limit) returns nullptr.
// The source, the pagemap, the list of superblocks and the mapped blocks are
// HeapBase's (core/buddy/heap_base.hpp), shared with the Fibonacci buddy system.
#pragma once

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <string>

#include "core/adapter.hpp"
#include "core/buddy/config.hpp"
#include "core/buddy/heap_base.hpp"
#include "core/probe.hpp"
#include "core/superblock/bins.hpp"
#include "core/superblock/caches.hpp"
#include "core/superblock/pagemap.hpp"

namespace evo::buddy {

inline constexpr int kMaxOrders = 24;

struct BuddyNode {
  BuddyNode* next;  ///< bin links
  BuddyNode* prev;
  BuddyNode* cnext;  ///< cache links
  BuddyNode* cprev;
  BuddyNode* anext;  ///< all superblocks (HeapBase); spare nodes
  BuddyNode* aprev;
  char* base;
  std::uint64_t* free_bits;   ///< per order (word offsets in the heap), 1 = free block
  std::uint64_t* alloc_bits;  ///< per order, 1 = allocated block
  std::uint32_t live;         ///< min-units allocated
  std::uint32_t capacity;     ///< min-units in the superblock
  std::uint8_t bucket;
  std::uint8_t in_bin;
  std::uint8_t in_cache;
  std::uint8_t marked;
  std::int8_t max_free;   ///< largest order with a free block, -1 when full
  std::int8_t bin_order;  ///< the bin it is in (valid while in_bin)
  std::uint32_t nfree[kMaxOrders];
  std::uint32_t hint[kMaxOrders];  ///< per order: no free bit below this word
};

template <template <class> class BinT, class Pagemap, template <class> class CacheT>
class BuddyHeap : public HeapBase<BuddyNode, Pagemap> {
  using Base = HeapBase<BuddyNode, Pagemap>;
  using Base::all_;
  using Base::arena_;
  using Base::cfg_;
  using Base::pagemap_;
  using Base::sb_base;

 public:
  using Bin = BinT<BuddyNode>;
  using Cache = CacheT<BuddyNode>;

  explicit BuddyHeap(const BuddyConfig& c) : Base(c) {
    this->sb_bytes_ = this->sb_align_ = cfg_.sb;
    min_shift_ = static_cast<unsigned>(std::countr_zero(cfg_.min));
    top_order_ = static_cast<int>(std::countr_zero(cfg_.sb)) - static_cast<int>(min_shift_);
    units_ = cfg_.sb >> min_shift_;
    std::size_t off = 0;
    for (int k = 0; k <= top_order_; ++k) {
      word_off_[k] = off;
      off += ((units_ >> k) + 63) / 64;
    }
    words_ = off;
    std::memset(static_cast<void*>(&cache_), 0, sizeof cache_);
  }

  bool init(std::string* err) {
    if (!this->init_space(err)) return false;
    bins_ = arena_.template alloc_array<typename Bin::State>(kMaxOrders);  // zeroed: every bin empty
    if (bins_ == nullptr) {
      if (err) *err = "buddy: out of memory for the bins";
      return false;
    }
    return true;
  }

  void* allocate(std::size_t size, std::size_t align) {
    if (size > (std::size_t{1} << 46)) return nullptr;
    std::size_t a = effective_align(cfg_.min_align, align);
    std::size_t need = std::max<std::size_t>({size, a, cfg_.min});
    std::size_t block = std::bit_ceil(need);
    return this->counted(block > cfg_.large ? this->map_direct(need, a)
                                            : alloc_small(order_of_block(block)));
  }

  void deallocate(void* p) {
    BuddyNode* n = this->free_begin(p);
    if (n == nullptr) return;
    touch(cfg_.probe, n, sizeof(BuddyNode));
    std::size_t unit = static_cast<std::size_t>(static_cast<char*>(p) - n->base) >> min_shift_;
    int k = order_of_allocated(n, unit);
    std::size_t i = unit >> k;
    clear_bit(n->alloc_bits, k, i);
    n->live -= static_cast<std::uint32_t>(std::size_t{1} << k);
    while (k < top_order_ && test_bit(n->free_bits, k, i ^ 1)) {  // merge with the buddy
      clear_bit(n->free_bits, k, i ^ 1);
      --n->nfree[k];
      i >>= 1;
      ++k;
    }
    mark_free(n, k, i);
    int old_max = n->max_free;
    if (k > n->max_free) n->max_free = static_cast<std::int8_t>(k);
    if (!n->in_bin && !n->in_cache) {
      insert_bin(n);
    } else if (n->in_bin && n->max_free != old_max) {
      remove_bin(n);
      insert_bin(n);
    } else if (n->in_bin) {
      Bin::on_free(bins_[n->bin_order], n, cfg_.probe);
    }
    if (n->live == 0) Cache::on_empty(cache_, *this, n);
  }

  void* reallocate(void* p, std::size_t size) {
    if (p != nullptr && size != 0 && size <= (std::size_t{1} << 46)) {
      const std::size_t need = std::max<std::size_t>({size, cfg_.min_align, cfg_.min});
      if (std::bit_ceil(need) > cfg_.large) {
        if (const std::size_t bytes = this->mapped_bytes(p)) return this->remap_direct(p, bytes, align_up(need, kPageSize));
      }
    }
    return realloc_by_copy(*this, p, size);
  }

  std::size_t usable_size(const void* p) const {
    std::size_t rest = 0;
    const BuddyNode* n = this->node_of(p, &rest);
    if (n == nullptr) return rest;
    std::size_t unit = static_cast<std::size_t>(static_cast<const char*>(p) - n->base) >> min_shift_;
    return cfg_.min << order_of_allocated(n, unit);
  }

  /// Cheap: counts. Full: every superblock's blocks tile it exactly (each block
  /// free or allocated, never both; no two free buddies), the counters and largest
  /// free order match the bitmaps, the pagemap points back, and bins and cache agree.
  bool validate(ValidateLevel level, std::string* err) const {
    auto fail = [&](const std::string& m) {
      if (err) *err = "buddy: " + m;
      return false;
    };
    if (level < ValidateLevel::Full) return true;
    std::size_t n_in_bin = 0, n_all = 0;
    for (const BuddyNode* n = all_; n != nullptr; n = n->anext) {
      ++n_all;
      if (!this->points_back(n)) return fail("pagemap does not point back");
      std::uint32_t nfree[kMaxOrders] = {};
      std::size_t live = 0;
      if (!tile(n, top_order_, 0, nfree, live)) return fail("blocks do not tile the superblock");
      if (live != n->live) return fail("live units differ from the allocated bits");
      int max_free = -1;
      for (int k = 0; k <= top_order_; ++k) {
        if (nfree[k] != n->nfree[k]) return fail("free count of an order is out of date");
        for (std::size_t x = 0; x < n->hint[k]; ++x)
          if (n->free_bits[word_off_[k] + x] != 0) return fail("a search hint skips a free block");
        if (nfree[k] != 0) max_free = k;
      }
      if (max_free != n->max_free) return fail("largest free order is out of date");
      if (n->in_bin) {
        ++n_in_bin;
        if (n->bin_order != n->max_free) return fail("superblock in the wrong bin");
      } else if (n->max_free >= 0 && !n->in_cache) {
        return fail("superblock with free space in no bin");
      }
    }
    if (n_all != n_superblocks_) return fail("superblock count out of date");
    std::size_t listed = 0;
    for (int k = 0; k <= top_order_; ++k) {
      std::size_t before = listed;
      if (!Bin::validate(bins_[k], listed, err)) return false;
      if ((((nonempty_ >> k) & 1) != 0) != (listed != before)) return fail("bin mask out of date");
    }
    if (listed != n_in_bin) return fail("bins list a different number of superblocks than are in_bin");
    return Cache::validate(cache_, err);
  }

  // ---- the heap interface the cache policies use ----
  const Probe* probe() const { return cfg_.probe; }
  void bin_detach(BuddyNode* n) {
    if (n->in_bin) remove_bin(n);
  }
  void release(BuddyNode* n) {
    --n_superblocks_;
    this->drop_superblock(n);  // descriptors (and their bitmaps) are reused
    n->base = nullptr;
  }

  // For tests and benchmarks.
  std::size_t superblocks() const { return n_superblocks_; }
  std::size_t cached() const { return Cache::count(cache_); }
  /// True when the superblock holding p is entirely one free block of the top order.
  bool superblock_whole_free(const void* p) const {
    std::uintptr_t e = pagemap_.get(sb_base(p), nullptr);
    if (e == 0 || (e & 1)) return false;
    auto* n = reinterpret_cast<const BuddyNode*>(e);
    return n->live == 0 && n->nfree[top_order_] == 1 && test_bit(n->free_bits, top_order_, 0);
  }

 private:
  int order_of_block(std::size_t block) const {
    return static_cast<int>(std::countr_zero(block)) - static_cast<int>(min_shift_);
  }
  bool test_bit(const std::uint64_t* bits, int k, std::size_t i) const {
    const std::uint64_t* w = bits + word_off_[k] + (i >> 6);
    touch(cfg_.probe, w, 8);
    return (*w >> (i & 63)) & 1;
  }
  void set_bit(std::uint64_t* bits, int k, std::size_t i) {
    bits[word_off_[k] + (i >> 6)] |= std::uint64_t{1} << (i & 63);
    touch(cfg_.probe, bits + word_off_[k] + (i >> 6), 8);
  }
  void clear_bit(std::uint64_t* bits, int k, std::size_t i) {
    bits[word_off_[k] + (i >> 6)] &= ~(std::uint64_t{1} << (i & 63));
    touch(cfg_.probe, bits + word_off_[k] + (i >> 6), 8);
  }
  /// Lowest order whose allocated bit is set for a block starting at `unit`.
  int order_of_allocated(const BuddyNode* n, std::size_t unit) const {
    for (int k = 0; k <= top_order_; ++k) {
      if (test_bit(n->alloc_bits, k, unit >> k)) return k;
      if ((unit >> k) & 1) break;  // unit is not aligned to a larger block
    }
    return 0;  // not reached for a live block
  }

  void insert_bin(BuddyNode* n) {
    if (n->max_free < 0) return;
    n->bin_order = n->max_free;
    Bin::insert(bins_[n->bin_order], n, cfg_.probe);
    nonempty_ |= std::uint64_t{1} << n->bin_order;
  }
  void remove_bin(BuddyNode* n) {
    Bin::remove(bins_[n->bin_order], n, cfg_.probe);
    if (Bin::pick(bins_[n->bin_order], nullptr) == nullptr) nonempty_ &= ~(std::uint64_t{1} << n->bin_order);
  }

  void* alloc_small(int k) {
    std::uint64_t m = nonempty_ & (~std::uint64_t{0} << k);
    BuddyNode* n;
    if (m != 0) {
      n = Bin::pick(bins_[std::countr_zero(m)], cfg_.probe);
    } else {
      n = Cache::take(cache_, *this);
      if (n == nullptr) n = new_superblock();
      if (n == nullptr) return nullptr;
      insert_bin(n);
    }
    touch(cfg_.probe, n, sizeof(BuddyNode));
    int j = k;
    while (n->nfree[j] == 0) ++j;  // j <= max_free
    std::size_t i = find_free(n, j);
    clear_bit(n->free_bits, j, i);
    --n->nfree[j];
    while (j > k) {  // split: keep the left half, free the right one
      --j;
      i <<= 1;
      mark_free(n, j, i | 1);
    }
    set_bit(n->alloc_bits, k, i);
    n->live += static_cast<std::uint32_t>(std::size_t{1} << k);
    Cache::on_use(cache_, n, cfg_.probe);
    int old_max = n->max_free;
    while (n->max_free >= 0 && n->nfree[n->max_free] == 0) --n->max_free;
    if (n->max_free != old_max) {
      remove_bin(n);
      insert_bin(n);
    } else {
      Bin::on_alloc(bins_[n->bin_order], n, cfg_.probe);
    }
    return n->base + (i << (k + static_cast<int>(min_shift_)));
  }

  void mark_free(BuddyNode* n, int k, std::size_t i) {
    set_bit(n->free_bits, k, i);
    ++n->nfree[k];
    if ((i >> 6) < n->hint[k]) n->hint[k] = static_cast<std::uint32_t>(i >> 6);
  }
  /// Lowest free block of order k (precondition: nfree[k] > 0), scanning from the hint.
  std::size_t find_free(BuddyNode* n, int k) const {
    const std::uint64_t* w = n->free_bits + word_off_[k];
    for (std::size_t x = n->hint[k];; ++x) {
      touch(cfg_.probe, w + x, 8);
      if (w[x] != 0) {
        n->hint[k] = static_cast<std::uint32_t>(x);
        return (x << 6) + static_cast<std::size_t>(std::countr_zero(w[x]));
      }
    }
  }

  BuddyNode* new_superblock() {
    const std::size_t bitmap_bytes = 2 * words_ * 8;
    BuddyNode* n = this->add_superblock(
        bitmap_bytes,
        [&](BuddyNode* m) {
          m->free_bits = reinterpret_cast<std::uint64_t*>(m + 1);
          m->alloc_bits = m->free_bits + words_;
        },
        [&](BuddyNode* m) {
          std::uint64_t* fb = m->free_bits;
          std::uint64_t* ab = m->alloc_bits;
          std::memset(static_cast<void*>(m), 0, sizeof(BuddyNode));
          std::memset(fb, 0, bitmap_bytes);
          m->free_bits = fb;
          m->alloc_bits = ab;
        });
    if (n == nullptr) return nullptr;
    n->capacity = static_cast<std::uint32_t>(units_);
    n->free_bits[word_off_[top_order_]] = 1;
    n->nfree[top_order_] = 1;
    n->max_free = static_cast<std::int8_t>(top_order_);
    ++n_superblocks_;
    return n;
  }

  /// Walks block (k, i): adds free blocks to nfree and allocated units to live.
  bool tile(const BuddyNode* n, int k, std::size_t i, std::uint32_t* nfree, std::size_t& live) const {
    bool f = (n->free_bits[word_off_[k] + (i >> 6)] >> (i & 63)) & 1;
    bool a = (n->alloc_bits[word_off_[k] + (i >> 6)] >> (i & 63)) & 1;
    if (f && a) return false;
    if (f) {
      if (k < top_order_ && ((n->free_bits[word_off_[k] + ((i ^ 1) >> 6)] >> ((i ^ 1) & 63)) & 1)) return false;
      ++nfree[k];
      return true;
    }
    if (a) {
      live += std::size_t{1} << k;
      return true;
    }
    if (k == 0) return false;
    return tile(n, k - 1, 2 * i, nfree, live) && tile(n, k - 1, 2 * i + 1, nfree, live);
  }

  unsigned min_shift_ = 4;
  int top_order_ = 0;
  std::size_t units_ = 0;
  std::size_t word_off_[kMaxOrders] = {};
  std::size_t words_ = 0;
  typename Bin::State* bins_ = nullptr;  // kMaxOrders bins, in the arena (bin heads are touched)
  std::uint64_t nonempty_ = 0;  // bit k: bins_[k] is not empty
  typename Cache::State cache_;
  std::size_t n_superblocks_ = 0;
};

}  // namespace evo::buddy
