// core/buddy/config.hpp — what both buddy systems (BuddyHeap, core/buddy/buddy_heap.hpp;
// FibBuddyHeap, core/buddy/fib_heap.hpp) take from a spec, and how an instance
// of either is built.
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
