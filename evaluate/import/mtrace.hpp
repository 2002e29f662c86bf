// evaluate/import/mtrace.hpp — import a glibc mtrace log into an evoalloc trace.
//
// Input: the text log glibc writes with MALLOC_TRACE (LD_PRELOAD=libc_malloc_debug.so.0
// and a call to mtrace()), plain or zstd-compressed (detected by the zstd magic,
// not by the file name), decompressed as a stream. One event per line:
//
//   = Start | = End | = <anything>          markers, ignored
//   [@ CALLER ]+ ADDR SIZE                  allocation (malloc, calloc, memalign,
//                                           realloc(NULL,n), ...): kind lost -> Malloc
//   [@ CALLER ]+ (nil) SIZE                 failed allocation       -> counted, no op
//   [@ CALLER ]- ADDR                       free (also realloc(p,0)) -> Free
//   [@ CALLER ]- (nil)                      free(NULL)              -> counted, no op
//   [@ CALLER ]< OLD   then   [@ CALLER ]> NEW SIZE
//                                           realloc                 -> Realloc (same object)
//   [@ CALLER ]! OLD SIZE                   failed realloc          -> counted, no op
// CALLER is `FILE:[ADDR]`, `FILE:(SYMBOL+OFF)[ADDR]` or `[ADDR]`; each distinct
// caller becomes one call site (module = FILE, offset = ADDR, symbol = SYMBOL+OFF).
// Numbers are hexadecimal, with or without 0x. Blank lines and trailing '\r' are
// accepted. mtrace has no threads: every op is on thread 0.
//
// Unknown pointers: a free of an address not live in the log is dropped and
// counted (unmatched_frees); a realloc of one becomes a Malloc of the new block
// (and is counted in unmatched_frees too). An allocation at an address that is
// still live (a missed free) forgets the old object (address_reuse).
// Note: mtrace writes realloc(NULL,n) as '+' and realloc(p,0) as '-', so those
// are imported (and counted) as plain mallocs and frees; realloc_null and
// realloc_zero stay 0 for mtrace input.
//
// Errors: std::runtime_error "<path>:<line>: <what was expected>" for a malformed
// line; "<path>: ..." for I/O or zstd errors.
#pragma once

#include <cstdint>
#include <string>

#include "evaluate/trace.hpp"

namespace evo {

struct ImportStats {
  std::uint64_t lines = 0;           ///< lines read
  std::uint64_t allocs = 0;          ///< '+' lines that became Malloc ops
  std::uint64_t frees = 0;           ///< '-' lines that became Free ops
  std::uint64_t reallocs = 0;        ///< '<' '>' pairs that became Realloc ops
  std::uint64_t unmatched_frees = 0; ///< frees / reallocs of unknown addresses
  std::uint64_t free_null = 0;       ///< "- (nil)" lines
  std::uint64_t failed_allocs = 0;   ///< "+ (nil)" and '!' lines
  std::uint64_t address_reuse = 0;   ///< allocations at a still-live address
  std::uint64_t ops = 0;             ///< ops written
  std::uint64_t sites = 0;           ///< distinct call sites (without the unknown site)
  std::uint32_t objects = 0;         ///< object slots used
};

/// Imports `in` (mtrace log, plain or .zst) into the trace file `out`.
ImportStats import_mtrace(const std::string& in, const std::string& out, int level = 19);
/// Imports `in` into memory (tests, small logs).
Trace import_mtrace(const std::string& in, ImportStats* stats = nullptr);

}  // namespace evo
