// core/superblock/bins.hpp — bin policies: how one size class keeps the superblocks
// (or any containers) that still have free space, and which one serves the next
// request. bins=unordered|mtf|fullness-array|fullness-list|fullness-mtf.
//
// Reusable policy contract (the buddy family reuses these): a bin is
//   template <class Node> struct XBin {
//     struct State;                                       // per class, zero-initialised is valid
//     static void insert(State&, Node*, const Probe*);    // node has space and is not in the bin
//     static void remove(State&, Node*, const Probe*);    // node is in the bin
//     static Node* pick(State&, const Probe*);            // a node of the bin, or nullptr
//     static void on_alloc(State&, Node*, const Probe*);  // node in the bin; its `live` grew by 1
//     static void on_free(State&, Node*, const Probe*);   // node in the bin; its `live` shrank by 1
//     static bool validate(const State&, std::size_t& count, std::string* err);  // Full walk
//   };
// Node must have: Node* next, *prev; std::uint32_t live, capacity; std::uint8_t bucket,
// in_bin. The bin owns next/prev/bucket/in_bin while the node is in it. Every node in a
// bin must have space (the caller removes a node that becomes full). Each head and
// link touched is reported to the probe.
//   unordered       one list; new and refilled nodes go to the front; serve the front.
//   mtf             one list, access-ordered: a node that receives a free moves to the front.
//   fullness-array  kBuckets lists by fullness (live*kBuckets/capacity); serve the fullest.
//   fullness-list   one list sorted by live count, fullest first (kept sorted by local moves).
//   fullness-mtf    fullness buckets, and move-to-front within a bucket on every free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/probe.hpp"

namespace evo {

namespace bin_detail {

template <class Node>
void push_front(Node*& head, Node* n, const Probe* probe) {
  n->prev = nullptr;
  n->next = head;
  if (head != nullptr) {
    head->prev = n;
    touch(probe, head, 2 * sizeof(Node*));
  }
  head = n;
  touch(probe, &head, sizeof(Node*));
  touch(probe, n, 2 * sizeof(Node*));
}

template <class Node>
void unlink(Node*& head, Node* n, const Probe* probe) {
  if (n->prev != nullptr) {
    n->prev->next = n->next;
    touch(probe, n->prev, 2 * sizeof(Node*));
  } else {
    head = n->next;
    touch(probe, &head, sizeof(Node*));
  }
  if (n->next != nullptr) {
    n->next->prev = n->prev;
    touch(probe, n->next, 2 * sizeof(Node*));
  }
  n->next = n->prev = nullptr;
}

template <class Node>
bool walk(Node* head, std::uint8_t bucket, bool check_bucket, std::size_t& count, std::string* err) {
  Node* prev = nullptr;
  std::size_t guard = 0;
  for (Node* n = head; n != nullptr; prev = n, n = n->next) {
    if (n->prev != prev) {
      if (err) *err = "bin: broken prev link";
      return false;
    }
    if (!n->in_bin) {
      if (err) *err = "bin: listed node not marked in_bin";
      return false;
    }
    if (check_bucket && n->bucket != bucket) {
      if (err) *err = "bin: node in the wrong fullness bucket";
      return false;
    }
    if (++guard > (std::size_t{1} << 32)) {
      if (err) *err = "bin: cycle";
      return false;
    }
    ++count;
  }
  return true;
}

}  // namespace bin_detail

template <class Node>
struct UnorderedBin {
  static constexpr const char* kName = "unordered";
  struct State {
    Node* head;
  };
  static void insert(State& s, Node* n, const Probe* p) {
    bin_detail::push_front(s.head, n, p);
    n->in_bin = 1;
  }
  static void remove(State& s, Node* n, const Probe* p) {
    bin_detail::unlink(s.head, n, p);
    n->in_bin = 0;
  }
  static Node* pick(State& s, const Probe* p) {
    touch(p, &s.head, sizeof(Node*));
    return s.head;
  }
  static void on_alloc(State&, Node*, const Probe*) {}
  static void on_free(State&, Node*, const Probe*) {}
  static bool validate(const State& s, std::size_t& count, std::string* err) {
    return bin_detail::walk(s.head, 0, false, count, err);
  }
};

template <class Node>
struct MtfBin : UnorderedBin<Node> {
  static constexpr const char* kName = "mtf";
  using State = typename UnorderedBin<Node>::State;
  static void on_free(State& s, Node* n, const Probe* p) {
    if (s.head == n) return;
    bin_detail::unlink(s.head, n, p);
    bin_detail::push_front(s.head, n, p);
  }
};

inline constexpr unsigned kFullnessBuckets = 4;

template <class Node, bool MoveToFront>
struct FullnessArrayBinT {
  static constexpr const char* kName = MoveToFront ? "fullness-mtf" : "fullness-array";
  struct State {
    Node* heads[kFullnessBuckets];
    std::uint32_t nonempty;  ///< bit b set when heads[b] != nullptr
  };
  static std::uint8_t bucket_of(const Node* n) {
    std::uint64_t b = std::uint64_t{n->live} * kFullnessBuckets / n->capacity;
    return static_cast<std::uint8_t>(b < kFullnessBuckets ? b : kFullnessBuckets - 1);
  }
  static void put(State& s, Node* n, const Probe* p) {
    n->bucket = bucket_of(n);
    bin_detail::push_front(s.heads[n->bucket], n, p);
    s.nonempty |= 1u << n->bucket;
  }
  static void take(State& s, Node* n, const Probe* p) {
    bin_detail::unlink(s.heads[n->bucket], n, p);
    if (s.heads[n->bucket] == nullptr) s.nonempty &= ~(1u << n->bucket);
  }
  static void insert(State& s, Node* n, const Probe* p) {
    put(s, n, p);
    n->in_bin = 1;
  }
  static void remove(State& s, Node* n, const Probe* p) {
    take(s, n, p);
    n->in_bin = 0;
  }
  static Node* pick(State& s, const Probe* p) {
    touch(p, &s, sizeof(State));
    if (s.nonempty == 0) return nullptr;
    unsigned b = 31 - static_cast<unsigned>(__builtin_clz(s.nonempty));  // fullest bucket
    return s.heads[b];
  }
  static void on_alloc(State& s, Node* n, const Probe* p) {
    if (bucket_of(n) != n->bucket) {
      take(s, n, p);
      put(s, n, p);
    }
  }
  static void on_free(State& s, Node* n, const Probe* p) {
    if (bucket_of(n) != n->bucket || (MoveToFront && s.heads[n->bucket] != n)) {
      take(s, n, p);
      put(s, n, p);
    }
  }
  static bool validate(const State& s, std::size_t& count, std::string* err) {
    for (unsigned b = 0; b < kFullnessBuckets; ++b) {
      if (((s.nonempty >> b) & 1) != (s.heads[b] != nullptr ? 1u : 0u)) {
        if (err) *err = "bin: nonempty mask out of date";
        return false;
      }
      if (!bin_detail::walk(s.heads[b], static_cast<std::uint8_t>(b), true, count, err)) return false;
      for (Node* n = s.heads[b]; n != nullptr; n = n->next)
        if (bucket_of(n) != b) {
          if (err) *err = "bin: node fullness does not match its bucket";
          return false;
        }
    }
    return true;
  }
};

template <class Node>
using FullnessArrayBin = FullnessArrayBinT<Node, false>;
template <class Node>
using FullnessMtfBin = FullnessArrayBinT<Node, true>;

/// One list like unordered (whose remove and pick it keeps), sorted by live count.
template <class Node>
struct FullnessListBin : UnorderedBin<Node> {
  static constexpr const char* kName = "fullness-list";
  using State = typename UnorderedBin<Node>::State;
  static void insert(State& s, Node* n, const Probe* p) {
    // Before the first node that is not fuller than n.
    Node* prev = nullptr;
    Node* cur = s.head;
    touch(p, &s.head, sizeof(Node*));
    while (cur != nullptr && cur->live > n->live) {
      touch(p, cur, sizeof(Node));
      prev = cur;
      cur = cur->next;
    }
    n->prev = prev;
    n->next = cur;
    if (prev != nullptr) prev->next = n;
    else s.head = n;
    if (cur != nullptr) cur->prev = n;
    touch(p, n, 2 * sizeof(Node*));
    n->in_bin = 1;
  }
  static void on_alloc(State& s, Node* n, const Probe* p) {
    // n got fuller: move it ahead of neighbours that are now less full.
    if (n->prev == nullptr || n->prev->live >= n->live) return;
    bin_detail::unlink(s.head, n, p);
    n->in_bin = 0;
    insert(s, n, p);
  }
  static void on_free(State& s, Node* n, const Probe* p) {
    if (n->next == nullptr || n->next->live <= n->live) return;
    // Move behind the run of fuller nodes.
    Node* after = n->next;
    touch(p, after, sizeof(Node));
    while (after->next != nullptr && after->next->live > n->live) {
      after = after->next;
      touch(p, after, sizeof(Node));
    }
    bin_detail::unlink(s.head, n, p);
    n->prev = after;
    n->next = after->next;
    if (after->next != nullptr) after->next->prev = n;
    after->next = n;
    touch(p, n, 2 * sizeof(Node*));
  }
  static bool validate(const State& s, std::size_t& count, std::string* err) {
    if (!bin_detail::walk(s.head, 0, false, count, err)) return false;
    for (Node* n = s.head; n != nullptr && n->next != nullptr; n = n->next)
      if (n->live < n->next->live) {
        if (err) *err = "bin: fullness-list out of order";
        return false;
      }
    return true;
  }
};

}  // namespace evo
