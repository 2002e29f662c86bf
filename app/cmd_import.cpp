// app/cmd_import.cpp — `evoalloc import --format mtrace|record_allocs|heaptrack IN -o OUT`.
#include <iostream>

#include "app/cli.hpp"
#include "evaluate/import/heaptrack.hpp"
#include "evaluate/import/mtrace.hpp"
#include "evaluate/import/record_allocs.hpp"

namespace evo::cli {

int cmd_import(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string format, in, out;
  int level = 19;
  desc.add_options()("format,f", po::value(&format)->default_value("mtrace"), "input format: mtrace (glibc MALLOC_TRACE log), record_allocs (Android malloc debug) or heaptrack (heaptrack -r raw data)")(
      "output,o", po::value(&out)->required(), "trace file to write")(
      "level", po::value(&level)->default_value(19), "zstd compression level (1..22)")(
      "input", po::value(&in)->required(), "log to import (plain or .zst)");
  po::variables_map vm;
  if (!parse(args, desc, "input", 1, vm, "evoalloc import [--format mtrace|record_allocs|heaptrack] IN -o OUT",
             "Converts a malloc log into an evoalloc trace. IN may be zstd-compressed.\n"
             "mtrace: produce one with LD_PRELOAD=libc_malloc_debug.so.0 MALLOC_TRACE=FILE and a call\n"
             "to mtrace() in the program. record_allocs: Android's malloc debug log (TID: ACTION ...).\n"
             "heaptrack: the raw data of `heaptrack -r -o OUT PROGRAM ARGS` (OUT.raw.zst; every\n"
             "allocation becomes a malloc, realloc a free + malloc, one thread; unknown line kinds are\n"
             "skipped and counted).\n"
             "Frees of unknown pointers, free(NULL) and failed\n"
             "allocations are dropped and counted; a malformed line stops the import with its number."))
    return kExitOk;
  if (format != "mtrace" && format != "record_allocs" && format != "heaptrack")
    throw UsageError("unknown --format '" + format + "' (expected: mtrace, record_allocs, heaptrack)");
  if (level < 1 || level > 22) throw UsageError("--level must be in 1..22");
  ImportStats st;
  HeaptrackStats ht;
  if (format == "mtrace") st = import_mtrace(in, out, level);
  else if (format == "record_allocs") st = import_record_allocs(in, out, level);
  else st = ht = import_heaptrack(in, out, level);
  std::cout << "imported " << in << " -> " << out << ": " << st.lines << " lines, " << st.ops << " ops ("
            << st.allocs << " allocations, " << st.frees << " frees, " << st.reallocs << " reallocs), " << st.objects
            << " object slots, " << st.sites << " call sites\n"
            << "  unmatched frees " << st.unmatched_frees << ", free(NULL) " << st.free_null << ", failed allocations "
            << st.failed_allocs << ", address reuse " << st.address_reuse << '\n';
  if (format == "heaptrack")
    std::cout << "  heaptrack: " << ht.trace_nodes << " backtrace nodes, " << ht.module_resets << " module list resets, "
              << ht.unresolved_sites << " call sites outside every module, " << ht.unknown_lines
              << " lines of unknown kinds skipped\n"
              << "  " << ht.sites_with_symbol << " call sites named; " << ht.modules_not_matched
              << " modules missing here or not the recorded build (their sites unnamed)\n";
  return kExitOk;
}

}  // namespace evo::cli
