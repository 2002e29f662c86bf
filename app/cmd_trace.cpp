// app/cmd_trace.cpp — `evoalloc trace info TRACE [--json]`.
#include <iostream>

#include "app/cli.hpp"
#include "evaluate/trace_stats.hpp"

namespace evo::cli {

int cmd_trace(const std::vector<std::string>& args) {
  const std::string usage = "evoalloc trace info TRACE [--json] [--allow-truncated]";
  if (args.empty()) throw UsageError("missing subcommand (expected: info)");
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: " << usage << "\n\nSubcommands: info (summarise a trace).\n";
    return kExitOk;
  }
  if (args[0] != "info") throw UsageError("unknown subcommand '" + args[0] + "' (expected: info)");
  po::options_description desc("options");
  std::string path;
  desc.add_options()("json", "print one JSON object")("allow-truncated",
                                                       "summarise a cut-short trace up to the cut")(
      "trace", po::value(&path)->required(), "trace file");
  po::positional_options_description pos;
  pos.add("trace", 1);
  po::variables_map vm;
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (!parse(rest, desc, pos, vm, usage,
             "Summarises a trace in one streaming pass: ops per kind, objects, peak live bytes, sizes,\n"
             "lifetimes, threads, top call sites, unmatched frees (definitions: evaluate/trace_stats.hpp)."))
    return kExitOk;
  ReadOptions ro;
  ro.allow_truncated = vm.count("allow-truncated") != 0;
  TraceStats st = trace_stats(path, ro);
  if (vm.count("json")) print_stats_json(std::cout, st);
  else print_stats_text(std::cout, st);
  if (st.truncated) std::cerr << "evoalloc trace: warning: " << path << " is truncated\n";
  return kExitOk;
}

}  // namespace evo::cli
