// core/superblock/family.hpp — the superblock (segregated lists) family: schema + rows.
//
//   superblock classes=SCHEME sb=SIZE bins=BIN alg=ALG pagemap=PM cache=CACHE large=SIZE
//     classes  jemalloc | pow2 | linear:STEP | fitted:K (see core/sizeclass/size_classes.hpp)
//     sb       superblock size, a power of two, 4K..1M (default 64K)
//     bins     unordered | mtf | fullness-array | fullness-list | fullness-mtf (core/superblock/bins.hpp)
//     alg      bump | reap | bitmap | stack | bumpstack (core/superblock/algorithms.hpp)
//     pagemap  flat | radix2 | radix3 (core/superblock/pagemap.hpp)
//     cache    none | eager | lazy (core/superblock/caches.hpp)
//     large    requests above it are mapped directly (marked in the pagemap), unmapped
//              on free; 64..512K, a multiple of 64, and at most sb/2 (default 16K)
//   bins/alg/pagemap/cache are discrete (5 x 5 x 3 x 3 = 225 rows); the rest are state.
//   source: mmap only (superblocks and large chunks are mapped chunks).
#pragma once

#include <vector>

#include "core/registry.hpp"

namespace evo {

const FamilySchema& superblock_schema();
void superblock_add_rows(std::vector<RegistryRow>& out);

}  // namespace evo
