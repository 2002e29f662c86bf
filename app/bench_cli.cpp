#include "app/bench_cli.hpp"

#include <iostream>
#include <regex>

namespace evo::cli {

void add_program_run_options(po::options_description& desc, ProgramRunArgs& a, const std::string& what) {
  desc.add_options()
      ("env,e", po::value<std::vector<std::string>>()->composing(),
       "NAME=VALUE set for every program run (e.g. PYTHONMALLOC=malloc); repeatable")
      ("stdin", po::value(&a.stdin_path), "file given to the program as stdin (default /dev/null)")
      ("timeout", po::value(&a.timeout), "seconds a program run may take before it is killed (default: no limit)")
      ("no-check-output",
       ("do not compare the program's stdout under each " + what + " with glibc's (programs whose output varies)")
           .c_str())
      ("score", po::value(&a.score),
       "REGEX: the program prints its own figure of merit, higher is better (a throughput): its first "
       "capture group (else the whole match) in each run's stdout is the score, reported with its ratio "
       "to glibc's (e.g. 'Throughput = ([0-9]+)' for larson); use with --no-check-output")
      ("quiet,q", "no progress on stderr");
}

BenchOptions bench_options(std::uint64_t runs, std::uint64_t warmup, const ProgramRunArgs& a,
                           const po::variables_map& vm, const std::string& work_dir) {
  if (runs < 1) throw UsageError("--runs must be at least 1");
  if (a.timeout < 0) throw UsageError("--timeout must be >= 0");
  BenchOptions bo;
  bo.runs = static_cast<int>(runs);
  bo.warmup = static_cast<int>(warmup);
  bo.timeout_s = a.timeout;
  if (vm.count("env")) bo.env = parse_pairs(vm["env"].as<std::vector<std::string>>(), "env");
  bo.stdin_path = a.stdin_path;
  bo.work_dir = work_dir;
  bo.check_output = !vm.count("no-check-output");
  if (vm.count("score")) {
    if (a.score.empty()) throw UsageError("--score: give a regular expression, e.g. 'Throughput = ([0-9]+)'");
    try {
      (void)std::regex(a.score, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw UsageError("--score '" + a.score + "': not a regular expression (" + e.what() + ")");
    }
    bo.score_regex = a.score;
  }
  return bo;
}

BenchReport run_bench_showing(const std::vector<std::string>& program, const std::vector<Contender>& who,
                              BenchOptions bo, bool quiet, const std::string& prefix) {
  if (!quiet)
    bo.progress = [&](int round, int rounds, const std::string& label) {
      std::cerr << '\r' << prefix << " round " << (round + 1) << "/" << rounds
                << (round < bo.warmup ? " (warm-up)" : "") << ": " << label << "          " << std::flush;
    };
  BenchReport rep;
  try {
    rep = run_bench(program, who, bo);
  } catch (const std::exception& e) {
    if (!quiet) std::cerr << '\n';
    throw RuntimeError(e.what());
  }
  if (!quiet) std::cerr << '\n';
  return rep;
}

}  // namespace evo::cli
