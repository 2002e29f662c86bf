// core/simple/reuse_more.hpp — the remaining classic designs, each its own family:
//
//   reap chunk=SIZE   bump allocation with a live counter: blocks are carved one
//                     after another (16-byte header {usable, magic} before each);
//                     free only decrements the counter; when it reaches zero the
//                     bump pointer goes back to the start and all memory beyond the
//                     first chunk is returned. chunk 4K..64M, default 64K; source
//                     region (default) or mmap chunks.
//   fixed sizes=LIST fallback=freelist|btag|dlbins chunk=SIZE
//                     a LIFO free list per block size (sizes rounded up to 16,
//                     16..64K, default 16,64,512,4K); blocks are carved from the
//                     fallback heap (a textbook design, core/simple/textbook.hpp)
//                     and never given back to it; requests above the largest size,
//                     or aligned above 16, go to the fallback. 3 rows (fallback).
//   slab slab=SIZE    fixed-size objects in slab-aligned slabs (power of two,
//                     4K..1M, default 4K = page-sized), one partial-slab list per
//                     size class (multiples of 16 up to 128, then 4 per doubling,
//                     up to slab/8); a 64-byte slab header at the slab start; up
//                     to 16 empty slabs are cached for any class, further ones are
//                     unmapped; larger or over-aligned requests are mapped one each.
//                     source mmap only.
//   vm                one mapping per object: allocate maps its own pages (a 16-byte
//                     header {mapped bytes, offset} before the block), free unmaps.
//                     source mmap only.
// Classes (for the exporter): evo::simple::Reap, Vm (core/simple/reap_vm_alloc.hpp),
// Fixed<Index> (core/simple/fixed_alloc.hpp), Slab (core/simple/slab_alloc.hpp).
#pragma once

#include <vector>

#include "core/registry.hpp"

namespace evo {

const FamilySchema& reap_schema();
void reap_add_rows(std::vector<RegistryRow>& out);
const FamilySchema& fixed_schema();
void fixed_add_rows(std::vector<RegistryRow>& out);
const FamilySchema& slab_schema();
void slab_add_rows(std::vector<RegistryRow>& out);
const FamilySchema& vm_schema();
void vm_add_rows(std::vector<RegistryRow>& out);

}  // namespace evo
