// core/buddy/config.hpp — what both buddy systems (BuddyHeap, core/buddy/buddy_heap.hpp;
// FibBuddyHeap, core/buddy/fib_heap.hpp) take from a spec, how their families
// check it, and how an instance of either is built.
#pragma once

#include <cstddef>
#include <new>
#include <string>

#include "core/adapter.hpp"
#include "core/probe.hpp"
#include "core/source/memory_source.hpp"

namespace evo::buddy {

struct BuddyConfig {
  std::size_t sb = 256 * 1024;  ///< superblock bytes (power of two)
  std::size_t min = 16;         ///< smallest block (power of two, >= 16)
  std::size_t large = 64 * 1024;
  std::size_t min_align = 16;
  std::size_t reserve = 0, limit = 0;
  SourceBacking backing = SourceBacking::Real;
  MemoryGroup* group = nullptr;
  const Probe* probe = nullptr;
  std::size_t retain = 0;  ///< MemorySource::set_retain
};

/// The spec's sb, min and large, its common keys (align, retain) and the instance
/// options.
inline BuddyConfig buddy_config(const AllocatorSpec& spec, const InstanceOptions& opt) {
  BuddyConfig c;
  set_common_config(c, common_params(spec), opt);
  c.sb = spec.get_size("sb");
  c.min = spec.get_size("min");
  c.large = spec.get_size("large");
  return c;
}

/// The spec check of both buddy families: min at most sb / `min_parts`, and large at
/// most sb (and at least min when `large_at_least_min`); false with *err otherwise.
inline bool check_buddy_sizes(const AllocatorSpec& spec, std::uint64_t min_parts, bool large_at_least_min,
                              std::string* err) {
  const std::uint64_t sb = spec.get_size("sb"), min = spec.get_size("min"), large = spec.get_size("large");
  if (min > sb / min_parts)
    return fail(err, "min=" + format_size(min) + " must be at most sb/" + std::to_string(min_parts) + " = " +
                         format_size(sb / min_parts));
  if (large_at_least_min && (large > sb || large < min))
    return fail(err, "large=" + format_size(large) + " must lie between min=" + format_size(min) +
                         " and sb=" + format_size(sb));
  if (large > sb) return fail(err, "large=" + format_size(large) + " must be at most sb=" + format_size(sb));
  return true;
}

/// new H(config of spec and opt), then H::init(err); nullptr (and *err) when
/// either fails.
template <class H>
H* create_heap(const AllocatorSpec& spec, const InstanceOptions& opt, std::string* err) {
  auto* h = new (std::nothrow) H(buddy_config(spec, opt));
  if (h == nullptr || !h->init(err)) {
    if (h == nullptr && err) *err = "out of memory for the instance";
    delete h;
    return nullptr;
  }
  return h;
}

}  // namespace evo::buddy
