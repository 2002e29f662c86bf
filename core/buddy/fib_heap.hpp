// core/buddy/fib_heap.hpp — FibBuddyHeap: the Fibonacci buddy system (the second
// buddy rule), one row of the `fibbuddy` family (core/buddy/fib_family.hpp).
//
// Block sizes follow L(0) = L(1) = 1, L(k) = L(k-1) + L(k-2) units (1, 1, 2, 3, 5,
// 8, 13, ... x unit bytes), so internal fragmentation is bounded by the golden ratio
// (~38 %) instead of binary buddy's 50 %. A superblock is one block of the largest
// order K with L(K) x unit <= sb. A block of order k splits into a left child of
// order k-1 and a right child of order k-2 (the Cranston-Thomas scheme): each block
// carries an LR bit (left/right child) and an inherited bit M; splitting gives the
// left child M = parent.LR and the right child M = parent.M, and merging rebuilds
// the parent's LR = left.M and M = right.M. So the buddy of a left block of order k
// is the right block of order k-1 just after it; of a right block of order k, the
// left block of order k+1 just before it.
//
// State: one byte per unit, in a descriptor off the data pages, valid at block
// starts: order (bits 0-4), free (bit 5), LR (bit 6, 1 = right), M (bit 7). Free
// blocks wait on per-order, per-superblock doubly-linked lists threaded through
// the free blocks themselves (unit >= 16 bytes). Superblocks are found through the
// pagemap (entry on their first page; they are mapped aligned to the power of two
// above their size); allocation walks the superblocks (newest first) for one with a
// free block of a fitting order (a per-superblock mask of non-empty orders). An
// entirely free superblock is unmapped unless it is the only one. Blocks above
// `large`, or aligned above the unit, are mapped one each ((pages << 1) | 1 in the
// pagemap). unit = max(min, align key); usable_size = the block size. reallocate
// of a mapped block to a size that is mapped too: MemorySource::remap (in place or
// moved without copying, sb_align-aligned; the pagemap mark follows); otherwise
// allocate + copy + free. The source, the pagemap, the list of superblocks and the
// mapped blocks are HeapBase's (core/buddy/heap_base.hpp), shared with BuddyHeap.
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
#include "core/superblock/pagemap.hpp"

namespace evo::buddy {

inline constexpr int kFibMaxOrders = 32;

struct FibNode {
  FibNode* anext;  ///< all superblocks, newest first (HeapBase); spare nodes
  FibNode* aprev;
  char* base;
  std::uint8_t* state;  ///< one byte per unit
  char* heads[kFibMaxOrders];
  std::uint32_t nonempty;  ///< bit k: heads[k] != nullptr
  std::uint32_t live;      ///< units allocated
};

/// The same keys as the binary buddy system's.
using FibConfig = BuddyConfig;

class FibBuddyHeap : public HeapBase<FibNode, Radix2Pagemap> {
 public:
  explicit FibBuddyHeap(const FibConfig& c) : HeapBase(c) {
    unit_ = std::max(cfg_.min, cfg_.min_align);
    len_[0] = len_[1] = 1;
    top_ = 1;
    for (int k = 2; k < kFibMaxOrders; ++k) {
      len_[k] = len_[k - 1] + len_[k - 2];
      if (len_[k] * unit_ > cfg_.sb) break;
      top_ = k;
    }
    units_ = len_[top_];
    sb_bytes_ = align_up(units_ * unit_, kPageSize);
    sb_align_ = std::bit_ceil(sb_bytes_);
  }

  bool init(std::string* err) { return init_space(err); }

  static FibBuddyHeap* create(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
    return create_heap<FibBuddyHeap>(spec, opt, err);
  }

  void* allocate(std::size_t size, std::size_t align) {
    if (size > (std::size_t{1} << 46)) return nullptr;
    std::size_t units = (std::max<std::size_t>(size, 1) + unit_ - 1) / unit_;
    if (align > unit_ || size > cfg_.large || units > units_)
      return counted(map_direct(std::max<std::size_t>(size, 1), std::max(align, unit_)));
    return counted(alloc_small(units));
  }

  void deallocate(void* p) {
    FibNode* n = free_begin(p);
    if (n == nullptr) return;
    std::size_t u = static_cast<std::size_t>(static_cast<char*>(p) - n->base) / unit_;
    std::uint8_t s = n->state[u];
    touch(cfg_.probe, &n->state[u], 1);
    int k = s & kOrderMask;
    n->live -= static_cast<std::uint32_t>(len_[k]);
    bool right = (s & kRight) != 0;
    bool m = (s & kM) != 0;
    while (k < top_) {
      if (!right) {  // left child of order k+1: buddy = right child of order k-1 after it
        std::size_t b = u + len_[k];
        if (!is_free_block(n, b, k - 1)) break;
        bool bm = (n->state[b] & kM) != 0;
        unlink_free(n, b, k - 1);
        // parent: LR = left.M, M = right.M
        right = m;
        m = bm;
        k = k + 1;
      } else {  // right child of order k+2: buddy = left child of order k+1 before it
        if (u < len_[k + 1]) break;
        std::size_t b = u - len_[k + 1];
        if (!is_free_block(n, b, k + 1)) break;
        bool lm = (n->state[b] & kM) != 0;
        unlink_free(n, b, k + 1);
        right = lm;
        // m stays: parent.M = right child's M
        u = b;
        k = k + 2;
      }
    }
    push_free(n, u, k, right, m);
    if (n->live == 0 && all_ != nullptr && all_->anext != nullptr) drop_superblock(n);
  }

  void* reallocate(void* p, std::size_t size) {
    if (p != nullptr && size <= (std::size_t{1} << 46) && (size > cfg_.large || (size + unit_ - 1) / unit_ > units_)) {
      if (const std::size_t bytes = mapped_bytes(p)) return remap_direct(p, bytes, align_up(size, kPageSize));
    }
    return realloc_by_copy(*this, p, size);
  }

  std::size_t usable_size(const void* p) const {
    std::size_t rest = 0;
    const FibNode* n = node_of(p, &rest);
    if (n == nullptr) return rest;
    std::size_t u = static_cast<std::size_t>(static_cast<const char*>(p) - n->base) / unit_;
    return len_[n->state[u] & kOrderMask] * unit_;
  }

  /// Full: every superblock's blocks tile it (walking block starts by order), the
  /// free blocks are exactly those on the lists, live units and masks agree.
  bool validate(ValidateLevel level, std::string* err) const {
    auto fail = [&](const std::string& m) {
      if (err) *err = "fibbuddy: " + m;
      return false;
    };
    if (level < ValidateLevel::Full) return true;
    for (const FibNode* n = all_; n != nullptr; n = n->anext) {
      if (!points_back(n)) return fail("pagemap does not point back");
      std::size_t u = 0, live = 0, nfree = 0;
      while (u < units_) {
        std::uint8_t s = n->state[u];
        int k = s & kOrderMask;
        if (k > top_ || u + len_[k] > units_) return fail("block runs past its superblock");
        if (s & kFree) {
          ++nfree;
        } else {
          live += len_[k];
        }
        u += len_[k];
      }
      if (live != n->live) return fail("live units differ from the blocks");
      std::size_t listed = 0;
      for (int k = 0; k <= top_; ++k) {
        if (((n->nonempty >> k) & 1) != (n->heads[k] != nullptr ? 1u : 0u)) return fail("order mask out of date");
        char* prev = nullptr;
        for (char* b = n->heads[k]; b != nullptr; prev = b, b = next_of(b)) {
          std::size_t bu = static_cast<std::size_t>(b - n->base) / unit_;
          std::uint8_t s = n->state[bu];
          if (!(s & kFree) || (s & kOrderMask) != k) return fail("listed block is not free of its order");
          if (prev_of(b) != prev) return fail("free list back link broken");
          if (++listed > nfree) return fail("free lists hold more blocks than are free");
        }
      }
      if (listed != nfree) return fail("a free block is on no list");
    }
    return true;
  }

  std::size_t superblocks() const {
    std::size_t k = 0;
    for (const FibNode* n = all_; n != nullptr; n = n->anext) ++k;
    return k;
  }
  /// Bytes of the largest block (a whole superblock).
  std::size_t superblock_bytes() const { return units_ * unit_; }

 private:
  static constexpr std::uint8_t kOrderMask = 31, kFree = 32, kRight = 64, kM = 128;

  static char*& next_of(char* b) { return *reinterpret_cast<char**>(b); }
  static char*& prev_of(char* b) { return *reinterpret_cast<char**>(b + 8); }

  bool is_free_block(const FibNode* n, std::size_t u, int k) const {
    if (k < 0 || u >= units_) return false;
    touch(cfg_.probe, &n->state[u], 1);
    std::uint8_t s = n->state[u];
    return (s & kFree) && (s & kOrderMask) == k;
  }
  void push_free(FibNode* n, std::size_t u, int k, bool right, bool m) {
    n->state[u] = static_cast<std::uint8_t>(k | kFree | (right ? kRight : 0) | (m ? kM : 0));
    char* b = n->base + u * unit_;
    next_of(b) = n->heads[k];
    prev_of(b) = nullptr;
    if (n->heads[k] != nullptr) prev_of(n->heads[k]) = b;
    n->heads[k] = b;
    n->nonempty |= 1u << k;
    touch(cfg_.probe, &n->state[u], 1);
    touch(cfg_.probe, b, 16);
  }
  void unlink_free(FibNode* n, std::size_t u, int k) {
    char* b = n->base + u * unit_;
    touch(cfg_.probe, b, 16);
    if (prev_of(b) != nullptr) {
      next_of(prev_of(b)) = next_of(b);
    } else {
      n->heads[k] = next_of(b);
    }
    if (next_of(b) != nullptr) prev_of(next_of(b)) = prev_of(b);
    if (n->heads[k] == nullptr) n->nonempty &= ~(1u << k);
    n->state[u] &= static_cast<std::uint8_t>(~kFree);
  }

  void* alloc_small(std::size_t units) {
    int k = 0;
    while (len_[k] < units) ++k;
    std::uint32_t want = ~0u << k;
    FibNode* n = all_;
    while (n != nullptr && (n->nonempty & want) == 0) {
      touch(cfg_.probe, n, sizeof(FibNode));
      n = n->anext;
    }
    if (n == nullptr && (n = new_superblock()) == nullptr) return nullptr;
    int j = std::countr_zero(n->nonempty & want);
    char* b = n->heads[j];
    std::size_t u = static_cast<std::size_t>(b - n->base) / unit_;
    std::uint8_t s = n->state[u];
    unlink_free(n, u, j);
    bool right = (s & kRight) != 0, m = (s & kM) != 0;
    // Split while a child still fits: keep the smaller fitting child, free the other.
    while (j >= 2 && len_[j - 1] >= units) {
      bool lm = right, rm = m;  // left child M = parent.LR, right child M = parent.M
      if (len_[j - 2] >= units) {  // keep the right child (order j-2), free the left
        push_free(n, u, j - 1, false, lm);
        u += len_[j - 1];
        j -= 2;
        right = true;
        m = rm;
      } else {  // keep the left child (order j-1), free the right
        push_free(n, u + len_[j - 1], j - 2, true, rm);
        j -= 1;
        right = false;
        m = lm;
      }
    }
    n->state[u] = static_cast<std::uint8_t>(j | (right ? kRight : 0) | (m ? kM : 0));
    touch(cfg_.probe, &n->state[u], 1);
    n->live += static_cast<std::uint32_t>(len_[j]);
    return n->base + u * unit_;
  }

  FibNode* new_superblock() {
    FibNode* n = add_superblock(
        units_, [](FibNode* m) { m->state = reinterpret_cast<std::uint8_t*>(m + 1); },
        [](FibNode* m) {
          std::uint8_t* st = m->state;
          std::memset(static_cast<void*>(m), 0, sizeof(FibNode));
          m->state = st;
        });
    if (n != nullptr) push_free(n, 0, top_, false, false);
    return n;
  }

  std::size_t unit_ = 16;
  std::size_t len_[kFibMaxOrders] = {};
  int top_ = 1;
  std::size_t units_ = 1;
};

}  // namespace evo::buddy
