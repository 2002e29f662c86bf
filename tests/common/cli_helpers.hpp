// tests/common/cli_helpers.hpp — what the tests that run commands and write
// fixtures share (tests/evaluate, tests/integration, tests/scale): scratch
// folders, shell quoting, running a command and reading what it wrote, whole
// files in and out, zstd-compressed fixtures, the message of an expected error.
// Header only; doctest tests only.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace evo::test {

namespace fs = std::filesystem;

/// The folder TMP/evoalloc_test_TAG_PID of this test program (created, and emptied
/// on its first use in the process: a folder left by an earlier program with the
/// same PID, pids being reused, must not leak its files into this one's checks).
/// With `remove_at_exit`, it is removed when the program ends.
inline fs::path scratch_dir(const std::string& tag, bool remove_at_exit = false) {
  struct Dirs {
    std::vector<fs::path> fresh;     // emptied by this process
    std::vector<fs::path> removed;   // to remove at exit
    ~Dirs() {
      std::error_code ec;
      for (const fs::path& d : removed) fs::remove_all(d, ec);
    }
  };
  static Dirs dirs;
  fs::path dir = fs::temp_directory_path() / ("evoalloc_test_" + tag + "_" + std::to_string(::getpid()));
  if (std::find(dirs.fresh.begin(), dirs.fresh.end(), dir) == dirs.fresh.end()) {
    fs::remove_all(dir);
    dirs.fresh.push_back(dir);
  }
  if (remove_at_exit && std::find(dirs.removed.begin(), dirs.removed.end(), dir) == dirs.removed.end())
    dirs.removed.push_back(dir);
  fs::create_directories(dir);
  return dir;
}

/// A file `name` in scratch_dir(tag, remove_at_exit).
inline fs::path scratch_file(const std::string& tag, const std::string& name, bool remove_at_exit = false) {
  return scratch_dir(tag, remove_at_exit) / name;
}

/// An empty folder TMP/evoalloc_test_TAG_NAME_PID (emptied when it was there).
inline fs::path fresh_dir(const std::string& tag, const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("evoalloc_test_" + tag + "_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

/// `s` in single quotes for the shell (a quote inside written as '\'').
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Runs `cmd` through the shell; returns its exit status (128 + N when killed by signal N).
inline int shell(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/// The whole file `p` ("" when it cannot be read).
inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// The lines of file `p`, without their '\n'.
inline std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

/// Writes `bytes` as the whole file `p`.
inline void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

/// Runs `cmd` through the shell with stdout and stderr into the file `log`;
/// returns its exit status, and what it wrote in *out when out is not null.
inline int run_logged(const std::string& cmd, const fs::path& log, std::string* out = nullptr) {
  const int code = shell(cmd + " >" + quote(log.string()) + " 2>&1");
  if (out != nullptr) *out = slurp(log);
  return code;
}

/// A command's exit status and what it wrote on stdout and stderr.
struct CmdOutput {
  int code;
  std::string out, err;
};

/// Runs `cmd` through the shell with stdout and stderr into the files
/// `stdout_file` and `stderr_file`, and reads them back.
inline CmdOutput run_split(const std::string& cmd, const fs::path& stdout_file, const fs::path& stderr_file) {
  const int code = shell(cmd + " >" + quote(stdout_file.string()) + " 2>" + quote(stderr_file.string()));
  return {code, slurp(stdout_file), slurp(stderr_file)};
}

/// `text` as one zstd frame (level `level`): a compressed fixture.
inline std::string zstd_compress(const std::string& text, int level = 3) {
  std::string z(ZSTD_compressBound(text.size()), '\0');
  std::size_t n = ZSTD_compress(z.data(), z.size(), text.data(), text.size(), level);
  REQUIRE(!ZSTD_isError(n));
  z.resize(n);
  return z;
}

/// The message of the std::runtime_error `f()` throws ("" when it returns).
template <class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return {};
}

}  // namespace evo::test
