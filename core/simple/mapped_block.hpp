// core/simple/mapped_block.hpp — blocks that are a mapping of their own: the
// slab family's large blocks (core/simple/slab_alloc.hpp) and every block of the
// vm row (core/simple/reap_vm_alloc.hpp). The 16 bytes before such a block p hold
// {mapping bytes, offset of p from the mapping's base} (two uint64).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/adapter.hpp"
#include "core/probe.hpp"
#include "core/source/memory_source.hpp"

namespace evo::simple {

/// The bytes from block `p` to the end of its mapping (its usable size).
inline std::size_t mapped_block_usable(const void* vp) {
  std::uint64_t h[2];
  std::memcpy(h, static_cast<const char*>(vp) - 16, 16);
  return h[0] - h[1];
}

/// Unmaps the mapping holding block `p`.
inline void unmap_mapped_block(MemorySource& src, const Probe* probe, void* vp) {
  char* p = static_cast<char*>(vp);
  std::uint64_t h[2];
  std::memcpy(h, p - 16, 16);
  touch(probe, p - 16, 16);
  src.unmap(p - h[1], h[0]);
}

/// Resizes the mapping holding block `p` to hold `size` bytes after the block's
/// offset, with MemorySource::remap (in place, or moved without copying to an
/// `align`-aligned range; the header moves with it, its length rewritten).
/// Returns the block's address, or nullptr with the block untouched.
inline void* remap_mapped_block(MemorySource& src, const Probe* probe, void* vp, std::size_t size,
                                std::size_t align) {
  char* p = static_cast<char*>(vp);
  std::uint64_t h[2];
  std::memcpy(h, p - 16, 16);
  touch(probe, p - 16, 16);
  const std::size_t len = align_up(size + h[1], kPageSize);
  char* base = static_cast<char*>(src.remap(p - h[1], h[0], len, align));
  if (base == nullptr) return nullptr;
  p = base + h[1];
  h[0] = len;
  std::memcpy(p - 16, h, 8);
  touch(probe, p - 16, 8);
  return p;
}

}  // namespace evo::simple
