// app/cmd_replay.cpp — `evoalloc replay TRACE [--system|--null|--allocator TEXT] [--repeat K] [--json]`,
// and `--threaded` (a multi-threaded trace on its threads, evaluate/replay_threaded.hpp).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <limits>
#include <sstream>

#include "app/cli.hpp"
#include "core/instance.hpp"
#include "core/spec.hpp"
#include "evaluate/replay.hpp"
#include "evaluate/replay_threaded.hpp"
#include "evaluate/site_profile.hpp"
#include "evaluate/trace_stats.hpp"

namespace evo::cli {

namespace {

/// `--threaded`: K replays of the trace on its threads; median and best wall time.
int replay_on_threads(const Trace& t, const std::string& path, const std::string& allocator, const InstanceOptions& io,
                      const ThreadedReplayOptions& tro, int repeat, bool json) {
  ThreadedReplayOptions o = tro;
  std::string err;
  const std::string design = design_for_model(allocator, o.model, &o, &err);  // tcache: the shared part
  if (design.empty()) throw UsageError("--model " + std::string(thread_model_name(o.model)) + ": " + err);
  const InstanceMaker make = [&](std::string* e) { return Instance::create(design, io, e); };
  std::vector<ThreadedReplayResult> runs;
  for (int k = 0; k < repeat; ++k) {
    runs.push_back(replay_threaded(t, make, o));
    if (!runs.back().ok) throw RuntimeError(path + ": threaded replay failed: " + runs.back().error);
  }
  std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.seconds < b.seconds; });
  const ThreadedReplayResult& med = runs[runs.size() / 2];
  const double n = static_cast<double>(std::max<std::uint64_t>(med.ops, 1));
  const double remote = med.frees == 0 ? 0.0 : static_cast<double>(med.remote_frees) / static_cast<double>(med.frees);
  char buf[256];
  if (json) {
    std::cout << "{\"trace\":" << json_string(path) << ",\"allocator\":" << json_string(allocator)
              << ",\"threaded\":true,\"model\":\"" << thread_model_name(tro.model) << "\",\"ops\":" << med.ops
              << ",\"trace_threads\":" << med.trace_threads << ",\"workers\":" << med.workers
              << ",\"repeat\":" << repeat << ",\"warm\":" << (tro.warm ? "true" : "false") << ",\"window\":" << tro.window
              << ",\"wall_seconds_median\":" << med.seconds
              << ",\"wall_seconds_best\":" << runs.front().seconds << ",\"ns_per_op_median\":" << med.seconds * 1e9 / n
              << ",\"worker_seconds\":[";
    for (std::size_t k = 0; k < med.worker_seconds.size(); ++k) std::cout << (k ? "," : "") << med.worker_seconds[k];
    std::cout << "],\"waits\":" << med.waits << ",\"paced_waits\":" << med.paced_waits << ",\"frees\":" << med.frees
              << ",\"remote_frees\":" << med.remote_frees
              << ",\"remote_free_share\":" << remote << ",\"instances\":" << med.instances
              << ",\"peak_footprint\":" << med.peak_footprint << ",\"failed_allocs\":" << med.failed_allocs << "}\n";
    return kExitOk;
  }
  std::snprintf(buf, sizeof buf, "%.4f s median, %.4f s best of %d (%.2f ns/op median)", med.seconds,
                runs.front().seconds, repeat, med.seconds * 1e9 / n);
  std::cout << "threaded replay " << path << " through " << allocator << " (model " << thread_model_name(tro.model)
            << (tro.warm ? ", warm" : "")
            << (tro.window != 0 ? ", paced by " + std::to_string(tro.window) + " ops" : std::string(", unpaced"))
            << "): " << med.ops << " ops, " << med.trace_threads << " trace threads on " << med.workers << " workers\n"
            << "  wall: " << buf << '\n'
            << "  per worker (s, median run):";
  for (double w : med.worker_seconds) {
    std::snprintf(buf, sizeof buf, " %.4f", w);
    std::cout << buf;
  }
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * remote);
  std::cout << "\n  frees: " << med.frees << ", remote " << med.remote_frees << " (" << buf << ")"
            << "; ops that waited for another thread: " << med.waits << ", held by the pacing window: " << med.paced_waits
            << '\n'
            << "  peak footprint: " << med.peak_footprint << " bytes (" << med.instances
            << (med.instances == 1 ? " instance" : " instances: sum of their peaks, an upper bound") << ")\n";
  return kExitOk;
}

}  // namespace

int cmd_replay(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string path, allocator;
  int repeat = 5;
  Count max_ops, window{kPacingWindow}, threads_cap;
  desc.add_options()("system", "replay through the process's malloc (glibc) [default]")(
      "null", "replay through the null allocator (measures the loop's own overhead)")(
      "allocator,a", po::value(&allocator), "replay through an instance of this design (canonical spec text)")(
      "repeat,k", po::value(&repeat)->default_value(5), "replays (fresh instance each); prints median and best")(
      "max-ops", po::value(&max_ops)->default_value(Count{}, "0"), "replay only the first N ops (0 = all)")(
      "warm", "time the second of two passes over the trace on one instance (the first untimed, its "
              "leftovers freed): a steady state's speed, pages already faulted and caches full")(
      "check", "verify every block (alignment, usable size, overlap, contents) and validate() every 100000 ops")(
      "threaded", "run every trace thread on its own thread, in its own order; an op on an object waits for the "
                  "object's previous op (with --allocator; see evaluate/replay_threaded.hpp)")(
      "model", po::value<std::string>(),
      "with --threaded: lock (one instance, one mutex) | tlh (one instance per thread, remote frees to the owner) "
      "| tcache (the design's front=tcache:B cache in every thread over one shared instance); default: the "
      "design's threads= key, else lock")(
      "threads-cap", po::value(&threads_cap)->default_value(Count{}, "0"),
      "with --threaded: at most this many OS threads (trace thread t runs on t mod K; 0 = one each)")(
      "window", po::value(&window)->default_value(window, std::to_string(kPacingWindow)),
      "with --threaded: pacing: no trace thread runs more than this many ops of the recorded order ahead of "
      "the earliest op not yet done, as the program's own pacing held it (0 = each as fast as its waits allow)")(
      "json", "print one JSON object")("trace", po::value(&path)->required(), "trace file (evoalloc format)");
  po::variables_map vm;
  if (!parse(args, desc, "trace", 1, vm, "evoalloc replay TRACE [--system | --null | --allocator TEXT [--threaded [--model lock|tlh|tcache]]] "
             "[--repeat K] [--json]",
             "Replays a trace's requests and prints the time per op (median and best of K), the peak\n"
             "footprint and the peak live requested bytes (definitions: evaluate/replay.hpp).\n"
             "--threaded replays a multi-threaded trace on its threads (remote frees really happen on\n"
             "another thread) and prints wall time, each worker's time, the share of remote frees and\n"
             "the footprint (evaluate/replay_threaded.hpp)."))
    return kExitOk;
  const int modes = static_cast<int>(vm.count("system")) + static_cast<int>(vm.count("null")) +
                    static_cast<int>(vm.count("allocator"));
  if (modes > 1) throw UsageError("choose one of --system, --null, --allocator");
  if (repeat < 1) throw UsageError("--repeat must be >= 1");
  const std::string mode = vm.count("null") ? "null" : vm.count("allocator") ? "allocator" : "system";

  Trace t = read_trace(path);
  std::vector<SizeCount> hist;
  std::vector<SiteLife> sites;
  InstanceOptions io;
  if (mode == "allocator") {
    hist = size_histogram(t);
    io.size_histogram = hist;
    sites = site_lives(t);  // for routing designs (core/route/router.hpp)
    io.sites = sites;
    std::string err;
    Instance probe = Instance::create(allocator, io, &err);
    if (!probe) throw UsageError("--allocator: " + err);
  }
  if (vm.count("threaded")) {
    if (mode != "allocator") throw UsageError("--threaded needs --allocator TEXT");
    ThreadedReplayOptions tro;
    // The design's own model (threads=, as export reads it) unless --model overrides it.
    std::string model = "lock";
    if (vm.count("model")) {
      model = vm["model"].as<std::string>();
    } else if (AllocatorSpec spec; parse_spec(allocator, spec, nullptr)) {
      if (const std::string* own = spec.get("threads")) model = *own;
    }
    if (!parse_thread_model(model, &tro.model)) throw UsageError("--model: '" + model + "' is not lock, tlh or tcache");
    if (threads_cap.value > std::numeric_limits<unsigned>::max())
      throw UsageError("--threads-cap " + std::to_string(threads_cap.value) + ": at most " +
                       std::to_string(std::numeric_limits<unsigned>::max()));
    tro.threads_cap = static_cast<unsigned>(threads_cap.value);
    tro.window = window.value;
    tro.max_ops = max_ops.value;
    tro.check = vm.count("check") != 0;
    tro.warm = vm.count("warm") != 0;
    return replay_on_threads(t, path, allocator, io, tro, repeat, vm.count("json") != 0);
  }
  if (vm.count("model") || !vm["threads-cap"].defaulted() || !vm["window"].defaulted())
    throw UsageError("--model, --threads-cap and --window need --threaded");
  ReplayOptions ro;
  ro.max_ops = max_ops.value;
  ro.warm = vm.count("warm") != 0;
  if (vm.count("check")) {
    if (ro.warm) throw UsageError("--warm times a replay; --check verifies one (choose one; --threaded --check takes both)");
    ro.check = true;
    ro.validate_every = 100000;
  }
  std::vector<double> secs;
  ReplayResult last;
  for (int k = 0; k < repeat; ++k) {
    if (mode == "system") {
      last = replay_system(t, ro);
    } else if (mode == "null") {
      last = replay_null(t, ro);
    } else {
      std::string err;
      Instance inst = Instance::create(allocator, io, &err);
      if (!inst) throw RuntimeError("--allocator: " + err);
      last = replay(t, inst, ro);
    }
    if (!last.ok) throw RuntimeError(path + ": replay failed: " + last.error);
    secs.push_back(last.seconds);
  }
  std::sort(secs.begin(), secs.end());
  const double median = secs[secs.size() / 2], best = secs.front();
  const double n = static_cast<double>(std::max<std::uint64_t>(last.ops, 1));
  // Undefined figures (no ops, nothing timed, nothing live) print as null / n/a.
  const bool timed = last.ops != 0 && best > 0;
  const bool has_live = last.peak_live_requested != 0;
  const double frag = has_live ? static_cast<double>(last.peak_footprint) /
                                         static_cast<double>(last.peak_live_requested) - 1.0
                               : 0.0;
  const std::string name = mode == "allocator" ? allocator : mode;
  auto num = [](bool ok, double v) {
    if (!ok) return std::string("null");
    std::ostringstream o;
    o << v;
    return o.str();
  };
  if (vm.count("json")) {
    std::cout << "{\"trace\":" << json_string(path) << ",\"allocator\":" << json_string(name) << ",\"ops\":" << last.ops
              << ",\"repeat\":" << repeat << ",\"warm\":" << (ro.warm ? "true" : "false")
              << ",\"ns_per_op_median\":" << num(timed, median * 1e9 / n)
              << ",\"ns_per_op_best\":" << num(timed, best * 1e9 / n) << ",\"ops_per_second_best\":" << num(timed, n / best)
              << ",\"peak_footprint\":" << last.peak_footprint << ",\"peak_live_bytes\":" << last.peak_live_requested
              << ",\"fragmentation\":" << num(has_live, frag) << ",\"failed_allocs\":" << last.failed_allocs << "}\n";
  } else {
    char buf[256];
    if (timed)
      std::snprintf(buf, sizeof buf, "%.2f ns/op median, %.2f ns/op best of %d (%.3g ops/s)", median * 1e9 / n,
                    best * 1e9 / n, repeat, n / best);
    else
      std::snprintf(buf, sizeof buf, "n/a (no ops replayed)");
    std::cout << "replay " << path << " through " << name << ": " << last.ops << " ops" << (ro.warm ? " (warm)" : "")
              << "\n"
              << "  time: " << buf << '\n'
              << "  peak footprint: " << last.peak_footprint << " bytes"
              << (mode == "system" ? " (glibc in-use chunk bytes, sampled: a lower bound)" : "") << '\n'
              << "  peak live requested: " << last.peak_live_requested << " bytes\n"
              << "  fragmentation (footprint/live - 1): " << (has_live ? num(true, frag) : "n/a (nothing live)") << '\n';
  }
  return kExitOk;
}

}  // namespace evo::cli
