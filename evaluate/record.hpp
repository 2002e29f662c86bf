// evaluate/record.hpp — turn the recorder's raw files into traces; run a program under it.
//
// The recorder (evaluate/recorder/, libevoalloc_recorder.so) writes one raw file per
// process (format: evaluate/recorder/raw_format.hpp). convert_raw() merges the
// threads' events by sequence number, gives objects dense ids (freed ids are
// reused), threads dense ids in order of their first request, resolves each
// caller address to module + offset with the process's /proc/self/maps snapshot
// (unresolved: module "" and the absolute address), names the function holding
// each call site from the module's ELF symbol tables where it can
// (evaluate/elf_symbols.hpp: .symtab, else .dynsym, demangled; "" when the module
// is stripped or missing; read after the run, so a module rebuilt meanwhile gives
// stale names), and writes a trace.
// Mapping of calls to ops and counters (names: evaluate/trace.hpp):
//   allocation returning NULL            failed_allocs, no op
//   free(NULL)                           free_null, no op
//   free of an unknown pointer           unmatched_frees, no op
//   realloc(NULL, n)                     realloc_null; Realloc on a new (empty) slot
//   realloc(p, 0) returning NULL         realloc_zero; Realloc size 0 (frees the slot)
//   realloc of an unknown pointer        unmatched_frees; Malloc of the new block
//   realloc failing (NULL, size > 0)     failed_allocs, no op (p stays live)
// Memory: the converter holds one process's events (48 bytes each) while sorting.
// Errors: std::runtime_error "<path>: <what>"; a file cut inside a block is not an
// error (the tail is dropped and RawConvertStats::truncated_tail is set).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace evo {

struct RawFileInfo {
  std::string path;
  std::uint32_t pid = 0, ppid = 0;
  std::uint64_t start_ns = 0;
};

struct RawConvertStats {
  std::uint64_t events = 0, ops = 0;
  std::uint32_t threads = 0, objects = 0, sites = 0;
  std::uint32_t sites_with_symbol = 0;  ///< sites whose function was named
  std::uint64_t unmatched_frees = 0, free_null = 0, realloc_null = 0, realloc_zero = 0, failed_allocs = 0,
                address_reuse = 0;
  bool ended = false;          ///< the process wrote its end block (normal exit)
  bool truncated_tail = false; ///< the file ends inside a block
  bool have_maps = false;      ///< call sites could be resolved to modules
};

/// Reads the header of a raw file (throws if it is not one).
RawFileInfo raw_file_info(const std::string& path);
/// Raw files (rec-*.raw) in `dir`, sorted by start time.
std::vector<RawFileInfo> list_raw_files(const std::string& dir);
/// Converts one raw file into the trace `out` (zstd `level`); `program` goes into
/// the trace's meta.
RawConvertStats convert_raw(const std::string& raw, const std::string& out, const std::string& program, int level = 6);

/// Where libevoalloc_recorder.so is: $EVOALLOC_RECORDER, else next to `exe`, else
/// in the build tree relative to it (../evaluate/recorder/). "" if not found.
std::string find_recorder(const std::string& exe);

}  // namespace evo
