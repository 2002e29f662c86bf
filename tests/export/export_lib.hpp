// tests/export/export_lib.hpp — builds (once, cached) the exported libraries the
// export tests use. Each design is exported to
// $EVOALLOC_BINARY_DIR/tests/export/libs/<name> through the library API
// (write_export + build_export); an unchanged export rebuilds nothing, and a file
// lock serialises test processes that build the same design in parallel.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/export/exporter.hpp"
#include "core/spec.hpp"
#include "evaluate/trace.hpp"

namespace export_test {

inline std::string source_dir() {
  const char* e = std::getenv("EVOALLOC_SOURCE_DIR");
  return e != nullptr && *e ? e : EVOALLOC_SOURCE_DIR;
}
inline std::string binary_dir() {
  const char* e = std::getenv("EVOALLOC_BINARY_DIR");
  return e != nullptr && *e ? e : EVOALLOC_BINARY_DIR;
}
inline std::string libs_dir() { return binary_dir() + "/tests/export/libs"; }

/// One design of each family (and more), named for the library.
struct Design {
  const char* name;
  const char* sentence;
};
inline constexpr Design kFamilyDesigns[] = {
    {"x_superblock", "superblock"},
    {"x_block", "block fit=best coalesce=immediate split=selective search=larger"},
    {"x_buddy", "buddy bins=fullness-list"},
    {"x_btag", "btag"},
};

/// Exports `sentence` as lib<name> (hist: the trace histogram for fitted classes);
/// returns the export folder, or "" with *err.
inline std::string build(const std::string& name, const std::string& sentence, std::string* err,
                         const std::vector<evo::SizeCount>& hist = {}) {
  namespace fs = std::filesystem;
  fs::create_directories(libs_dir());
  const std::string dir = libs_dir() + "/" + name;
  int fd = ::open((libs_dir() + "/" + name + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
  if (fd >= 0) ::flock(fd, LOCK_EX);
  evo::ExportRequest req;
  req.name = name;
  req.out_dir = dir;
  req.source_dir = source_dir();
  req.histogram = hist;
  bool ok = evo::parse_spec(sentence, req.spec, err) && evo::write_export(req, err) && evo::build_export(dir, 2, err);
  if (fd >= 0) ::close(fd);
  return ok ? dir : std::string();
}

/// Runs a shell command; returns its exit status (-1 if it did not exit).
inline int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace export_test
