// evaluate/import/record_allocs.hpp — import an Android malloc-debug `record_allocs` log.
//
// Input (plain or zstd, detected by magic): one call per line,
//   TID: malloc PTR SIZE
//   TID: calloc PTR NMEMB SIZE              -> Calloc of NMEMB*SIZE
//   TID: memalign PTR ALIGN SIZE            -> Memalign (also posix_memalign,
//   TID: posix_memalign|aligned_alloc PTR ALIGN SIZE        aligned_alloc)
//   TID: valloc|pvalloc PTR SIZE
//   TID: realloc NEW_PTR OLD_PTR SIZE       -> Realloc (OLD 0x0: on a new slot)
//   TID: free PTR
//   TID: thread_done 0x0                    ignored
// Numbers are decimal or 0x-hexadecimal; newer logs append two timestamps (start,
// end ns), which are accepted and ignored. Threads get dense ids in order of
// their first line. There are no call sites (every op is on site 0).
// Counted, like the mtrace importer (names: evaluate/trace.hpp): PTR 0x0 on an
// allocation (failed_allocs, no op), free(0x0) (free_null), frees/reallocs of
// unknown pointers (unmatched_frees), realloc(NULL, n) (realloc_null),
// realloc(p, 0) returning 0x0 (realloc_zero: Realloc of size 0), allocations at a
// live address (address_reuse).
// Errors: std::runtime_error "<path>:<line>: <what was expected>".
#pragma once

#include <string>

#include "evaluate/import/mtrace.hpp"

namespace evo {

/// Imports `in` into the trace file `out` (ImportStats as for mtrace; `reallocs`
/// counts realloc lines that became Realloc ops).
ImportStats import_record_allocs(const std::string& in, const std::string& out, int level = 19);
/// Imports `in` into memory.
Trace import_record_allocs(const std::string& in, ImportStats* stats = nullptr);

}  // namespace evo
