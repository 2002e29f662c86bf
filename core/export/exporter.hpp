// core/export/exporter.hpp — turns one allocator design into a self-contained
// C++/CMake project that builds a drop-in malloc library.
//
// Output folder layout (write_export):
//   DIR/design.hpp          generated: the design as C++ — the composed template,
//                           one layer a line in derivation order, the parameters as
//                           constants, the metrics it was scored with in a comment
//   DIR/include/core/...    copies of the project's core headers (the very templates
//                           that were evaluated), DIR/include/evoalloc_*.hpp and
//                           ops_replay.hpp (from export/ in the source tree)
//   DIR/src/...             the core .cpp files the design needs, shim.cpp (the malloc
//                           family), registry_stub.cpp, replay_driver.cpp, source_hook.cpp
//   DIR/CMakeLists.txt      from export/CMakeLists.txt.in
// build_export then produces DIR/lib<NAME>.so, DIR/lib<NAME>.a, DIR/lib<NAME>_design.a
// and DIR/<NAME>_replay (cmake + ninja in DIR/build, log in DIR/build.log).
//
// How a design becomes C++: the superblock, block and buddy families are named as
// their template (e.g. SuperblockHeap<FullnessListBin, BumpStackAlg, FlatPagemap,
// LazyCache>; fibbuddy as FibBuddyHeap, slab as simple::Slab) and called directly; the
// single-row families whose allocator class is private to its .cpp (minimal, pad,
// freelist, btag, dlbins, reap, fixed, vm) compile that same .cpp and use the row it
// registers. Numeric parameters are the
// spec's canonical values; fitted class schemes (classes=fitted:K) embed the
// trace's size histogram so the class table is rebuilt exactly as during evaluation.
//
// Error convention: functions return false and write one line into *err.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/registry.hpp"
#include "core/spec.hpp"

namespace evo {

/// A call site of the trace, for a routing design (family route): the file name of its
/// module without the folder (how the library recognises the module at run time,
/// whatever path the program is started from), the offset in that file, and what the
/// site's objects did in the trace (the router's classification, core/route/router.hpp).
struct ExportSite {
  std::string module;
  std::uint64_t offset = 0;
  SiteLife life;
  std::string symbol;  ///< the function holding the call, when the trace names it
};

struct ExportRequest {
  AllocatorSpec spec;              ///< canonical (parse_spec output)
  std::string name;                ///< library name: [A-Za-z_][A-Za-z0-9_]*, at most 64 chars
  std::string out_dir;             ///< created if missing; existing generated files are overwritten
  std::string source_dir;          ///< evoalloc source tree (core/ headers, export/ skeleton)
  std::vector<SizeCount> histogram;  ///< the trace's size histogram (required for fitted classes)
  /// The trace's call sites (required for a routing design): design.hpp gets the
  /// table of the sites that do not go to the rest class (export/site_map.hpp).
  std::vector<ExportSite> sites;
  /// What the design was scored with (column, value), printed in design.hpp's comment.
  std::vector<std::pair<std::string, std::string>> metrics;
  std::string origin;              ///< where the design came from (run dir + pick), for the comment
  /// Thread model of the malloc shim: "lock" (one global lock around one instance,
  /// the default), "tlh" (thread-local heaps with remote frees) or "tcache" (the
  /// design's front=tcache:B cache in every thread over one shared instance); the
  /// CMake project's EVOALLOC_THREADS default (defines EVOALLOC_THREADS_TLH or
  /// EVOALLOC_THREADS_TCACHE).
  std::string threads = "lock";
};

/// True when `name` is a valid library name: [A-Za-z_][A-Za-z0-9_]*, at most 64
/// chars, not a system library's (c, m, dl, rt, pthread, gcc_s, ...).
bool valid_export_name(const std::string& name);

/// Whether `spec` can be exported under thread model `threads` (lock | tlh | tcache):
/// tcache needs a front=tcache:B cache and no harden=checked; a routing design
/// builds under lock only. false + *err ("--threads X: why") otherwise.
bool export_thread_model_ok(const AllocatorSpec& spec, const std::string& threads, std::string* err);

/// The generated design.hpp text; empty + *err when the design cannot be exported.
std::string export_design_header(const ExportRequest& req, std::string* err);

/// The core .cpp files (paths relative to the source tree) the design needs.
std::vector<std::string> export_core_sources(const AllocatorSpec& spec);

/// The ones every design needs, compiled the same way for every design (they do not
/// include design.hpp): the generated CMakeLists.txt compiles them as one OBJECT
/// library, or uses `evoalloc_export_common` when an enclosing project provides it.
std::vector<std::string> export_common_sources();

/// Writes the project into req.out_dir.
bool write_export(const ExportRequest& req, std::string* err);

/// Configures (once: a configured out_dir/build is reused, and ninja re-runs cmake
/// when the CMakeLists changed) and builds the project in `out_dir` (cmake -G Ninja,
/// Release, ninja -j`jobs`); output goes to out_dir/build.log. False + *err naming
/// the log.
bool build_export(const std::string& out_dir, int jobs, std::string* err);

/// Builds several written exports (each already written by write_export) as one
/// CMake project in `project_dir`: its CMakeLists.txt compiles the common sources
/// once (evoalloc_export_common, from the first export's copy: identical in all)
/// and add_subdirectory()s every export, so N designs cost one configure and one
/// compile of the common sources instead of N. The file is rewritten only when its
/// text changes and the configure runs only once, so an unchanged set rebuilds
/// nothing. `shared_only`: build just each export's lib<NAME>.so (what a program
/// preloads), else every target. Output goes to project_dir/build.log; false + *err
/// naming the log. The exports' own CMakeLists.txt still build each one alone.
bool build_exports(const std::vector<ExportRequest>& exports, const std::string& project_dir, int jobs,
                   bool shared_only, std::string* err);

}  // namespace evo
