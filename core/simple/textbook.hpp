// core/simple/textbook.hpp — the simple-reuse designs every course teaches, each its
// own family with one row (engine: TagHeap, core/block/tag_heap.hpp).
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
#pragma once

#include <vector>

#include "core/registry.hpp"

namespace evo {

const FamilySchema& freelist_schema();
void freelist_add_rows(std::vector<RegistryRow>& out);
const FamilySchema& btag_schema();
void btag_add_rows(std::vector<RegistryRow>& out);
const FamilySchema& dlbins_schema();
void dlbins_add_rows(std::vector<RegistryRow>& out);

}  // namespace evo
