// core/buddy/family.hpp — the buddy family: binary buddy blocks in aligned
// superblocks, bitmaps off the data pages (core/buddy/buddy_heap.hpp). 45 rows.
//
//   buddy sb=SIZE min=SIZE bins=BIN pagemap=PM cache=CACHE large=SIZE
//     sb       superblock bytes, a power of two, 4K..4M (default 256K)
//     min      smallest block, a power of two, 16..4K (default 16)
//     bins     unordered | mtf | fullness-array | fullness-list | fullness-mtf: which
//              superblock of an order bin serves (core/superblock/bins.hpp)  [discrete]
//     pagemap  flat | radix2 | radix3 (core/superblock/pagemap.hpp)            [discrete]
//     cache    none | eager | lazy: empty superblocks (core/superblock/caches.hpp) [discrete]
//     large    blocks above it are mapped directly, a power of two, 64..4M, at most
//              sb and at least min (default 64K)
//   source: mmap only.
#pragma once

#include <vector>

#include "core/registry.hpp"

namespace evo {

const FamilySchema& buddy_schema();
void buddy_add_rows(std::vector<RegistryRow>& out);

namespace buddy {
// One translation unit per bin policy (compile time): rows_<bin>.cpp.
void rows_unordered(std::vector<RegistryRow>& out);
void rows_mtf(std::vector<RegistryRow>& out);
void rows_fullness_array(std::vector<RegistryRow>& out);
void rows_fullness_list(std::vector<RegistryRow>& out);
void rows_fullness_mtf(std::vector<RegistryRow>& out);
}  // namespace buddy

}  // namespace evo
