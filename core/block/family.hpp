// core/block/family.hpp — the block-based family (segregated fits), 24 rows.
//
//   block classes=SCHEME fit=first|best coalesce=none|immediate|deferred
//         split=always|selective split_min=SIZE search=own|larger top=SIZE large=SIZE
//
//   classes    size-class scheme of the bins (core/block/classes.hpp), default jemalloc;
//              classes reach min(large, 256K), one more bin holds every larger chunk
//   fit        first: first fit in a LIFO list per bin; best: best fit on a red-black
//              tree per bin keyed (size, address), O(log n)            [discrete]
//   coalesce   none | immediate (boundary tags, O(1)) | deferred (one batch pass when
//              a search fails)                                         [discrete]
//   split      always (whenever the remainder can hold a chunk) | selective (only
//              when the remainder >= split_min)                        [discrete]
//   split_min  bytes, 32..64K, default 64
//   search     own: the request's bin only | larger: then every larger bin in order
//                                                                      [discrete]
//   top        growth of the top chunk (wilderness), 4K..64M, default 128K
//   large      requests >= large are mapped directly, 4K..1G, default 256K
// Rows: 2 fits x 3 coalescing x 2 splits x 2 searches = 24. Engine: TagHeap
// (core/block/tag_heap.hpp) over SegBins (core/block/indexes.hpp).
#pragma once

#include <vector>

#include "core/registry.hpp"

namespace evo {

const FamilySchema& block_schema();
void block_add_rows(std::vector<RegistryRow>& out);

namespace block {
// One translation unit per fit (compile time): rows_first.cpp, rows_best.cpp.
void add_rows_first(std::vector<RegistryRow>& out);
void add_rows_best(std::vector<RegistryRow>& out);
}  // namespace block

}  // namespace evo
