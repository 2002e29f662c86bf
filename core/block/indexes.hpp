// core/block/indexes.hpp — free-chunk indexes: the "where do free chunks wait"
// policy of a TagHeap (core/block/tag_heap.hpp).
//
// Every index keeps free chunks (layout in core/block/chunk.hpp) through links
// stored inside them, and provides
//   static constexpr std::size_t kMinChunk;  smallest chunk it can hold (bytes)
//   static constexpr bool kFooters;          the heap must keep footers (O(1) coalescing)
//   static constexpr bool kSelfCoalescing;   insert_merge() coalesces by address order
//   struct Config;                           its numeric parameters
//   bool init(const Config&, const Probe*, MetaArena&);  every table, list head and
//                                            bitmap in the arena (false: out of memory)
//   char* take(std::size_t need);            removes and returns a free chunk of size
//                                            >= need chosen by its fit rule, or nullptr
//   void insert(char* c);  void remove(char* c);
//   std::size_t count() const;               chunks held
//   bool validate(std::string* err) const;   walks every link (ValidateLevel::Full)
// Preconditions: inserted chunks are free (kInUse clear) with a valid header;
// removed chunks are held by the index. Every link read or written is reported to
// the probe. Indexes:
//   DList        one unordered doubly-linked list, LIFO, first fit (the btag design)
//   AddrList     one singly-linked list in address order, first fit; insert_merge
//                coalesces with list neighbours in O(n) (the textbook free list)
//   ExactBins    N bins: bin i < N-1 holds exactly size kMinChunk+16i, bin N-1 all
//                larger (first fit); a bitmap finds the next non-empty bin (dlbins)
//   SegBins<Best, Larger>  size-class bins over chunk-size ranges; first fit on a
//                list, or best fit on a red-black tree of sizes (equal sizes LIFO);
//                search the request's own bin only, or also every larger bin in order
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/block/chunk.hpp"
#include "core/ops.hpp"
#include "core/probe.hpp"
#include "core/source/meta_arena.hpp"

namespace evo::block {

namespace detail {

/// Bit set over bins: which bins are non-empty. Its words live in the arena.
class BinMap {
 public:
  bool init(std::size_t n, MetaArena& arena) {
    nwords_ = (n + 63) / 64;
    words_ = arena.alloc_array<std::uint64_t>(nwords_);
    return words_ != nullptr;
  }
  void set(std::size_t i) { words_[i >> 6] |= std::uint64_t{1} << (i & 63); }
  void clear(std::size_t i) { words_[i >> 6] &= ~(std::uint64_t{1} << (i & 63)); }
  /// First set bit >= i, or SIZE_MAX.
  std::size_t next(std::size_t i) const {
    std::size_t w = i >> 6;
    if (w >= nwords_) return SIZE_MAX;
    std::uint64_t m = words_[w] & (~std::uint64_t{0} << (i & 63));
    while (true) {
      if (m != 0) return (w << 6) + static_cast<std::size_t>(__builtin_ctzll(m));
      if (++w >= nwords_) return SIZE_MAX;
      m = words_[w];
    }
  }

 private:
  std::uint64_t* words_ = nullptr;
  std::size_t nwords_ = 0;
};

/// Intrusive doubly-linked list through link(c,0)=next, link(c,1)=prev.
struct ListOps {
  static void push(char*& head, char* c, const Probe* probe) {
    link(c, 0) = head;
    link(c, 1) = nullptr;
    if (head != nullptr) {
      link(head, 1) = c;
      touch(probe, head + 16, 8);
    }
    touch(probe, c + 8, 16);
    head = c;
  }
  static void unlink(char*& head, char* c, const Probe* probe) {
    char* n = link(c, 0);
    char* p = link(c, 1);
    touch(probe, c + 8, 16);
    if (p != nullptr) {
      link(p, 0) = n;
      touch(probe, p + 8, 8);
    } else {
      head = n;
    }
    if (n != nullptr) {
      link(n, 1) = p;
      touch(probe, n + 16, 8);
    }
  }
  /// First chunk of the list with size >= need (not removed), or nullptr.
  static char* first_fit(char* head, std::size_t need, const Probe* probe) {
    for (char* c = head; c != nullptr; c = link(c, 0)) {
      touch(probe, c, 16);
      if (chunk_size(c) >= need) return c;
    }
    return nullptr;
  }
  /// Checks links and flags; adds the length to *n.
  static bool check(char* head, std::size_t* n, std::string* err) {
    char* prev = nullptr;
    for (char* c = head; c != nullptr; c = link(c, 0)) {
      if (in_use(c)) return fail(err, "free list holds an in-use chunk");
      if (link(c, 1) != prev) return fail(err, "free list back link broken");
      prev = c;
      ++*n;
    }
    return true;
  }
};

/// n LIFO doubly-linked lists (ListOps) whose heads live in the arena, and the
/// bitmap of the non-empty ones: the list bins of DList, ExactBins and first-fit
/// SegBins. Each head read or written is reported to the probe.
class ListBins {
 public:
  bool init(std::size_t n, MetaArena& arena) {
    n_ = n;
    heads_ = arena.alloc_array<char*>(n);
    return heads_ != nullptr && map_.init(n, arena);
  }
  std::size_t next_nonempty(std::size_t b) const { return map_.next(b); }
  /// Removes and returns the first chunk of bin b with size >= need, or nullptr.
  char* take_fit(std::size_t b, std::size_t need, const Probe* probe) {
    touch(probe, &heads_[b], 8);
    char* c = ListOps::first_fit(heads_[b], need, probe);
    if (c != nullptr) unlink(b, c, probe);
    return c;
  }
  /// Removes and returns the head of bin b (precondition: not empty).
  char* take_head(std::size_t b, const Probe* probe) {
    char* c = heads_[b];
    touch(probe, &heads_[b], 8);
    unlink(b, c, probe);
    return c;
  }
  void push(std::size_t b, char* c, const Probe* probe) {
    touch(probe, &heads_[b], 8);
    ListOps::push(heads_[b], c, probe);
    map_.set(b);
  }
  void unlink(std::size_t b, char* c, const Probe* probe) {
    ListOps::unlink(heads_[b], c, probe);
    if (heads_[b] == nullptr) map_.clear(b);
  }
  /// Every list's links and flags, every chunk in the bin `bin_of` gives its size,
  /// the bitmap up to date; adds the number of chunks to *n.
  template <class BinOf>
  bool check(BinOf bin_of, std::size_t* n, std::string* err) const {
    for (std::size_t b = 0; b < n_; ++b) {
      if ((map_.next(b) == b) != (heads_[b] != nullptr)) return fail(err, "bin bitmap out of date");
      for (char* c = heads_[b]; c != nullptr; c = link(c, 0))
        if (bin_of(chunk_size(c)) != b) return fail(err, "chunk in the wrong bin");
      if (!ListOps::check(heads_[b], n, err)) return false;
    }
    return true;
  }

 private:
  std::size_t n_ = 0;
  char** heads_ = nullptr;
  BinMap map_;
};

/// Intrusive red-black tree of free chunks, one node per distinct size; further
/// chunks of a size hang off its node in a LIFO list (so a bin's tree stays as
/// small as its number of distinct sizes). Tree node: left = link(c,0), right =
/// link(c,1), parent = link(c,2), list head = link(c,3), colour = header bit
/// kRedBit (the footer keeps its copy without it). List member: next = link(c,0),
/// prev = link(c,1) (a member or the node), link(c,2) = kMember. A sentinel `nil`
/// node (black) is shared by all trees of one index.
class RBTree {
 public:
  static constexpr std::size_t kNodeBytes = 48;  // header + 4 links + footer, rounded

  void init(char* nil) {
    nil_ = nil;
    root_ = nil;
  }
  bool empty() const { return root_ == nil_; }

  void insert(char* z, const Probe* probe) {
    std::size_t sz = chunk_size(z);
    char* y = nil_;
    char* x = root_;
    while (x != nil_) {
      touch(probe, x, 32);
      std::size_t sx = chunk_size(x);
      if (sz == sx) {  // same size: into the node's list, at the front
        char* first = H(x);
        L(z) = first;
        R(z) = x;
        P(z) = member();
        if (first != nullptr) R(first) = z;
        H(x) = z;
        touch(probe, z + 8, 24);
        return;
      }
      y = x;
      x = sz < sx ? L(x) : R(x);
    }
    P(z) = y;
    if (y == nil_) {
      root_ = z;
    } else if (sz < chunk_size(y)) {
      L(y) = z;
    } else {
      R(y) = z;
    }
    L(z) = nil_;
    R(z) = nil_;
    H(z) = nullptr;
    set_colour(z, kRed);
    touch(probe, z, 40);
    insert_fixup(z);
  }

  /// Removes z (a tree node or a list member).
  void remove(char* z, const Probe* probe) {
    touch(probe, z, 40);
    if (P(z) == member()) {
      char* next = L(z);
      char* prev = R(z);
      if (P(prev) == member()) {
        L(prev) = next;
      } else {
        H(prev) = next;
      }
      if (next != nullptr) R(next) = prev;
      touch(probe, prev + 8, 32);
      return;
    }
    if (char* m = H(z)) {  // promote the first list member into z's place
      char* rest = L(m);
      touch(probe, m, 40);
      L(m) = L(z);
      R(m) = R(z);
      P(m) = P(z);
      H(m) = rest;
      if (rest != nullptr) R(rest) = m;
      set_colour(m, colour(z));
      replace_in_parent(z, m);
      if (L(m) != nil_) P(L(m)) = m;
      if (R(m) != nil_) P(R(m)) = m;
      set_colour(z, kBlack);
      return;
    }
    rb_delete(z);
    set_colour(z, kBlack);
  }

  /// A chunk of the smallest size >= need (the most recently inserted of that
  /// size), or nullptr. Not removed.
  char* lower_bound(std::size_t need, const Probe* probe) const {
    char* best = nullptr;
    char* x = root_;
    while (x != nil_) {
      touch(probe, x, 32);
      if (chunk_size(x) >= need) {
        best = x;
        x = L(x);
      } else {
        x = R(x);
      }
    }
    return best != nullptr && H(best) != nullptr ? H(best) : best;
  }
  /// A chunk of the smallest size in the tree, or nullptr. Not removed.
  char* min_node(const Probe* probe) const {
    if (root_ == nil_) return nullptr;
    char* x = root_;
    while (L(x) != nil_) {
      touch(probe, x, 16);
      x = L(x);
    }
    return H(x) != nullptr ? H(x) : x;
  }

  /// Checks order, parent links, colours, black heights and the size lists; adds
  /// the number of chunks (nodes and list members).
  bool check(std::size_t* n, std::string* err) const {
    if (root_ != nil_ && colour(root_) != kBlack) return fail(err, "red-black tree: red root");
    int bh = 0;
    return check_node(root_, nil_, 0, SIZE_MAX, &bh, n, err);
  }

 private:
  static constexpr std::size_t kBlack = 0, kRed = 1;
  static constexpr std::size_t kRedBit = 8;  // a free header's spare flag bit
  static char* member() { return reinterpret_cast<char*>(std::uintptr_t{1}); }
  static char*& L(char* n) { return link(n, 0); }
  static char*& R(char* n) { return link(n, 1); }
  static char*& P(char* n) { return link(n, 2); }
  static char*& H(char* n) { return link(n, 3); }
  static char* H(const char* n) { return link(const_cast<char*>(n), 3); }
  static std::size_t colour(const char* n) { return (word(n) & kRedBit) != 0 ? kRed : kBlack; }
  static void set_colour(char* n, std::size_t c) {
    if (c == kRed) {
      word(n) |= kRedBit;
    } else {
      word(n) &= ~kRedBit;
    }
  }

  char* minimum(char* x) const {
    while (L(x) != nil_) x = L(x);
    return x;
  }
  // The tree operations are written once for both sides: d = 0 is the textbook
  // left-hand case (child(n, 0) = left), d = 1 its mirror image.
  static char*& child(char* n, int d) { return link(n, d); }
  /// u's parent (or the root) now points at v instead.
  void replace_in_parent(char* u, char* v) {
    if (P(u) == nil_) {
      root_ = v;
    } else if (u == L(P(u))) {
      L(P(u)) = v;
    } else {
      R(P(u)) = v;
    }
  }
  /// d = 0: rotate left (x's right child takes its place); d = 1: rotate right.
  void rotate(char* x, int d) {
    char* y = child(x, 1 - d);
    child(x, 1 - d) = child(y, d);
    if (child(y, d) != nil_) P(child(y, d)) = x;
    P(y) = P(x);
    replace_in_parent(x, y);
    child(y, d) = x;
    P(x) = y;
  }
  void transplant(char* u, char* v) {
    replace_in_parent(u, v);
    P(v) = P(u);
  }
  void rb_delete(char* z) {
    char* y = z;
    std::size_t y_colour = colour(y);
    char* x;
    if (L(z) == nil_) {
      x = R(z);
      transplant(z, R(z));
    } else if (R(z) == nil_) {
      x = L(z);
      transplant(z, L(z));
    } else {
      y = minimum(R(z));
      y_colour = colour(y);
      x = R(y);
      if (P(y) == z) {
        P(x) = y;
      } else {
        transplant(y, R(y));
        R(y) = R(z);
        P(R(y)) = y;
      }
      transplant(z, y);
      L(y) = L(z);
      P(L(y)) = y;
      set_colour(y, colour(z));
    }
    if (y_colour == kBlack) remove_fixup(x);
  }
  void insert_fixup(char* z) {
    while (colour(P(z)) == kRed) {
      char* g = P(P(z));
      int d = P(z) == L(g) ? 0 : 1;  // the side of z's parent under g
      char* uncle = child(g, 1 - d);
      if (colour(uncle) == kRed) {
        set_colour(P(z), kBlack);
        set_colour(uncle, kBlack);
        set_colour(g, kRed);
        z = g;
      } else {
        if (z == child(P(z), 1 - d)) {
          z = P(z);
          rotate(z, d);
        }
        set_colour(P(z), kBlack);
        set_colour(P(P(z)), kRed);
        rotate(P(P(z)), 1 - d);
      }
    }
    set_colour(root_, kBlack);
  }
  void remove_fixup(char* x) {
    while (x != root_ && colour(x) == kBlack) {
      int d = x == L(P(x)) ? 0 : 1;  // the side of x under its parent
      char* w = child(P(x), 1 - d);  // x's sibling
      if (colour(w) == kRed) {
        set_colour(w, kBlack);
        set_colour(P(x), kRed);
        rotate(P(x), d);
        w = child(P(x), 1 - d);
      }
      if (colour(child(w, d)) == kBlack && colour(child(w, 1 - d)) == kBlack) {
        set_colour(w, kRed);
        x = P(x);
      } else {
        if (colour(child(w, 1 - d)) == kBlack) {
          set_colour(child(w, d), kBlack);
          set_colour(w, kRed);
          rotate(w, 1 - d);
          w = child(P(x), 1 - d);
        }
        set_colour(w, colour(P(x)));
        set_colour(P(x), kBlack);
        set_colour(child(w, 1 - d), kBlack);
        rotate(P(x), d);
        x = root_;
      }
    }
    set_colour(x, kBlack);
  }
  bool check_node(char* x, char* parent, std::size_t lo, std::size_t hi, int* bh, std::size_t* n,
                  std::string* err) const {
    if (x == nil_) {
      *bh = 1;
      return true;
    }
    ++*n;
    std::size_t sx = chunk_size(x);
    if (in_use(x)) return fail(err, "red-black tree holds an in-use chunk");
    if (P(x) != parent) return fail(err, "red-black tree parent link broken");
    if (sx <= lo || sx >= hi) return fail(err, "red-black tree out of size order");
    if (colour(x) == kRed && (colour(L(x)) == kRed || colour(R(x)) == kRed))
      return fail(err, "red-black tree: red node with red child");
    char* prev = x;
    for (char* m = H(x); m != nullptr; prev = m, m = L(m)) {
      if (in_use(m) || chunk_size(m) != sx || P(m) != member() || R(m) != prev)
        return fail(err, "red-black tree: broken same-size list");
      ++*n;
    }
    int bl = 0, br = 0;
    if (!check_node(L(x), x, lo, sx, &bl, n, err) || !check_node(R(x), x, sx, hi, &br, n, err)) return false;
    if (bl != br) return fail(err, "red-black tree: unequal black heights");
    *bh = bl + (colour(x) == kBlack ? 1 : 0);
    return true;
  }

  char* root_ = nullptr;
  char* nil_ = nullptr;
};
}  // namespace detail

/// One unordered doubly-linked free list: LIFO insert, first-fit search.
class DList {
 public:
  static constexpr std::size_t kMinChunk = 32;
  static constexpr bool kFooters = true;
  static constexpr bool kSelfCoalescing = false;
  struct Config {};

  bool init(const Config&, const Probe* probe, MetaArena& arena) {
    probe_ = probe;
    return list_.init(1, arena);
  }
  char* take(std::size_t need) {
    char* c = list_.take_fit(0, need, probe_);
    if (c != nullptr) --count_;
    return c;
  }
  void insert(char* c) {
    list_.push(0, c, probe_);
    ++count_;
  }
  void remove(char* c) {
    list_.unlink(0, c, probe_);
    --count_;
  }
  std::size_t count() const { return count_; }
  bool validate(std::string* err) const {
    std::size_t n = 0;
    if (!list_.check([](std::size_t) { return std::size_t{0}; }, &n, err)) return false;
    return n == count_ || fail(err, "free list length differs from its count");
  }

 private:
  const Probe* probe_ = nullptr;
  detail::ListBins list_;  // one bin
  std::size_t count_ = 0;
};

/// One singly-linked free list in address order (first fit, coalescing on insert
/// with its list neighbours). No footers: the order alone finds neighbours.
class AddrList {
 public:
  static constexpr std::size_t kMinChunk = 16;
  static constexpr bool kFooters = false;
  static constexpr bool kSelfCoalescing = true;
  struct Config {};

  bool init(const Config&, const Probe* probe, MetaArena& arena) {
    probe_ = probe;
    head_ = arena.alloc_array<char*>(1);
    return head_ != nullptr;
  }
  char* take(std::size_t need) {
    char* prev = nullptr;
    touch(probe_, head_, 8);
    for (char* c = *head_; c != nullptr; prev = c, c = next(c)) {
      touch(probe_, c, 16);
      if (chunk_size(c) >= need) {
        unlink(prev, c);
        return c;
      }
    }
    return nullptr;
  }
  /// Inserts without merging.
  void insert(char* c) { insert_merge_impl(c, false); }
  /// Inserts in address order and merges with adjacent list neighbours; returns
  /// the resulting chunk (c, or the lower neighbour it merged into).
  char* insert_merge(char* c) { return insert_merge_impl(c, true); }
  void remove(char* c) {
    char* prev = nullptr;
    for (char* x = *head_; x != nullptr; prev = x, x = next(x)) {
      touch(probe_, x, 16);
      if (x == c) {
        unlink(prev, c);
        return;
      }
    }
  }
  /// Removes and returns the chunk that ends exactly at `c`, if the list holds one.
  char* take_ending_at(char* c) {
    char* prev = nullptr;
    for (char* x = *head_; x != nullptr && x < c; prev = x, x = next(x)) {
      touch(probe_, x, 16);
      if (x + chunk_size(x) == c) {
        unlink(prev, x);
        return x;
      }
    }
    return nullptr;
  }
  std::size_t count() const { return count_; }
  bool validate(std::string* err) const {
    std::size_t n = 0;
    const char* prev = nullptr;
    for (char* c = *head_; c != nullptr; c = next(c)) {
      if (in_use(c)) return fail(err, "free list holds an in-use chunk");
      if (prev != nullptr && prev >= c) return fail(err, "free list not in address order");
      ++n;
      prev = c;
    }
    return n == count_ || fail(err, "free list length differs from its count");
  }

 private:
  static char*& next(char* c) { return link(c, 0); }
  void unlink(char* prev, char* c) {
    if (prev == nullptr) {
      *head_ = next(c);
    } else {
      next(prev) = next(c);
      touch(probe_, prev + 8, 8);
    }
    --count_;
  }
  char* insert_merge_impl(char* c, bool merge) {
    char* prev = nullptr;
    char* cur = *head_;
    touch(probe_, head_, 8);
    while (cur != nullptr && cur < c) {
      touch(probe_, cur, 16);
      prev = cur;
      cur = next(cur);
    }
    if (merge && prev != nullptr && prev + chunk_size(prev) == c) {
      word(prev) = chunk_size(prev) + chunk_size(c);
      touch(probe_, prev, 8);
      c = prev;
    } else {
      next(c) = cur;
      if (prev == nullptr) {
        *head_ = c;
      } else {
        next(prev) = c;
      }
      touch(probe_, c + 8, 8);
      ++count_;
    }
    if (merge && cur != nullptr && c + chunk_size(c) == cur) {
      word(c) = chunk_size(c) + chunk_size(cur);
      next(c) = next(cur);
      touch(probe_, c, 16);
      --count_;
    }
    return c;
  }

  const Probe* probe_ = nullptr;
  char** head_ = nullptr;  // in the arena
  std::size_t count_ = 0;
};

/// Exact bins for small sizes plus one first-fit bin for everything larger.
class ExactBins {
 public:
  static constexpr std::size_t kMinChunk = 32;
  static constexpr bool kFooters = true;
  static constexpr bool kSelfCoalescing = false;
  struct Config {
    std::size_t bins = 64;  ///< >= 2; bins-1 exact sizes 32, 48, ..., then one for the rest
  };

  bool init(const Config& cfg, const Probe* probe, MetaArena& arena) {
    probe_ = probe;
    nbins_ = cfg.bins < 2 ? 2 : cfg.bins;
    return bins_.init(nbins_, arena);
  }
  std::size_t bin_of(std::size_t size) const {
    std::size_t i = (size - kMinChunk) >> 4;
    return i < nbins_ - 1 ? i : nbins_ - 1;
  }
  char* take(std::size_t need) {
    std::size_t b = bin_of(need);
    std::size_t last = nbins_ - 1;
    char* c = nullptr;
    if (b < last) {
      std::size_t nb = bins_.next_nonempty(b);
      if (nb == SIZE_MAX) return nullptr;
      if (nb < last) c = bins_.take_head(nb, probe_);
    }
    if (c == nullptr) c = bins_.take_fit(last, need, probe_);
    if (c != nullptr) --count_;
    return c;
  }
  void insert(char* c) {
    bins_.push(bin_of(chunk_size(c)), c, probe_);
    ++count_;
  }
  void remove(char* c) {
    bins_.unlink(bin_of(chunk_size(c)), c, probe_);
    --count_;
  }
  std::size_t count() const { return count_; }
  bool validate(std::string* err) const {
    std::size_t n = 0;
    if (!bins_.check([this](std::size_t s) { return bin_of(s); }, &n, err)) return false;
    return n == count_ || fail(err, "bins hold a different number of chunks than counted");
  }

 private:
  const Probe* probe_ = nullptr;
  std::size_t nbins_ = 2;
  detail::ListBins bins_;
  std::size_t count_ = 0;
};

/// Segregated fits: one bin per size class (chunk-size ranges) plus one for all
/// larger chunks. Best=false: first fit in a LIFO list; Best=true: best fit in a
/// red-black tree of sizes (among equal sizes, the last freed). Larger=false: only the request's own bin
/// is searched; Larger=true: then every larger non-empty bin in order.
template <bool Best, bool Larger>
class SegBins {
 public:
  static constexpr std::size_t kMinChunk = Best ? detail::RBTree::kNodeBytes : 32;
  static constexpr bool kFooters = true;
  static constexpr bool kSelfCoalescing = false;
  struct Config {
    /// Upper chunk-size bound of each class bin, increasing (bin i holds chunk
    /// sizes in (limits[i-1], limits[i]]); one more bin holds every larger chunk.
    /// Read (copied into the arena) at init only.
    std::vector<std::size_t> limits;
  };

  bool init(const Config& cfg, const Probe* probe, MetaArena& arena) {
    probe_ = probe;
    nlimits_ = cfg.limits.size();
    nbins_ = nlimits_ + 1;
    limits_ = arena.alloc_array<std::size_t>(nlimits_);
    lookup_ = arena.alloc_array<std::uint16_t>(kLookupMax / 16 + 1);
    if (limits_ == nullptr || lookup_ == nullptr) return false;
    std::copy(cfg.limits.begin(), cfg.limits.end(), limits_);
    for (std::size_t s = 0; s <= kLookupMax; s += 16) lookup_[s / 16] = static_cast<std::uint16_t>(search_bin(s));
    if constexpr (Best) {
      nil_ = static_cast<char*>(arena.alloc(detail::RBTree::kNodeBytes));
      trees_ = arena.alloc_array<detail::RBTree>(nbins_);
      if (nil_ == nullptr || trees_ == nullptr || !map_.init(nbins_, arena)) return false;
      for (std::size_t b = 0; b < nbins_; ++b) trees_[b].init(nil_);
      return true;
    } else {
      return lists_.init(nbins_, arena);
    }
  }
  std::size_t bin_of(std::size_t size) const { return size <= kLookupMax ? lookup_[size >> 4] : search_bin(size); }
  std::size_t bins() const { return nbins_; }

  char* take(std::size_t need) {
    std::size_t b = bin_of(need);
    char* c = nullptr;
    if constexpr (Best) {
      c = trees_[b].lower_bound(need, probe_);
      if (c == nullptr && Larger) {
        // Every chunk of a larger bin fits (its sizes exceed this bin's bound).
        std::size_t nb = map_.next(b + 1);
        if (nb != SIZE_MAX) c = trees_[nb].min_node(probe_);
      }
      if (c != nullptr) remove(c);
    } else {
      c = lists_.take_fit(b, need, probe_);
      if (c == nullptr && Larger) {
        std::size_t nb = lists_.next_nonempty(b + 1);
        if (nb != SIZE_MAX) c = lists_.take_head(nb, probe_);
      }
      if (c != nullptr) --count_;
    }
    return c;
  }
  void insert(char* c) {
    std::size_t b = bin_of(chunk_size(c));
    if constexpr (Best) {
      trees_[b].insert(c, probe_);
      map_.set(b);
    } else {
      lists_.push(b, c, probe_);
    }
    ++count_;
  }
  void remove(char* c) {
    std::size_t b = bin_of(chunk_size(c));
    if constexpr (Best) {
      trees_[b].remove(c, probe_);
      if (trees_[b].empty()) map_.clear(b);
    } else {
      lists_.unlink(b, c, probe_);
    }
    --count_;
  }
  std::size_t count() const { return count_; }
  bool validate(std::string* err) const {
    std::size_t n = 0;
    if constexpr (Best) {
      for (std::size_t b = 0; b < nbins_; ++b) {
        std::size_t before = n;
        if (!trees_[b].check(&n, err)) return false;
        if ((map_.next(b) == b) != (n != before)) return fail(err, "bin bitmap out of date");
      }
    } else {
      if (!lists_.check([this](std::size_t s) { return bin_of(s); }, &n, err)) return false;
    }
    return n == count_ || fail(err, "bins hold a different number of chunks than counted");
  }

 private:
  static constexpr std::size_t kLookupMax = 4096;
  std::size_t search_bin(std::size_t size) const {
    return static_cast<std::size_t>(std::lower_bound(limits_, limits_ + nlimits_, size) - limits_);
  }

  // Everything below that a search reads lives in the arena (limits, lookup, list
  // heads or trees and their nil node, the bitmap).
  const Probe* probe_ = nullptr;
  std::size_t* limits_ = nullptr;
  std::size_t nlimits_ = 0;
  std::size_t nbins_ = 1;
  std::uint16_t* lookup_ = nullptr;
  detail::ListBins lists_;           // first fit
  detail::RBTree* trees_ = nullptr;  // best fit
  char* nil_ = nullptr;
  detail::BinMap map_;               // best fit: non-empty trees
  std::size_t count_ = 0;
};

}  // namespace evo::block
