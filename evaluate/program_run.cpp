// evaluate/program_run.cpp — fork/exec/wait4 with a pidfd timeout.
#include "evaluate/program_run.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

extern char** environ;

namespace evo {

std::string ProgramResult::status() const {
  if (!error.empty()) return error;
  if (timed_out) return "timed out";
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit " + std::to_string(exit_code);
}

namespace {

int open_or(const std::string& path, int flags) { return ::open(path.c_str(), flags | O_CLOEXEC, 0644); }

/// VmHWM of a live process, KiB (0 when unreadable).
std::uint64_t vm_hwm_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6));
  return 0;
}

}  // namespace

ProgramResult run_program(const ProgramSpec& spec) {
  ProgramResult r;
  if (spec.argv.empty()) {
    r.error = "no program to run";
    return r;
  }
  // Everything the child needs is built before fork (no allocation after it).
  std::vector<std::string> env_strings;
  auto overridden = [&](const char* e) {
    auto starts = [&](const std::string& k) { return std::strncmp(e, k.c_str(), k.size()) == 0 && e[k.size()] == '='; };
    if (starts("LD_PRELOAD")) return true;
    for (const auto& [k, v] : spec.env)
      if (starts(k)) return true;
    return false;
  };
  for (char** e = environ; *e != nullptr; ++e)
    if (!overridden(*e)) env_strings.emplace_back(*e);
  if (!spec.preload.empty()) env_strings.push_back("LD_PRELOAD=" + spec.preload);
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const int in = open_or(spec.stdin_path, O_RDONLY);
  const int out = open_or(spec.stdout_path, O_WRONLY | O_CREAT | O_TRUNC);
  const int err = open_or(spec.stderr_path, O_WRONLY | O_CREAT | O_TRUNC);
  auto close_all = [&] {
    for (int fd : {in, out, err})
      if (fd >= 0) ::close(fd);
  };
  if (in < 0 || out < 0 || err < 0) {
    r.error = std::string("cannot open ") + (in < 0 ? spec.stdin_path : out < 0 ? spec.stdout_path : spec.stderr_path) +
              ": " + std::strerror(errno);
    close_all();
    return r;
  }
  // The child reports an exec failure's errno through a close-on-exec pipe.
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    r.error = std::string("pipe: ") + std::strerror(errno);
    close_all();
    return r;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    r.error = std::string("fork: ") + std::strerror(errno);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    close_all();
    return r;
  }
  if (pid == 0) {
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    // Traced, so the parent can read the program's peak RSS at its exit (VmHWM of the
    // program's own address space). ru_maxrss would also count the address space this
    // child had before exec: a copy of the parent's, which may be large.
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::execvpe(argv[0], argv.data(), envp.data());
    const int e = errno;
    ssize_t w = ::write(pipefd[1], &e, sizeof e);
    (void)w;
    ::_exit(127);
  }
  ::close(pipefd[1]);
  close_all();
  int exec_errno = 0;
  const ssize_t got = ::read(pipefd[0], &exec_errno, sizeof exec_errno);
  ::close(pipefd[0]);
  bool traced_once = false;

  // The timeout: a thread that kills the child through a pidfd (which keeps naming
  // this process even once it is reaped, so a recycled pid is never hit).
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread killer;
  const int pfd = spec.timeout_s > 0 ? static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)) : -1;
  if (pfd >= 0) {
    killer = std::thread([&] {
      std::unique_lock<std::mutex> lock(mu);
      if (!cv.wait_for(lock, std::chrono::duration<double>(spec.timeout_s), [&] { return done; })) {
        if (::syscall(SYS_pidfd_send_signal, pfd, SIGKILL, nullptr, 0) == 0) r.timed_out = true;
      }
    });
  }
  auto stop_killer = [&] {
    if (!killer.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu);
      done = true;
    }
    cv.notify_all();
    killer.join();
  };
  int status = 0;
  rusage ru{};
  std::uint64_t hwm = 0;
  for (;;) {
    if (::wait4(pid, &status, 0, &ru) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (!WIFSTOPPED(status)) break;
    // A ptrace stop: the first exec (set the options), a later exec (an event: a
    // wrapper script such as pyenv's python3 shim exec'ing the real program), the
    // exit event (read VmHWM), or a signal for the program (deliver it). Without
    // PTRACE_O_TRACEEXEC a later exec would stop with a plain SIGTRAP, which looks
    // like a signal for the program and, delivered, would kill it.
    const int sig = WSTOPSIG(status);
    const int event = status >> 16;
    int deliver = 0;
    if (sig == SIGTRAP && event == PTRACE_EVENT_EXIT) {
      hwm = vm_hwm_kib(pid);
    } else if (sig == SIGTRAP && event == 0 && !traced_once) {
      const long options = PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
      ::ptrace(PTRACE_SETOPTIONS, pid, nullptr, reinterpret_cast<void*>(options));
    } else if (sig != SIGTRAP || event == 0) {
      deliver = sig;
    }
    traced_once = true;
    ::ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(deliver)));
  }
  stop_killer();
  if (pfd >= 0) ::close(pfd);
  const auto t1 = std::chrono::steady_clock::now();
  r.wall_s = std::chrono::duration<double>(t1 - t0).count();
  r.user_s = static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec * 1e-6;
  r.sys_s = static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec * 1e-6;
  r.max_rss_kib = hwm != 0 ? hwm : static_cast<std::uint64_t>(ru.ru_maxrss);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    r.error = "cannot run " + spec.argv[0] + ": " + std::strerror(exec_errno);
    return r;
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  if (r.timed_out) r.signal = 0;
  return r;
}

std::uint64_t hash_file(const std::string& path, bool* ok) {
  std::ifstream f(path, std::ios::binary);
  if (ok != nullptr) *ok = static_cast<bool>(f);
  if (!f) return 0;
  std::uint64_t h = 1469598103934665603ull;
  char buf[1 << 16];
  while (f) {
    f.read(buf, sizeof buf);
    for (std::streamsize i = 0; i < f.gcount(); ++i) h = (h ^ static_cast<unsigned char>(buf[i])) * 1099511628211ull;
  }
  return h;
}

}  // namespace evo
