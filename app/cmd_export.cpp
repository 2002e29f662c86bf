// app/cmd_export.cpp — `evoalloc export`: a design from a run (or a sentence) as a
// compiled drop-in malloc library. See core/export/exporter.hpp for what is written.
//
//   evoalloc export (--run RUN_DIR --pick fastest|leanest|best-quality|knee|program|N | --allocator TEXT)
//                   --name NAME --out DIR [--trace TRACE] [--threads lock|tlh|tcache] [--fidelity CSV]
//                   [--no-build] [--jobs J]
// Picks from RUN_DIR/front.csv (rows that are valid and feasible) as evolve/pick.hpp
// says: fastest = least measured replay speed (a row within 3% of it wins when
// the fastest holds more than 1.2x its footprint; a tied threads=tcache row wins over
// a threads=tlh choice), leanest = least fragmentation,
// best-quality = least quality (locality), knee = nearest the ideal point, N = the
// N-th row (0-based); the report's "pick ...:" line says why that row (pick_row's
// reason). program = the design that ran the real program best in a fidelity.csv
// (--fidelity, default RUN_DIR/fidelity/fidelity.csv, written by `evoalloc fidelity
// --run RUN_DIR --select fastest -- PROGRAM`; pick_program in evolve/pick.hpp); its
// metrics come from front.csv, else archive.csv, when the run holds the design.
// Fitted class schemes need the trace: --trace, else the `trace:` of
// RUN_DIR/config.yaml (relative paths: from the current folder, then the source tree);
// a run with extra_traces: fits them to the histogram merged over all its traces,
// as its search did (evaluate/workload.hpp). A route design's call sites come from
// the first trace.
// The thread model is --threads, else the design's own threads= key (a design of
// grammar/threaded.bnf), else (with --run) the run's `threaded_replay:` when it is
// lock, tlh or tcache (the model its speed was measured under), else lock. The
// report names it and its source ("thread model: tcache (--threads; the design says
// threads=tlh)"), as the sentence it prints keeps the design's own threads= key.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

#include "app/cli.hpp"
#include "core/export/exporter.hpp"
#include "evaluate/site_profile.hpp"
#include "evaluate/trace.hpp"
#include "evaluate/workload.hpp"
#include "evolve/pick.hpp"

namespace evo::cli {
namespace {

/// The exporter's messages start with "export: " (it is also called from tests and
/// `evoalloc fidelity`); the command's own prefix, "evoalloc export: ", says that.
std::string without_prefix(std::string e) {
  if (e.rfind("export: ", 0) == 0) e.erase(0, 8);
  return e;
}

}  // namespace

int cmd_export(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string run, pick, allocator, name, out, trace, threads = "lock", fidelity;
  std::vector<std::string> extra;  // the run's extra_traces (when --trace is not given)
  int jobs = 2;
  desc.add_options()("run", po::value(&run), "an evolve run folder (front.csv, config.yaml)")(
      "pick", po::value(&pick), "fastest | leanest | best-quality | knee | program (the design that ran the real program best in "
      "--fidelity's CSV) | N (row of front.csv, 0-based)")(
      "fidelity", po::value(&fidelity), "with --pick program: a fidelity.csv (default RUN_DIR/fidelity/fidelity.csv)")(
      "allocator,a", po::value(&allocator), "export this design instead (canonical spec text)")(
      "name", po::value(&name)->required(), "library name: DIR/libNAME.so, DIR/libNAME.a")(
      "out", po::value(&out)->required(), "output folder (created; generated files overwritten)")(
      "trace", po::value(&trace), "trace for fitted class schemes and for a route design's call sites (default: the run's config trace)")(
      "threads", po::value(&threads), "thread model: lock (one global lock around one "
      "instance) | tlh (thread-local heaps: one instance per thread, pooled when threads "
      "exit, a free from another thread queued for the owner heap) | tcache (the design's "
      "front=tcache:B cache in every thread over one shared instance); default: the design's "
      "threads= key, else (with --run) the run's threaded_replay model, else lock")(
      "no-build", "write the C++ and CMake project only")(
      "jobs,j", po::value(&jobs)->default_value(2), "parallel compile jobs");
  po::variables_map vm;
  if (!parse(args, desc, nullptr, 0, vm,
             "evoalloc export (--run RUN_DIR --pick fastest|leanest|best-quality|knee|program|N | --allocator TEXT) "
             "--name NAME --out DIR [--trace TRACE] [--threads lock|tlh|tcache] [--fidelity CSV] [--no-build]",
             "Writes the design as readable C++ (the very templates that were evaluated) with a CMake\n"
             "project, and builds DIR/libNAME.so (LD_PRELOAD it) and DIR/libNAME.a. EVOALLOC_STATS=1\n"
             "makes the library print footprint, peak and counts at exit."))
    return kExitOk;
  if (vm.count("run") == vm.count("allocator")) throw UsageError("give exactly one of --run (with --pick) or --allocator");
  if (vm.count("run") && !vm.count("pick"))
    throw UsageError("--run needs --pick fastest|leanest|best-quality|knee|program|N");
  if (vm.count("fidelity") && pick != "program") throw UsageError("--fidelity goes with --pick program");
  if (vm.count("pick") && !vm.count("run")) throw UsageError("--pick needs --run");
  if (!valid_export_name(name))
    throw UsageError("--name '" + name + "' must match [A-Za-z_][A-Za-z0-9_]* (at most 64 chars) and not be a system library's name (c, m, dl, pthread, ...)");
  if (threads != "lock" && threads != "tlh" && threads != "tcache")
    throw UsageError("--threads " + threads +
                     ": expected lock (one global lock), tlh (thread-local heaps) or tcache (per-thread caches over one "
                     "heap; the design needs front=tcache:B)");
  if (jobs < 1) throw UsageError("--jobs must be >= 1");

  ExportRequest req;
  req.name = name;
  req.out_dir = out;
  req.source_dir = source_dir();
  req.threads = threads;
  std::string sentence = allocator;
  std::string run_model;  // the run's threaded_replay model, when lock or tlh
  std::string pick_why;   // why the design was picked (printed after the model)
  if (!run.empty()) {
    const std::filesystem::path dir(run);
    const MetricsTable front = read_metrics_table((dir / "front.csv").string());
    MetricsTable archive;  // read when a design picked on the program is not on the front
    const TableRow* row = nullptr;
    if (pick == "program") {
      if (fidelity.empty()) fidelity = (dir / "fidelity" / "fidelity.csv").string();
      const ProgramPick p = pick_program(fidelity);
      sentence = p.sentence;
      pick_why = p.why;
      req.origin = run + " --pick program (" + fidelity + ", " + p.label + ")";
      auto find = [&](const MetricsTable& t, const char* table) {
        for (const TableRow& r : t.rows)
          if (r.entry.sentence == sentence) {
            req.origin += std::string(", ") + table;
            return &r;
          }
        return static_cast<const TableRow*>(nullptr);
      };
      row = find(front, "front.csv");
      if (row == nullptr && std::filesystem::exists(dir / "archive.csv")) {
        archive = read_metrics_table((dir / "archive.csv").string());
        row = find(archive, "archive.csv");
      }
    } else {
      std::size_t at = 0;
      try {
        at = pick_row(front, pick, &pick_why);
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
      row = &front.rows[at];
      sentence = row->entry.sentence;
      req.origin = run + " --pick " + pick + " (front.csv row " + std::to_string(at) + ")";
    }
    if (row != nullptr)
      for (std::size_t i = 0; i < front.header.size() && i < row->fields.size(); ++i)
        if (front.header[i] != "sentence" && front.header[i] != "genome")
          req.metrics.emplace_back(front.header[i], row->fields[i]);
    if (trace.empty()) {
      trace = run_trace(run);
      extra = run_extra_traces(run);
    }
    if (!vm.count("threads")) run_model = run_thread_model(run);
  } else {
    req.origin = "--allocator";
  }
  std::string err;
  if (!parse_spec(sentence, req.spec, &err)) {
    if (!run.empty()) throw RuntimeError(run + "/front.csv: design '" + sentence + "': " + err);
    throw UsageError("--allocator: " + err);
  }
  // Where the model comes from, for the report line below.
  const std::string* design_model = req.spec.get("threads");
  std::string model_from = "the default";
  if (vm.count("threads")) {
    model_from = "--threads";
    if (design_model != nullptr && *design_model != req.threads) model_from += "; the design says threads=" + *design_model;
  } else if (design_model != nullptr) {
    req.threads = *design_model;
    model_from = "the design's threads= key";
  } else if (!run_model.empty()) {
    req.threads = run_model;
    model_from = "the run's threaded_replay";
  }
  // A model the user asked for that the design cannot run under is a usage error;
  // one read from the design or its run is checked again (and reported) by the exporter.
  if (vm.count("threads") && !export_thread_model_ok(req.spec, req.threads, &err)) throw UsageError(err);
  const std::string* cls = req.spec.get("classes");
  const bool fitted = cls != nullptr && cls->starts_with("fitted:");
  const bool routes = req.spec.family == "route";  // its sub-designs may be fitted too
  if (fitted && trace.empty()) throw UsageError("classes=" + *cls + " is fitted to a trace: give --trace");
  if (routes && trace.empty())
    throw UsageError("a route design sends each call site to a class learned from the trace: give --trace");
  if (fitted || routes) {
    const std::string path = resolve_path(trace);
    Trace t = read_trace(path);
    req.histogram = size_histogram(t);
    if (fitted) {  // a run with extra traces scored its designs with one merged histogram
      for (std::string& x : extra) x = resolve_path(x);
      req.histogram = merge_with_traces(std::move(req.histogram), extra);
    }
    if (fitted && req.histogram.empty())
      throw RuntimeError(path + ": the trace has no allocations, so classes=" + *cls + " has nothing to fit");
    if (routes) {
      req.sites = export_sites(t);
      if (req.sites.empty()) throw RuntimeError(path + ": the trace names no call sites, so a route design has nothing to route");
    }
  }
  if (!write_export(req, &err)) throw RuntimeError(without_prefix(err));
  std::cout << "wrote " << (std::filesystem::path(out) / "design.hpp").string() << " for: " << req.spec.text() << "\n";
  std::cout << "thread model: " << req.threads << " (" << model_from << ")\n";
  if (!pick_why.empty()) std::cout << "pick " << pick << ": " << pick_why << "\n";
  if (vm.count("no-build")) return kExitOk;
  if (!build_export(out, jobs, &err)) throw RuntimeError(without_prefix(err));
  std::cout << "built " << (std::filesystem::path(out) / ("lib" + name + ".so")).string() << " and lib" << name
            << ".a\n";
  return kExitOk;
}

}  // namespace evo::cli
