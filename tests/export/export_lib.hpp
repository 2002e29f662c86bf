// tests/export/export_lib.hpp — builds (once, cached) the exported libraries the
// export tests use. Each design is exported to libs_dir()/<name> through the library API
// (write_export). The designs of kTestDesigns (every design the fidelity, programs
// and pmr tests use) are built together: one CMake project, libs/all/, that
// add_subdirectory()s every export and compiles the core sources they all share once
// (evoalloc_export_common, see export/CMakeLists.txt.in), so one configure and one
// `ninja -j2` build them all (the first test to ask builds the set; a file lock makes
// the others wait, then find nothing to do). Other designs are built alone (build_export). An unchanged
// export rebuilds nothing.
//
// libs_dir() is $EVOALLOC_EXPORT_TEST_LIBS (set by tests/CMakeLists.txt from the
// cache variable of that name; the presets point both flavours at
// build/export-test-libs), else $EVOALLOC_BINARY_DIR/tests/export/libs. The exported
// libraries are compiled by their own Release project whatever the flavour (they
// replace malloc and are never sanitized), so the two flavours share one folder: the
// second finds every file unchanged (write_export rewrites only what differs) and
// builds nothing.
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
#include <vector>

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
inline std::string libs_dir() {
  const char* e = std::getenv("EVOALLOC_EXPORT_TEST_LIBS");
  return e != nullptr && *e ? e : binary_dir() + "/tests/export/libs";
}

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
    {"x_fast", "superblock front=tcache:64 retain=1M"},  // the cache front end + retention, typed
};
/// The same family designs exported with thread-local heaps (--threads tlh): a typed
/// design (superblock) and a row-routed one over the region source (btag).
inline constexpr Design kTlhDesigns[] = {
    {"t_superblock", "superblock"},
    {"t_btag", "btag"},
};
/// Designs exported with per-thread caches over one shared heap (--threads tcache):
/// a typed slab whose frees read the size without the lock (concurrent_usable_size),
/// its caches pointer stacks (:array), and a row-routed btag whose frees take it,
/// its caches lists with a small, adaptive bound (frequent batches).
inline constexpr Design kTcacheDesigns[] = {
    {"c_slab", "slab slab=64K front=tcache:64:array retain=256K"},
    {"c_btag", "btag front=tcache:64:grow"},  // the adaptive limit
};
/// More designs for the fidelity test: numeric parameters off their defaults, a
/// fitted class table (from traces/espresso.trace), hardening.
inline constexpr Design kFidelityDesigns[] = {
    {"f_sb_fitted", "superblock classes=fitted:16 sb=256K bins=fullness-mtf alg=reap pagemap=flat cache=lazy large=64K align=64"},
    {"f_sb_radix", "superblock classes=pow2 sb=16K bins=unordered alg=bitmap pagemap=radix3 cache=eager large=4K harden=checked"},
    {"f_block_first", "block classes=linear:32 fit=first coalesce=deferred split=always search=own top=64K large=64K source=region"},
    {"f_buddy_small", "buddy sb=64K min=32 bins=mtf pagemap=radix2 cache=none large=16K"},
    {"f_freelist", "freelist chunk=16K"},
    {"f_fixed", "fixed fallback=dlbins"},
    {"f_slab", "slab"},
    {"f_slab_front", "slab front=tcache:16 retain=256K"},  // the cache front end around a row
    {"f_sb_front", "superblock classes=fitted:32 alg=stack front=tcache:256 retain=4M harden=canary"},
};

inline std::string threads_of(const std::string& name) {
  return name.starts_with("t_") ? "tlh" : name.starts_with("c_") ? "tcache" : "lock";
}

/// The export request of `sentence` as lib<name> into libs/<name>.
inline bool request(const std::string& name, const std::string& sentence, const std::vector<evo::SizeCount>& hist,
                    const std::string& threads, evo::ExportRequest* req, std::string* err) {
  req->name = name;
  req->out_dir = libs_dir() + "/" + name;
  req->source_dir = source_dir();
  req->histogram = hist;
  req->threads = threads;
  return evo::parse_spec(sentence, req->spec, err);
}

/// Exports and builds every design of kFamilyDesigns, kTlhDesigns, kTcacheDesigns
/// and kFidelityDesigns as one project (libs/all/, evo::build_exports); false + *err on
/// failure.
inline bool build_test_set(std::string* err) {
  namespace fs = std::filesystem;
  static bool built = false;  // once per test process
  if (built) return true;
  fs::create_directories(libs_dir());
  int fd = ::open((libs_dir() + "/all.lock").c_str(), O_CREAT | O_RDWR, 0644);
  if (fd >= 0) ::flock(fd, LOCK_EX);
  std::vector<evo::SizeCount> hist;  // the espresso histogram, for fitted class schemes
  std::vector<evo::ExportRequest> reqs;
  bool ok = true;
  auto add = [&](const Design& d) {
    if (!ok) return;
    const bool fitted = std::string(d.sentence).find("fitted:") != std::string::npos;
    if (fitted && hist.empty()) hist = evo::size_histogram(evo::read_trace(source_dir() + "/traces/espresso.trace"));
    evo::ExportRequest& req = reqs.emplace_back();
    ok = request(d.name, d.sentence, fitted ? hist : std::vector<evo::SizeCount>{}, threads_of(d.name), &req, err) &&
         evo::write_export(req, err);
  };
  for (const Design& d : kFamilyDesigns) add(d);
  for (const Design& d : kTlhDesigns) add(d);
  for (const Design& d : kTcacheDesigns) add(d);
  for (const Design& d : kFidelityDesigns) add(d);
  ok = ok && evo::build_exports(reqs, libs_dir() + "/all", 2, false, err);
  if (fd >= 0) ::close(fd);
  built = ok;
  return ok;
}

/// Exports `sentence` as lib<name> (hist: the trace histogram for fitted classes;
/// threads: the thread model, lock or tlh); returns the export folder, or "" with
/// *err. A design of the test set is built with the whole set (build_test_set).
inline std::string build(const std::string& name, const std::string& sentence, std::string* err,
                         const std::vector<evo::SizeCount>& hist = {}, const std::string& threads = "lock") {
  namespace fs = std::filesystem;
  auto in_set = [&](const Design* b, const Design* e) {
    for (const Design* d = b; d != e; ++d)
      if (name == d->name && sentence == d->sentence && threads == threads_of(d->name)) return true;
    return false;
  };
  if (in_set(std::begin(kFamilyDesigns), std::end(kFamilyDesigns)) || in_set(std::begin(kTlhDesigns), std::end(kTlhDesigns)) ||
      in_set(std::begin(kFidelityDesigns), std::end(kFidelityDesigns)))
    return build_test_set(err) ? libs_dir() + "/" + name : std::string();
  fs::create_directories(libs_dir());
  const std::string dir = libs_dir() + "/" + name;
  int fd = ::open((libs_dir() + "/" + name + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
  if (fd >= 0) ::flock(fd, LOCK_EX);
  evo::ExportRequest req;
  bool ok = request(name, sentence, hist, threads, &req, err) && evo::write_export(req, err) &&
            evo::build_export(dir, 2, err);
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
