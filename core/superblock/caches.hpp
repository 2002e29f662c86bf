// core/superblock/caches.hpp — what happens to an empty superblock (or any empty
// container): cache=none|eager|lazy.
//
// Reusable policy contract (the buddy family reuses these): a cache is
//   template <class Node> struct XCache {
//     struct State;                                            // zero-initialised is valid
//     template <class H> static void on_empty(State&, H&, Node*);  // node's live just hit 0
//     template <class H> static Node* take(State&, H&);         // an empty node to reuse, or nullptr;
//                                                                // it is detached from every bin/list
//     static void on_use(State&, Node*, const Probe*);          // a block was just allocated from node
//     static bool validate(const State&, std::string* err);     // Full walk of its own list
//     static std::size_t count(const State&);                   // nodes it holds
//   };
// The heap H provides: void bin_detach(Node*) (remove from its bin if in_bin),
// void release(Node*) (return it to the OS), const Probe* probe() const.
// Node must have: Node* cnext, *cprev; std::uint32_t live; std::uint8_t in_cache, marked.
//   none   an empty node is returned to the OS at once.
//   eager  an empty node leaves its bin at once for a cache list (up to kCacheMax
//          nodes, LIFO; beyond that it is returned to the OS); any class may take it.
//   lazy   an empty node stays in its bin (still serving its class) and is marked;
//          when a new node is needed the most recently marked one is taken from its
//          bin; beyond kCacheMax marked nodes the oldest is returned to the OS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/probe.hpp"

namespace evo {

inline constexpr std::size_t kCacheMax = 8;

namespace cache_detail {

/// Doubly-linked list through cnext/cprev with head, tail and count.
template <class Node>
struct List {
  Node* head;
  Node* tail;
  std::size_t n;
  void push_front(Node* x, const Probe* p) {
    x->cprev = nullptr;
    x->cnext = head;
    if (head != nullptr) head->cprev = x;
    else tail = x;
    head = x;
    ++n;
    touch(p, x, 4 * sizeof(Node*));
  }
  void unlink(Node* x, const Probe* p) {
    if (x->cprev != nullptr) x->cprev->cnext = x->cnext;
    else head = x->cnext;
    if (x->cnext != nullptr) x->cnext->cprev = x->cprev;
    else tail = x->cprev;
    x->cnext = x->cprev = nullptr;
    --n;
    touch(p, x, 4 * sizeof(Node*));
  }
  bool validate(std::string* err, bool lazy) const {
    std::size_t k = 0;
    Node* prev = nullptr;
    for (Node* x = head; x != nullptr; prev = x, x = x->cnext) {
      if (x->cprev != prev || ++k > n) {
        if (err) *err = "cache: broken list";
        return false;
      }
      if (x->live != 0 || (lazy ? !x->marked : !x->in_cache) || (!lazy && x->in_bin)) {
        if (err) *err = "cache: listed node is not empty/flagged";
        return false;
      }
    }
    if (k != n || prev != tail) {
      if (err) *err = "cache: count or tail out of date";
      return false;
    }
    return true;
  }
};

/// The state and count of a cache that holds its nodes on one List (eager, lazy),
/// and the taking of the most recently cached one.
template <class Node>
struct ListCache {
  struct State {
    List<Node> list;
  };
  static std::size_t count(const State& s) { return s.list.n; }
  /// The head of the list, unlinked, or nullptr when the list is empty.
  static Node* pop_front(State& s, const Probe* p) {
    Node* n = s.list.head;
    if (n != nullptr) s.list.unlink(n, p);
    return n;
  }
};

}  // namespace cache_detail

template <class Node>
struct NoCache {
  static constexpr const char* kName = "none";
  struct State {};
  template <class H>
  static void on_empty(State&, H& heap, Node* n) {
    heap.bin_detach(n);
    heap.release(n);
  }
  template <class H>
  static Node* take(State&, H&) {
    return nullptr;
  }
  static void on_use(State&, Node*, const Probe*) {}
  static bool validate(const State&, std::string*) { return true; }
  static std::size_t count(const State&) { return 0; }
};

template <class Node>
struct EagerCache : cache_detail::ListCache<Node> {
  using typename cache_detail::ListCache<Node>::State;
  static constexpr const char* kName = "eager";
  template <class H>
  static void on_empty(State& s, H& heap, Node* n) {
    heap.bin_detach(n);
    if (s.list.n >= kCacheMax) {
      heap.release(n);
      return;
    }
    s.list.push_front(n, heap.probe());
    n->in_cache = 1;
  }
  template <class H>
  static Node* take(State& s, H& heap) {
    Node* n = cache_detail::ListCache<Node>::pop_front(s, heap.probe());
    if (n != nullptr) n->in_cache = 0;
    return n;
  }
  static void on_use(State&, Node*, const Probe*) {}
  static bool validate(const State& s, std::string* err) { return s.list.validate(err, false); }
};

template <class Node>
struct LazyCache : cache_detail::ListCache<Node> {
  using typename cache_detail::ListCache<Node>::State;
  static constexpr const char* kName = "lazy";
  template <class H>
  static void on_empty(State& s, H& heap, Node* n) {
    s.list.push_front(n, heap.probe());
    n->marked = 1;
    if (s.list.n > kCacheMax) {
      Node* victim = s.list.tail;
      s.list.unlink(victim, heap.probe());
      victim->marked = 0;
      heap.bin_detach(victim);
      heap.release(victim);
    }
  }
  template <class H>
  static Node* take(State& s, H& heap) {
    Node* n = cache_detail::ListCache<Node>::pop_front(s, heap.probe());
    if (n == nullptr) return nullptr;
    n->marked = 0;
    heap.bin_detach(n);
    return n;
  }
  static void on_use(State& s, Node* n, const Probe* p) {
    if (n->marked) [[unlikely]] {
      s.list.unlink(n, p);
      n->marked = 0;
    }
  }
  static bool validate(const State& s, std::string* err) { return s.list.validate(err, true); }
};

}  // namespace evo
