// app/cmd_record.cpp — `evoalloc record -o OUT [--children] [--keep-raw] -- PROGRAM [ARGS...]`.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <map>
#include <iostream>

#include "app/cli.hpp"
#include "evaluate/record.hpp"

namespace evo::cli {

namespace {

std::string self_exe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

void report(const std::string& out, const RawConvertStats& st) {
  std::cerr << "  " << out << ": " << st.ops << " ops, " << st.threads << " threads, " << st.objects
            << " object slots, " << st.sites << " call sites (" << st.sites_with_symbol << " named)"
            << (st.have_maps ? "" : " (unresolved: no module map, the process did not exit normally)") << '\n';
  std::cerr << "    free(NULL) " << st.free_null << ", realloc(NULL,n) " << st.realloc_null << ", realloc(p,0) "
            << st.realloc_zero << ", unmatched frees " << st.unmatched_frees << ", failed allocations "
            << st.failed_allocs << '\n';
  if (!st.ended)
    std::cerr << "    note: the process did not reach exit (abort, signal, exec or _exit from libc): "
                 "ops still buffered then are missing"
              << (st.truncated_tail ? "; a partial block at the end was dropped" : "") << '\n';
}

}  // namespace

int cmd_record(const std::vector<std::string>& args) {
  // Everything after "--" is the program; parse the options before it.
  const auto [opts, cmd] = split_program(args);
  po::options_description desc("options");
  std::string out;
  int level = 6;
  desc.add_options()("output,o", po::value(&out)->required(), "trace file to write")(
      "level", po::value(&level)->default_value(6), "zstd compression level of the trace (1..22)")(
      "children", "also convert the processes the program starts (OUT.<pid>.<n>)")(
      "keep-raw", "keep the recorder's raw files (OUT.raw.d/)");
  po::variables_map vm;
  if (!parse(opts, desc, nullptr, 0, vm, "evoalloc record -o OUT [--children] [--keep-raw] -- PROGRAM [ARGS...]",
             "Runs PROGRAM with the LD_PRELOAD recorder (libevoalloc_recorder.so) and writes its malloc\n"
             "trace to OUT. Processes it forks or execs are recorded to their own raw files; by default\n"
             "only the program's own process becomes OUT (--children converts the others too).\n"
             "Call sites are stored as module + offset and named by the function holding them when\n"
             "the module's ELF symbol table (.symtab, else .dynsym) has it (see `evoalloc trace info`).\n"
             "The program's stdin, stdout and stderr are its own; record's report (the program's exit\n"
             "status, op counts) goes to stderr after it. Exit code 0 once the trace is written, even\n"
             "if the program failed (its status is in the report); 1 if no trace could be written."))
    return kExitOk;
  require_program(cmd);
  if (level < 1 || level > 22) throw UsageError("--level must be in 1..22");
  const std::string lib = find_recorder(self_exe());
  if (lib.empty())
    throw RuntimeError("libevoalloc_recorder.so not found next to the evoalloc binary (set EVOALLOC_RECORDER)");

  const std::string dir = out + ".raw.d";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!std::filesystem::create_directories(dir, ec) || ec)
    throw RuntimeError(dir + ": cannot create directory: " + ec.message());
  const std::string abs_dir = std::filesystem::absolute(dir).string();
  const std::string abs_lib = std::filesystem::absolute(lib).string();

  std::cerr.flush();
  pid_t child = fork();
  if (child < 0) throw RuntimeError(std::string("fork failed: ") + std::strerror(errno));
  if (child == 0) {
    const char* old = std::getenv("LD_PRELOAD");
    std::string preload = abs_lib + (old != nullptr && *old != '\0' ? std::string(":") + old : std::string());
    setenv("LD_PRELOAD", preload.c_str(), 1);
    setenv("EVOALLOC_RECORD_DIR", abs_dir.c_str(), 1);
    std::vector<char*> argv;
    for (const std::string& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "evoalloc record: cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    std::filesystem::remove_all(dir, ec);
    throw RuntimeError("cannot run '" + cmd[0] + "'");
  }
  std::vector<RawFileInfo> files = list_raw_files(dir);
  const RawFileInfo* root = nullptr;
  for (const RawFileInfo& f : files)
    if (f.pid == static_cast<std::uint32_t>(child)) {
      root = &f;
      break;
    }
  if (root == nullptr) {
    std::filesystem::remove_all(dir, ec);
    throw RuntimeError("the recorder wrote nothing for '" + cmd[0] +
                       "' (a statically linked program, or one that clears LD_PRELOAD?)");
  }
  std::string program;
  for (const std::string& a : cmd) program += (program.empty() ? "" : " ") + a;
  std::cerr << "recorded " << program << " (";
  if (WIFEXITED(status)) std::cerr << "exit status " << WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) std::cerr << "killed by signal " << WTERMSIG(status);
  std::cerr << ")\n";
  report(out, convert_raw(root->path, out, program, level));
  std::size_t others = 0;
  std::map<std::uint32_t, int> seen;
  for (const RawFileInfo& f : files) {
    if (&f == root) continue;
    ++others;
    if (vm.count("children")) {
      std::string o = out + "." + std::to_string(f.pid) + "." + std::to_string(seen[f.pid]++);
      report(o, convert_raw(f.path, o, program + " [pid " + std::to_string(f.pid) + "]", level));
    }
  }
  if (others != 0 && !vm.count("children"))
    std::cerr << "  " << others << " other process image(s) recorded (forks/execs); --children converts them\n";
  if (!vm.count("keep-raw")) std::filesystem::remove_all(dir, ec);
  return kExitOk;
}

}  // namespace evo::cli
