// core/probe.hpp — the optional observer of an allocator's own memory traffic.
//
// Components report each touch of their metadata (headers, free-list links,
// bitmaps, pagemap entries, bin heads) through `touch(probe, addr, bytes)`.
// The evaluate layer plugs in a probe that feeds a cache model and counts touches
// (the modeled speed and the locality metrics); replay for measured speed and the
// exported library run with no probe, where the cost is one predictable branch.
//
// Contract: addr is the address really read or written (so a cache model sees the
// true address stream); bytes > 0; touches are reported in program order.
#pragma once

#include <cstddef>
#include <cstdint>

namespace evo {

struct Probe {
  /// Called for each metadata touch. ctx is the probe owner's data.
  void (*on_touch)(void* ctx, const void* addr, std::uint32_t bytes) = nullptr;
  void* ctx = nullptr;
};

/// Report a metadata touch to an optional probe. Cheap when no probe is attached;
/// nothing at all in the exported library, which never has one (its CMake project
/// defines EVOALLOC_NO_PROBE: the probe only observes, so behaviour is unchanged).
inline void touch(const Probe* probe, const void* addr, std::size_t bytes) {
#ifdef EVOALLOC_NO_PROBE
  (void)probe, (void)addr, (void)bytes;
#else
  if (probe != nullptr) [[unlikely]]
    probe->on_touch(probe->ctx, addr, static_cast<std::uint32_t>(bytes));
#endif
}

}  // namespace evo
