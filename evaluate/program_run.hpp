// evaluate/program_run.hpp — run one real program under an allocator and measure it.
//
// run_program(spec) starts spec.argv (PATH is searched) with LD_PRELOAD set to
// spec.preload (empty: the process's own malloc, i.e. glibc), extra environment
// variables, stdin from spec.stdin_path (default /dev/null), stdout and stderr to
// the given files (default /dev/null), waits for it and returns:
//   wall_s       wall time from just before fork to the child's exit (steady_clock)
//   user_s/sys_s the child's CPU time (wait4 rusage)
//   max_rss_kib  the program's peak resident set, KiB: VmHWM of its own address space,
//                read at its exit (the child is ptraced for that event and its execs;
//                a wrapper that execs the real program reports the program's); rusage
//                ru_maxrss when tracing is not allowed (it also counts the child's
//                address space before exec, a copy of the caller's)
//   exit_code    its exit status, or -1 when killed by a signal (signal = its number)
//   timed_out    killed with SIGKILL after spec.timeout_s (0 = no limit)
//   error        empty when it ran; else why it could not start (exec failure:
//                "cannot run PROGRAM: No such file or directory", …)
// The child is exec'd directly (no shell). A program whose exec fails exits with
// code 127 and `error` names the errno. Only the child's own process is measured
// (children it forks and waits for are included in rusage, as /usr/bin/time does).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace evo {

struct ProgramSpec {
  std::vector<std::string> argv;                          ///< program and arguments
  std::string preload;                                    ///< LD_PRELOAD value ("" = none)
  std::vector<std::pair<std::string, std::string>> env;   ///< extra variables (override)
  std::string stdin_path = "/dev/null";
  std::string stdout_path = "/dev/null";
  std::string stderr_path = "/dev/null";
  double timeout_s = 0;                                   ///< 0 = wait forever
};

struct ProgramResult {
  std::string error;  ///< non-empty: the program could not be started
  int exit_code = -1;
  int signal = 0;
  bool timed_out = false;
  double wall_s = 0;
  double user_s = 0;
  double sys_s = 0;
  std::uint64_t max_rss_kib = 0;
  bool ok() const { return error.empty() && exit_code == 0 && !timed_out; }
  /// One line: "exit 3", "killed by signal 11", "timed out after 10 s", or the error.
  std::string status() const;
};

ProgramResult run_program(const ProgramSpec& spec);

/// FNV-1a 64-bit hash of a file's bytes (0 and *ok = false when it cannot be read).
std::uint64_t hash_file(const std::string& path, bool* ok = nullptr);

}  // namespace evo
