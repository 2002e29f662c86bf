// core/simple/family.hpp — the families of core/simple, each one row or a few: the
// no-reuse designs, the textbook free lists, and the remaining classic designs.
//
// The no-reuse family: `minimal` and `pad`.
//
//   minimal                 grows the break by exactly each request (aligned); free
//                           does nothing. The textbook sbrk-per-malloc allocator.
//   pad chunk=SIZE          grows the break in chunks of at least `chunk` bytes
//                           (default 64K, 4K..64M) and bumps within; free does nothing.
//
// Both live on the instance's region (source=region is the only source accepted).
// Block layout: a 16-byte header {u32 magic, u32 0, u64 usable} right before each
// block; alignment padding between blocks holds a 16-byte skip record {u32 skip
// magic, u32 0, u64 length} so validate(Full) can walk the region from its base.
// Usable sizes are the request rounded up to 16 (size 0 counts as 1).
// reallocate grows or shrinks the most recent block in place, else copies.
//
// The simple-reuse designs every course teaches, each its own family with one row
// (engine: TagHeap, core/block/tag_heap.hpp).
//
//   freelist chunk=SIZE          one singly-linked free list in address order; first
//                                fit; split; coalescing with the list neighbours on
//                                free (O(n) free, as taught); header only, no footer
//   btag chunk=SIZE              one doubly-linked unordered (LIFO) free list with
//                                boundary tags (header + footer with a status bit):
//                                O(1) free and O(1) coalescing with both neighbours
//   dlbins chunk=SIZE bins=N     N bins of doubly-linked lists: bins 0..N-2 hold exactly
//                                one chunk size each (32, 48, ...), bin N-1 all larger
//                                (first fit); split and coalesce
//   chunk: growth of the heap (top chunk), 4K..64M, default 64K; bins: 2..1024,
//   default 64. Source: region (default, the textbook break) or mmap segments.
// Classes (for the exporter): evo::simple::FreelistAlloc, BtagAlloc, DlbinsAlloc in
// core/simple/textbook_alloc.hpp.
//
// The remaining classic designs, each its own family:
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
//                     fallback heap (a textbook design, above) and never given back
//                     to it; requests above the largest size, or aligned above 16,
//                     go to the fallback. 3 rows (fallback).
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

const FamilySchema& minimal_schema();
void minimal_add_rows(std::vector<RegistryRow>& out);
const FamilySchema& pad_schema();
void pad_add_rows(std::vector<RegistryRow>& out);

const FamilySchema& freelist_schema();
void freelist_add_rows(std::vector<RegistryRow>& out);
const FamilySchema& btag_schema();
void btag_add_rows(std::vector<RegistryRow>& out);
const FamilySchema& dlbins_schema();
void dlbins_add_rows(std::vector<RegistryRow>& out);

const FamilySchema& reap_schema();
void reap_add_rows(std::vector<RegistryRow>& out);
const FamilySchema& fixed_schema();
void fixed_add_rows(std::vector<RegistryRow>& out);
const FamilySchema& slab_schema();
void slab_add_rows(std::vector<RegistryRow>& out);
const FamilySchema& vm_schema();
void vm_add_rows(std::vector<RegistryRow>& out);

}  // namespace evo
