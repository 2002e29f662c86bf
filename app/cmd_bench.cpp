// app/cmd_bench.cpp — `evoalloc bench [options] -- PROGRAM [ARGS...]`: a real program
// under glibc, jemalloc, tcmalloc, mimalloc and any exported libraries, side by side
// (evaluate/program_bench.hpp). Exit 0 ok; 1 when a run fails or an allocator's output
// differs from glibc's; 2 usage error.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "app/bench_cli.hpp"
#include "app/cli.hpp"
#include "evaluate/program_bench.hpp"

namespace evo::cli {

int cmd_bench(const std::vector<std::string>& args) {
  const auto [opts, cmd] = split_program(args);
  po::options_description desc("options");
  Count runs{5}, warmup{1};
  ProgramRunArgs run_args;
  std::string out;
  desc.add_options()
      ("runs,n", po::value(&runs), "counted rounds (each runs every allocator once), default 5")
      ("warmup", po::value(&warmup), "uncounted rounds first, default 1")
      ("lib,l", po::value<std::vector<std::string>>()->composing(),
       "LABEL=PATH: one more allocator library to preload (an `evoalloc export` libNAME.so); repeatable")
      ("no-references", "only glibc and the --lib libraries (not jemalloc, tcmalloc, mimalloc)")
      ("out,o", po::value(&out), "folder for bench.csv, bench.md, bench.png (default: bench-out)");
  add_program_run_options(desc, run_args, "allocator");
  po::variables_map vm;
  if (!parse(opts, desc, nullptr, 0, vm, "evoalloc bench [--runs K] [--lib LABEL=LIB.so]... [options] -- PROGRAM [ARGS...]",
             "Runs PROGRAM under glibc (the baseline), jemalloc, tcmalloc and mimalloc (those installed:\n"
             "Debian libjemalloc2, libtcmalloc-minimal4, libmimalloc2.0) and every --lib library, through\n"
             "LD_PRELOAD, in K interleaved rounds (each round runs every allocator once, the order rotated),\n"
             "after --warmup uncounted rounds. Prints a Markdown table: median wall time, its ratio to glibc's\n"
             "in the same round (median [min-max]), user and system CPU time, median max RSS and its ratio,\n"
             "and whether the program's stdout equals glibc's; then, for the --lib libraries, a table against\n"
             "the best reference of each round (wall time over the least, score over the highest, max RSS over\n"
             "the least of glibc and the reference allocators) and paired against each reference (the median\n"
             "over rounds of the ratio to it in the same round; the worst reference named: the judge, as the\n"
             "per-round least of several noisy runs is biased low), with a 95% confidence interval of that\n"
             "median in brackets (a bar inside it is not decided by K rounds). Writes OUT/bench.csv (every run), bench.md and\n"
             "bench.png (gnuplot). The program's output goes to OUT/runs/. A failed run (exit status, signal,\n"
             "--timeout) stops the bench with exit code 1, naming the allocator and the end of its stderr.\n"
             "With --score REGEX the program's own throughput figure, read from its output, is the score\n"
             "(higher is better): programs that run for a fixed time (larson, xmalloc-test).\n"
             "See docs/benchmarks.md."))
    return kExitOk;
  require_program(cmd);
  if (out.empty()) out = "bench-out";
  BenchOptions bo = bench_options(runs.value, warmup.value, run_args, vm, out + "/runs");

  std::vector<std::string> missing;
  std::vector<Contender> who = vm.count("no-references") ? std::vector<Contender>{{"glibc", ""}}
                                                          : reference_allocators(&missing);
  if (vm.count("lib")) {
    for (const auto& [label, path] : parse_pairs(vm["lib"].as<std::vector<std::string>>(), "lib")) {
      if (!std::filesystem::exists(path)) throw RuntimeError("--lib " + label + "=" + path + ": no such file");
      for (const Contender& c : who)
        if (c.label == label) throw UsageError("--lib " + label + ": that label is taken");
      who.push_back({label, std::filesystem::absolute(path).string()});
    }
  }
  for (const std::string& m : missing)
    std::cerr << "evoalloc bench: " << m << " is not installed (scripts/install-deps.sh installs it); skipped\n";

  const BenchReport rep = run_bench_showing(cmd, who, bo, vm.count("quiet") > 0, "evoalloc bench:");
  std::string err, warning;
  if (!write_bench_files(rep, out, &err, &warning)) throw RuntimeError(err);
  if (!warning.empty()) std::cerr << "evoalloc bench: warning: " << warning << '\n';
  std::cout << bench_markdown(rep) << "\n(files: " << out << "/bench.csv, bench.md, bench.png)\n";
  for (const BenchRow& r : rep.rows)
    if (!r.same_output) {
      if (&r == &rep.rows.front())
        std::cerr << "evoalloc bench: the program's output varies from run to run under glibc: use --no-check-output\n";
      else
        std::cerr << "evoalloc bench: the program's output under " << r.label
                  << " differs from its output under glibc (use --no-check-output if it varies run to run)\n";
      return kExitFailure;
    }
  return kExitOk;
}

}  // namespace evo::cli
