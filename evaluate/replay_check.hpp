// evaluate/replay_check.hpp — what the replays (replay.cpp, replay_threaded.cpp) share
// besides the trace: the program's first touch of a block, and check mode, the
// guarantees of every block an instance returns, verified per op (slow; tests).
// On allocation: alignment (>= max(16, requested)), usable_size >= size, no overlap
// with any live block, calloc zeroes; a pattern (a function of the object id and
// the byte index) is written to the first and last 256 bytes. On free/realloc the
// pattern is verified (the block's contents did not change while it was live).
// Not thread-safe: the threaded replay holds a mutex around it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "core/instance.hpp"
#include "core/probe.hpp"
#include "evaluate/trace.hpp"

namespace evo {

/// Rewrites the first byte of p with its own value (keeps calloc'ed zeroes and
/// realloc'ed data) in ONE read-modify-write instruction, which the processor
/// issues as a write: on a page never touched that is one page fault, where a load
/// then a store took two (the load maps the shared zero page, the store then faults
/// again to get a page of its own). A program writes a block it was given before it
/// reads it; with the load first, a design whose cache never touches the blocks it
/// hands out (front=tcache:B:array) paid both faults in the replay on every fresh
/// page, a design whose free list writes its links one (docs/benchmarks.md, session
/// 28: 320 faults more per replay of traces/pyqueue.trace, 1.5x its time).
inline void rewrite_first_byte(void* p) {
#if defined(__x86_64__)
  asm volatile("orb $0, %0" : "+m"(*static_cast<char*>(p)));
#else
  volatile char* q = static_cast<volatile char*>(p);
  *q = *q;
#endif
}

/// The program's first touch of a block it received: rewrite_first_byte, and
/// reported to `probe` (min(size, 64) bytes) when there is one. `probe` is the
/// caller's local copy of ReplayOptions::program_touch: read once, not after every
/// opaque call.
inline void first_touch(const Probe* probe, void* p, std::uint64_t size) {
  if (size == 0) return;
  rewrite_first_byte(p);
  touch(probe, p, size < 64 ? size : 64);
}

/// Verifies the guarantees of every returned block (slow, for tests).
struct Checker {
  struct Live {
    std::uint64_t size;
    std::uint32_t object;
  };
  std::map<std::uintptr_t, Live> blocks;  // start -> block
  std::vector<std::uint64_t> sizes;       // per object: requested size

  static unsigned char pattern(std::uint32_t object, std::uint64_t i) {
    return static_cast<unsigned char>(object * 131u + i * 7u + 1u);
  }
  static void fill(std::uint32_t object, unsigned char* p, std::uint64_t size) {
    std::uint64_t head = std::min<std::uint64_t>(size, 256);
    for (std::uint64_t i = 0; i < head; ++i) p[i] = pattern(object, i);
    for (std::uint64_t i = std::max(head, size - std::min<std::uint64_t>(size, 256)); i < size; ++i)
      p[i] = pattern(object, i);
  }
  /// Checks the first `size` bytes written by fill(object, ., written).
  static bool verify(std::uint32_t object, const unsigned char* p, std::uint64_t written, std::uint64_t size) {
    std::uint64_t n = std::min(written, size);
    std::uint64_t head = std::min<std::uint64_t>(written, 256);
    for (std::uint64_t i = 0; i < std::min(head, n); ++i)
      if (p[i] != pattern(object, i)) return false;
    for (std::uint64_t i = std::max(head, written - std::min<std::uint64_t>(written, 256)); i < n; ++i)
      if (p[i] != pattern(object, i)) return false;
    return true;
  }

  /// `inst`: anything with usable_size(p) (an Instance, a per-thread cache).
  template <class Heap>
  std::string on_alloc(const Heap& inst, std::uint64_t idx, const Op& op, void* p, std::uint64_t size,
                       std::size_t align) {
    auto a = reinterpret_cast<std::uintptr_t>(p);
    std::string where = "op " + std::to_string(idx) + " (" + op_kind_name(op.kind) + " " + std::to_string(size) + "): ";
    if (a % std::max<std::size_t>(16, align) != 0) return where + "block misaligned";
    if (inst.usable_size(p) < size) return where + "usable_size " + std::to_string(inst.usable_size(p)) + " < size";
    std::uint64_t len = std::max<std::uint64_t>(size, 1);
    auto next = blocks.lower_bound(a);
    if (next != blocks.end() && next->first < a + len) return where + "overlaps a live block";
    if (next != blocks.begin()) {
      auto prev = std::prev(next);
      if (prev->first + std::max<std::uint64_t>(prev->second.size, 1) > a) return where + "overlaps a live block";
    }
    blocks.emplace(a, Live{size, op.object});
    if (op.object >= sizes.size()) sizes.resize(op.object + 1);
    sizes[op.object] = size;
    if (op.kind == OpKind::Calloc)
      for (std::uint64_t i = 0; i < size; ++i)
        if (static_cast<unsigned char*>(p)[i] != 0) return where + "calloc block not zeroed";
    fill(op.object, static_cast<unsigned char*>(p), size);
    return {};
  }
  std::string on_release(std::uint64_t idx, const Op& op, void* p, std::uint64_t keep) {
    auto a = reinterpret_cast<std::uintptr_t>(p);
    auto it = blocks.find(a);
    std::string where = "op " + std::to_string(idx) + " (" + op_kind_name(op.kind) + "): ";
    if (it == blocks.end()) return where + "block not live";
    std::uint64_t written = it->second.size;
    if (!verify(op.object, static_cast<unsigned char*>(p), written, std::min(keep, written)))
      return where + "block contents changed while live";
    blocks.erase(it);
    return {};
  }
};

}  // namespace evo
