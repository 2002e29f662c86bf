// app/cmd_merge.cpp — `evoalloc merge RUN_DIRS... -o OUT`: one front from many runs
// (evolve/merge.hpp). Exit 0 when every run was ok, 1 when any failed (the outputs
// are written anyway, failed runs listed with their reason), 2 on usage errors.
#include <iostream>

#include "app/cli.hpp"
#include "evolve/merge.hpp"

namespace evo::cli {

int cmd_merge(const std::vector<std::string>& args) {
  po::options_description desc("options");
  desc.add_options()
      ("runs", po::value<std::vector<std::string>>()->composing(), "run folders (positional)")
      ("out,o", po::value<std::string>(), "output folder (required)")
      ("quiet,q", "no summary on stderr");
  po::variables_map vm;
  if (!parse(args, desc, "runs", -1, vm, "evoalloc merge RUN_DIR... -o OUT",
             "Merges the fronts of several runs (any evolve or island run folders, e.g. the tasks of a sweep)\n"
             "into one non-dominated front, with runs.csv, spread.csv, runs.png and report.md comparing the\n"
             "runs by hypervolume against one common reference. Failed or missing runs are listed with\n"
             "their reason and make the exit code 1. File formats: evolve/merge.hpp."))
    return kExitOk;
  if (!vm.count("runs")) throw UsageError("no run folders given");
  if (!vm.count("out")) throw UsageError("-o OUT is required");
  const auto dirs = vm["runs"].as<std::vector<std::string>>();
  const std::string out = vm["out"].as<std::string>();
  MergeResult m = merge_runs(dirs);
  std::string warning;
  if (!write_merge(out, m, &warning)) std::cerr << "warning: " << warning << '\n';
  if (!vm.count("quiet")) {
    for (const MergedRun& r : m.runs)
      if (!r.ok) std::cerr << "evoalloc merge: " << r.dir << ": " << r.status << '\n';
    std::cerr << "merged " << (m.runs.size() - m.failed()) << " of " << m.runs.size() << " runs: front of "
              << m.front.size() << " designs -> " << out << '\n';
  }
  std::cout << out << '\n';
  if (m.failed() > 0) {
    std::cerr << "evoalloc merge: " << m.failed() << " of " << m.runs.size() << " runs failed (see " << out
              << "/runs.csv)\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace evo::cli
