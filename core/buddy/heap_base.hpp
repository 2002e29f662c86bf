// core/buddy/heap_base.hpp — HeapBase<Node, Pagemap>: what both buddy systems'
// heaps (BuddyHeap, core/buddy/buddy_heap.hpp; FibBuddyHeap, core/buddy/fib_heap.hpp)
// keep alike.
//
//   - the memory source and the counters behind stats() (SourceCounted,
//     core/adapter.hpp), the metadata arena the nodes come from, the config;
//   - the pagemap: the entry of a superblock's aligned base points to its node, or
//     marks a block mapped directly from the source ((pages << 1) | 1, core/adapter.hpp;
//     such a block starts at its aligned base);
//   - the list of superblocks (newest first) and the spare nodes of unmapped ones.
// Superblocks are sb_bytes_ long and sb_align_-aligned (both set by the heap's
// constructor). Node has Node* anext, *aprev (the list; anext also links the spare
// nodes) and char* base.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/adapter.hpp"
#include "core/buddy/config.hpp"
#include "core/source/memory_source.hpp"
#include "core/source/meta_arena.hpp"

namespace evo::buddy {

template <class Node, class Pagemap>
class HeapBase : public SourceCounted {
 protected:
  explicit HeapBase(const BuddyConfig& c) : SourceCounted(c.reserve, c.limit, c.backing, c.retain, c.group), arena_(src_), cfg_(c) {}

  /// The source's reservation succeeded and the pagemap is set up.
  bool init_space(std::string* err) {
    if (!src_.ok()) {
      if (err) *err = "cannot reserve address space for the instance";
      return false;
    }
    return pagemap_.init(src_, arena_, err);
  }

  char* sb_base(const void* p) const {
    return reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t(sb_align_ - 1));
  }

  /// allocate's result, counted when it is a block.
  void* counted(void* p) {
    if (p != nullptr) ++allocs_;
    return p;
  }

  /// The start of deallocate(p): counts the free and returns the node of the
  /// superblock holding p. nullptr when there is nothing more to do: p is null (not
  /// counted) or a directly mapped block (now unmapped).
  Node* free_begin(void* p) {
    if (p == nullptr) return nullptr;
    ++frees_;
    char* base = sb_base(p);
    const std::uintptr_t e = pagemap_.get(base, cfg_.probe);
    if (const std::size_t bytes = marked_chunk_bytes(e)) {
      unmap_marked_chunk(src_, pagemap_, cfg_.probe, base, bytes);
      return nullptr;
    }
    return reinterpret_cast<Node*>(e);
  }

  /// The node of the superblock holding p; nullptr when p is in a directly mapped
  /// block, whose bytes from p to its end are then *rest.
  const Node* node_of(const void* vp, std::size_t* rest) const {
    const char* p = static_cast<const char*>(vp);
    char* base = sb_base(p);
    const std::uintptr_t e = pagemap_.get(base, cfg_.probe);
    if (const std::size_t bytes = marked_chunk_bytes(e)) {
      *rest = bytes - static_cast<std::size_t>(p - base);
      return nullptr;
    }
    return reinterpret_cast<const Node*>(e);
  }

  /// The bytes of the directly mapped block p, or 0 when p is in a superblock.
  std::size_t mapped_bytes(const void* p) const { return marked_chunk_bytes(pagemap_.get(sb_base(p), cfg_.probe)); }

  /// A block of at least `size` bytes mapped directly, max(align, sb_align_)-aligned,
  /// and marked in the pagemap; nullptr when the source or the pagemap fails.
  void* map_direct(std::size_t size, std::size_t align) {
    return map_marked_chunk(src_, pagemap_, cfg_.probe, align_up(size, kPageSize), std::max(align, sb_align_));
  }
  /// The directly mapped block p of `old` bytes resized to `bytes` (page multiples)
  /// with MemorySource::remap (in place, or moved without copying to an
  /// sb_align_-aligned range; the mark follows); nullptr with p untouched on failure.
  void* remap_direct(void* p, std::size_t old, std::size_t bytes) {
    return remap_marked_chunk(src_, pagemap_, cfg_.probe, p, old, bytes, sb_align_);
  }

  /// Maps a superblock and gives it a node the pagemap entry of its base points to:
  /// a spare node, or a new one of sizeof(Node) + extra arena bytes that
  /// `lay_out(node)` prepares (e.g. points at its bitmaps in those bytes).
  /// `reset(node)` then clears it but for that layout; its base is set and it is
  /// first on the list. nullptr, with nothing mapped, when memory runs out.
  template <class LayOut, class Reset>
  Node* add_superblock(std::size_t extra, LayOut lay_out, Reset reset) {
    // not zeroed: block headers and free links live in the blocks and are written
    // before they are read (the scribbled stress of tests/core/test_stress.cpp)
    char* base = static_cast<char*>(src_.map(sb_bytes_, sb_align_, false));
    if (base == nullptr) return nullptr;
    Node* n = spare_;
    if (n != nullptr) {
      spare_ = n->anext;
    } else {
      void* mem = arena_.alloc(sizeof(Node) + extra);
      if (mem == nullptr) {
        src_.unmap(base, sb_bytes_);
        return nullptr;
      }
      n = static_cast<Node*>(mem);
      lay_out(n);
    }
    if (!pagemap_.set(base, reinterpret_cast<std::uintptr_t>(n), cfg_.probe)) {
      n->anext = spare_;
      spare_ = n;
      src_.unmap(base, sb_bytes_);
      return nullptr;
    }
    reset(n);
    n->base = base;
    n->aprev = nullptr;
    n->anext = all_;
    if (all_ != nullptr) all_->aprev = n;
    all_ = n;
    return n;
  }

  /// Takes n's superblock off the list, clears its pagemap entry, unmaps it and
  /// keeps n as a spare node.
  void drop_superblock(Node* n) {
    if (n->aprev != nullptr) {
      n->aprev->anext = n->anext;
    } else {
      all_ = n->anext;
    }
    if (n->anext != nullptr) n->anext->aprev = n->aprev;
    pagemap_.set(n->base, 0, cfg_.probe);
    src_.unmap(n->base, sb_bytes_);
    n->anext = spare_;
    spare_ = n;
  }

  /// validate: the pagemap entry of n's superblock points back to n.
  bool points_back(const Node* n) const {
    return pagemap_.get(n->base, nullptr) == reinterpret_cast<std::uintptr_t>(n);
  }

  MetaArena arena_;
  BuddyConfig cfg_;
  Pagemap pagemap_;
  std::size_t sb_bytes_ = kPageSize;
  std::size_t sb_align_ = kPageSize;
  Node* all_ = nullptr;
  Node* spare_ = nullptr;
};

}  // namespace evo::buddy
