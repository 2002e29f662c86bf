// app/cmd_trace.cpp — `evoalloc trace info TRACE [--json]`, `evoalloc trace sites TRACE [--json] [--top N]`.
#include <iostream>

#include "app/cli.hpp"
#include "evaluate/site_profile.hpp"
#include "evaluate/trace_stats.hpp"

namespace evo::cli {

namespace {

int trace_info(const std::vector<std::string>& args) {
  const std::string usage = "evoalloc trace info TRACE [--json] [--allow-truncated]";
  po::options_description desc("options");
  std::string path;
  desc.add_options()("json", "print one JSON object")("allow-truncated",
                                                       "summarise a cut-short trace up to the cut")(
      "trace", po::value(&path)->required(), "trace file");
  po::variables_map vm;
  if (!parse(args, desc, "trace", 1, vm, usage,
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

int trace_sites(const std::vector<std::string>& args) {
  const std::string usage = "evoalloc trace sites TRACE [--json] [--top N] [--allow-truncated]";
  po::options_description desc("options");
  std::string path;
  Count top{20};
  desc.add_options()("json", "print one JSON object")(
      "top", po::value(&top)->default_value(Count{20}, "20"), "show the N sites with the most allocations (0 = all)")(
      "allow-truncated", "profile a cut-short trace up to the cut")("trace", po::value(&path)->required(),
                                                                     "trace file");
  po::variables_map vm;
  if (!parse(args, desc, "trace", 1, vm, usage,
             "Profiles each call site of a trace: allocations, bytes, size median/p90, lifetime median/p90\n"
             "in ops and in bytes allocated meanwhile, share never freed; most allocations first\n"
             "(definitions: evaluate/site_profile.hpp)."))
    return kExitOk;
  ReadOptions ro;
  ro.allow_truncated = vm.count("allow-truncated") != 0;
  const Trace t = read_trace(path, ro);
  const std::vector<SiteProfile> p = site_profiles(t);
  if (vm.count("json")) print_site_profiles_json(std::cout, p, t.ops.size(), top.value);
  else print_site_profiles_text(std::cout, p, t.ops.size(), top.value);
  if (t.truncated) std::cerr << "evoalloc trace: warning: " << path << " is truncated\n";
  return kExitOk;
}

}  // namespace

int cmd_trace(const std::vector<std::string>& args) {
  if (args.empty()) throw UsageError("missing subcommand (expected: info, sites)");
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: evoalloc trace info TRACE [--json] [--allow-truncated]\n"
                 "       evoalloc trace sites TRACE [--json] [--top N] [--allow-truncated]\n\n"
                 "Subcommands: info (summarise a trace), sites (profile its call sites).\n"
                 "evoalloc trace SUBCOMMAND --help for details.\n\n"
                 "Documentation: "
              << doc_page("evoalloc trace") << " (in the source tree)\n";
    return kExitOk;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "info") return trace_info(rest);
  if (args[0] == "sites") return trace_sites(rest);
  throw UsageError("unknown subcommand '" + args[0] + "' (expected: info, sites)");
}

}  // namespace evo::cli
