// core/simple/noreuse.hpp — the no-reuse family: `minimal` and `pad`.
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
#pragma once

#include <vector>

#include "core/registry.hpp"

namespace evo {

const FamilySchema& minimal_schema();
void minimal_add_rows(std::vector<RegistryRow>& out);
const FamilySchema& pad_schema();
void pad_add_rows(std::vector<RegistryRow>& out);

}  // namespace evo
