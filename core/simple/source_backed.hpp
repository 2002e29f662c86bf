// core/simple/source_backed.hpp — SourceBacked: what the allocator classes of the
// reap, vm and slab rows (core/simple/reap_vm_alloc.hpp, slab_alloc.hpp) keep
// alike: the instance's MemorySource and the counters behind stats()
// (SourceCounted, core/adapter.hpp), set up from the instance options and the
// spec's retain key, the instance's probe and the spec's min_align.
#pragma once

#include <cstddef>

#include "core/adapter.hpp"
#include "core/probe.hpp"

namespace evo::simple {

class SourceBacked : public SourceCounted {
 protected:
  SourceBacked(const AllocatorSpec& spec, const InstanceOptions& opt) : SourceBacked(opt, common_params(spec)) {}

  const Probe* probe_;
  std::size_t min_align_;

 private:
  SourceBacked(const InstanceOptions& opt, const CommonParams& c)
      : SourceCounted(opt.reserve, opt.memory_limit, opt.backing, c.retain, opt.group), probe_(opt.probe), min_align_(c.min_align) {}
};

}  // namespace evo::simple
