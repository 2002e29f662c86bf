// app/bench_cli.hpp — what the commands that run a real program under several
// allocators share (`evoalloc bench`, app/cmd_bench.cpp; `evoalloc fidelity`,
// app/cmd_fidelity.cpp; both through run_bench, evaluate/program_bench.hpp): the
// options of the program's runs and the bench run with its progress line.
#pragma once

#include <string>
#include <vector>

#include "app/cli.hpp"
#include "evaluate/program_bench.hpp"

namespace evo::cli {

/// Values of the options add_program_run_options adds (--env and --no-check-output
/// are read from the variables map).
struct ProgramRunArgs {
  std::string stdin_path = "/dev/null";
  double timeout = 0;
  std::string score;  ///< --score REGEX (BenchOptions::score_regex)
};

/// Adds --env/-e NAME=VALUE (repeatable), --stdin FILE, --timeout SECONDS,
/// --no-check-output, --score REGEX and --quiet/-q; `what` names what the output is
/// compared with glibc's for ("allocator", "design").
void add_program_run_options(po::options_description& desc, ProgramRunArgs& a, const std::string& what);

/// BenchOptions for `runs` counted rounds after `warmup` uncounted ones, the runs'
/// files in `work_dir`, and the program-run options (a UsageError for runs < 1, a
/// negative timeout, a malformed --env or a --score that is not a regular expression).
BenchOptions bench_options(std::uint64_t runs, std::uint64_t warmup, const ProgramRunArgs& a,
                           const po::variables_map& vm, const std::string& work_dir);

/// run_bench(program, who, bo) with, unless `quiet`, a progress line on stderr
/// ("\r<prefix> round R/N[ (warm-up)]: LABEL") ended by a newline, also when the
/// bench fails (then a RuntimeError).
BenchReport run_bench_showing(const std::vector<std::string>& program, const std::vector<Contender>& who,
                              BenchOptions bo, bool quiet, const std::string& prefix);

}  // namespace evo::cli
