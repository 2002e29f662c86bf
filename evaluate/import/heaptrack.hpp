// evaluate/import/heaptrack.hpp — import a heaptrack raw data file into an evoalloc trace.
//
// Input: the raw data heaptrack writes with `heaptrack -r -o OUT PROGRAM ARGS`
// (OUT.raw.zst; plain text is accepted too, zstd detected by its magic). Checked on
// heaptrack 1.4.0 (Debian 12), file version 3. One record per line, a kind
// character, then fields separated by spaces; numbers are hexadecimal without 0x:
//
//   v VERSION FILEVERSION          heaptrack version (0x10400 = 1.4.0), file format
//   x LEN EXE                      main executable, LEN = length of the path
//   X CMDLINE                      command line (rest of the line)
//   I PAGESIZE PAGES               system page size and physical pages
//   m LEN PATH BASE [VADDR MEMSZ]...
//                                  a loaded module: path (LEN bytes, so it may hold
//                                  spaces), load base, then its loaded segments
//                                  [BASE+VADDR, BASE+VADDR+MEMSZ). PATH "x" is the
//                                  main executable (named by the `x` line).
//   m 1 -                          forget every module; heaptrack writes it and then
//                                  the whole list again whenever the set changes
//                                  (at start, after dlopen / dlclose)
//   t IP PARENT                    a node of the backtrace tree: nodes are numbered
//                                  1, 2, ... in order of appearance, PARENT is an
//                                  earlier node or 0 (the root); IP is the
//                                  innermost frame of the path: a return address
//                                  minus one (inside the call instruction)
//   + SIZE TRACE PTR               an allocation of SIZE bytes at PTR whose backtrace
//                                  ends at node TRACE (0: no backtrace)
//   - PTR                          a free
//   c MS                           milliseconds since start (a 10 ms tick)
//   R PAGES                        resident set size, in pages
//   A                              heaptrack was attached to a running process
//
// Mapping to ops:
//   '+'  -> Malloc. Heaptrack 1.4 intercepts malloc, calloc, realloc,
//           posix_memalign, aligned_alloc and valloc (also reallocarray, through
//           realloc) and writes every one of them the same way, so the kind and
//           the alignment are lost (as in mtrace): all are Malloc, align 0.
//           memalign and pvalloc are not intercepted at all: those blocks are
//           missing, and their later frees count as unmatched_frees.
//   '-'  -> Free of the live object at PTR; PTR 0 counts as free_null and an
//           unknown PTR as unmatched_frees (no op). Heaptrack itself does not
//           write free(NULL).
//   realloc(p, n) is written as "- p" then "+ n TRACE NEW" (also when the block
//           stays in place, NEW == p), so it is imported as Free + Malloc on a new
//           object; realloc(NULL, n) is a plain '+'. realloc(p, 0) (glibc frees p,
//           returns NULL) is not written at all: p stays live in the imported
//           trace. realloc_null and realloc_zero therefore stay 0.
//   An allocation at a still-live address forgets the old object (address_reuse).
// Call sites: the IP of each '+' line's TRACE node (in the caller of malloc),
// resolved with the modules in effect when that `t` line was read (a node defined
// before an "m 1 -" keeps its module): module = the module's path, offset =
// IP + 1 - BASE, i.e. the *return address* relative to the load base, as the
// recorder stores it (checked on real recordings: the same program gives the same
// sites both ways). For position-independent modules this is the ELF virtual
// address, which equals the file offset the recorder stores for the code of
// ordinarily linked modules; it is not checked against the file. An IP no module
// covers becomes module "" and the absolute address IP + 1 (shown "[0x...]").
// Each distinct (module, offset) is one site.
// Symbols: each site is named by the function containing its call instruction,
// from the module's own ELF file read at import time (evaluate/elf_symbols.hpp:
// .symtab, else .dynsym; the virtual address is mapped to a file offset through
// the file's PT_LOAD headers), but only when those headers list exactly the
// segments heaptrack recorded for the module (same VADDR and MEMSZ): a module
// that is missing, not ELF64, rebuilt since or from another machine keeps ""
// (counted in HeaptrackStats::modules_not_matched).
// Threads: the raw data has no thread ids; every op is on thread 0, the threads'
// ops in the order heaptrack serialised them (it writes under a lock: a 5-thread
// python3 recording imports with no unmatched frees and no address reuse).
// Attached runs (`A`, heaptrack -p): frees of blocks allocated before the attach
// count as unmatched_frees.
// Timestamps: `c` lines are read and ignored (the trace carries no times).
// Unknown kinds: a well-formed line (one character, then nothing or a space) of
// another kind is skipped and counted (HeaptrackStats::unknown_lines), so a newer
// heaptrack's extra records do not stop the import. `v`, `x`, `X`, `I`, `c`, `R`,
// `A` are checked for form and otherwise ignored; the executable and the command
// line go into the trace's meta ("program", "command").
//
// Errors: std::runtime_error "<path>:<line>: <what was expected>" for a malformed
// line of a known kind (also a TRACE or PARENT naming a node not yet defined, and
// an *interpreted* heaptrack file, whose '+' lines have one field: record with
// -r); "<path>: ..." for I/O or zstd errors (a cut .zst: "truncated zstd stream").
#pragma once

#include <cstdint>
#include <string>

#include "evaluate/import/mtrace.hpp"

namespace evo {

/// ImportStats plus what only heaptrack data has. `reallocs` and `failed_allocs`
/// stay 0 unless a '+' line has PTR 0 (counted as failed_allocs).
struct HeaptrackStats : ImportStats {
  std::uint64_t unknown_lines = 0;   ///< well-formed lines of kinds this importer does not know
  std::uint64_t module_resets = 0;   ///< "m 1 -" lines
  std::uint64_t trace_nodes = 0;     ///< `t` lines
  std::uint64_t unresolved_sites = 0;///< sites whose IP no module covered (module "")
  std::uint64_t sites_with_symbol = 0;   ///< sites whose function was named
  std::uint64_t modules_not_matched = 0; ///< modules holding sites whose file is missing or differs
};

/// Imports `in` (heaptrack raw data, plain or .zst) into the trace file `out`.
HeaptrackStats import_heaptrack(const std::string& in, const std::string& out, int level = 19);
/// Imports `in` into memory (tests, small files).
Trace import_heaptrack(const std::string& in, HeaptrackStats* stats = nullptr);

}  // namespace evo
