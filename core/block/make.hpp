// core/block/make.hpp — glue between a spec and a TagHeap-based allocator class:
// reads the common keys and InstanceOptions into a HeapConfig, and builds the
// object with the adapter's error convention (nullptr + one line in *err).
#pragma once

#include <new>
#include <string>

#include "core/adapter.hpp"
#include "core/block/tag_heap.hpp"

namespace evo::block {

/// HeapConfig from the spec's common keys (align, source) and the instance options;
/// the family fills grow/split_min/large.
inline HeapConfig heap_config(const AllocatorSpec& spec, const InstanceOptions& opt) {
  CommonParams c = common_params(spec);
  HeapConfig hc;
  set_common_config(hc, c, opt);
  hc.region = c.region;
  return hc;
}

/// new A(args...), checking that its memory source could reserve address space
/// and that its metadata tables found room in the arena (ok()).
template <class A, class... Args>
A* make_allocator(std::string* err, Args&&... args) {
  A* a = new (std::nothrow) A(std::forward<Args>(args)...);
  if (a == nullptr || !a->ok()) {
    if (err != nullptr) *err = "cannot reserve address space (or map the metadata) for the instance";
    delete a;
    return nullptr;
  }
  return a;
}

}  // namespace evo::block
