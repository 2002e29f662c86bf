// bench/bench_families.cpp — replay time per op, peak footprint and fragmentation
// of every row of the textbook, block-based and buddy families (plus the no-reuse
// rows and the default superblock row as references; --all adds every superblock
// row) on a real trace, with glibc measured in the same run as the baseline; then
// the cost of the hardening layer (harden=canary|checked against harden=off).
//
//   bench_families [--trace PATH] [--repeats K] [--max-ops N] [--family NAME]... [--all] [--check]
//
// --check replays once per design in check mode (alignment, overlap, contents,
// validate(Full) every 500K ops; see evaluate/replay.hpp): a correctness sweep on
// the real trace, its times are not speed figures.
//
// Time: median of K replays (default 3) of a fresh instance each, wall time of the
// op loop / ops, and its ratio to glibc's median. Footprint: the instance's exact
// peak (bytes held from the OS, metadata included). Fragmentation: peak footprint /
// the trace's peak live requested bytes - 1 (glibc's column is mallinfo2's in-use
// bytes, a lower bound: see evaluate/replay.hpp).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "core/instance.hpp"
#include "evaluate/replay.hpp"
#include "evaluate/trace.hpp"

namespace {

struct Row {
  std::string name;
  double ns_per_op = 0;
  std::uint64_t peak = 0;
  std::uint64_t os_calls = 0;
  std::string error;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

/// One replay of a fresh instance of `text`; returns ns/op (0 on error, in r.error).
double run_once(const evo::Trace& t, const std::string& text, const evo::InstanceOptions& io,
                const evo::ReplayOptions& ro, Row& r) {
  std::string err;
  evo::Instance inst = evo::Instance::create(text, io, &err);
  if (!inst) {
    r.error = err;
    return 0;
  }
  evo::ReplayResult res = evo::replay(t, inst, ro);
  if (!res.ok) {
    r.error = res.error;
    return 0;
  }
  r.peak = res.peak_footprint;
  r.os_calls = res.final_stats.os_calls;
  return res.seconds * 1e9 / static_cast<double>(res.ops);
}

Row measure(const evo::Trace& t, const std::string& text, const evo::InstanceOptions& io, int repeats,
            const evo::ReplayOptions& ro) {
  Row r;
  r.name = text;
  std::vector<double> ns;
  for (int k = 0; k < repeats && r.error.empty(); ++k) ns.push_back(run_once(t, text, io, ro, r));
  r.ns_per_op = median(ns);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string trace_path = std::string(EVOALLOC_SOURCE_DIR) + "/traces/espresso.trace";
  int repeats = 3;
  evo::ReplayOptions ro;
  std::vector<std::string> families;
  bool all = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_families: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--trace") {
      trace_path = next();
    } else if (a == "--repeats") {
      repeats = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--max-ops") {
      ro.max_ops = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--family") {
      families.push_back(next());
    } else if (a == "--all") {
      all = true;
    } else if (a == "--check") {
      ro.check = true;
      ro.validate_every = 500000;
      repeats = 1;
    } else {
      std::fprintf(stderr,
                   "usage: bench_families [--trace PATH] [--repeats K] [--max-ops N] [--family NAME]... [--all] [--check]\n");
      return 2;
    }
  }
  const evo::Trace t = evo::bench::read_trace_or_exit(trace_path, "bench_families");
  std::vector<evo::SizeCount> hist = evo::size_histogram(t);
  evo::InstanceOptions io;
  io.size_histogram = hist;

  // Baseline: glibc, same trace, same run.
  std::vector<double> gl;
  evo::ReplayResult g;
  for (int k = 0; k < repeats; ++k) {
    g = evo::replay_system(t, ro);
    gl.push_back(g.seconds * 1e9 / static_cast<double>(g.ops));
  }
  double glibc_ns = median(gl);
  double live = static_cast<double>(g.peak_live_requested);
  std::printf("trace %s: %llu ops, peak live %llu B; median of %d replays each\n\n", trace_path.c_str(),
              static_cast<unsigned long long>(g.ops), static_cast<unsigned long long>(g.peak_live_requested),
              repeats);
  std::printf("%-100s %9s %8s %12s %8s %9s\n", "design", "ns/op", "x glibc", "peak KiB", "frag", "os calls");
  std::printf("%-100s %9.1f %8.2f %12.1f %8.3f %9s\n", "glibc malloc (in-use bytes, lower bound)", glibc_ns, 1.0,
              static_cast<double>(g.peak_footprint) / 1024, static_cast<double>(g.peak_footprint) / live - 1, "-");

  auto wanted = [&](const evo::RegistryRow& r) {
    std::string_view f = r.family;
    if (!families.empty()) return std::find(families.begin(), families.end(), f) != families.end();
    if (f == "superblock") return all || r.name.find("bins=unordered alg=bitmap pagemap=flat cache=lazy") != std::string::npos;
    return true;
  };
  std::vector<std::string> harden_rows;
  for (const evo::RegistryRow& r : evo::rows()) {
    if (!wanted(r)) continue;
    Row m = measure(t, r.name, io, repeats, ro);
    if (!m.error.empty()) {
      std::printf("%-100s  FAILED: %s\n", m.name.c_str(), m.error.c_str());
      continue;
    }
    std::printf("%-100s %9.1f %8.2f %12.1f %8.3f %9llu\n", m.name.c_str(), m.ns_per_op, m.ns_per_op / glibc_ns,
                static_cast<double>(m.peak) / 1024, static_cast<double>(m.peak) / live - 1,
                static_cast<unsigned long long>(m.os_calls));
    std::fflush(stdout);
  }

  // glibc again: the machine's load may have changed during the table.
  gl.clear();
  for (int k = 0; k < repeats; ++k) gl.push_back(evo::replay_system(t, ro).seconds * 1e9 / static_cast<double>(g.ops));
  std::printf("%-100s %9.1f %8.2f   (the same baseline measured again after the table)\n", "glibc malloc (again)",
              median(gl), median(gl) / glibc_ns);

  // Hardening cost on a few representative designs: off/canary/checked replays are
  // interleaved (round robin, 2K+1 rounds) so load changes hit all three alike.
  std::printf("\nhardening cost (median ns/op of interleaved replays, ratio to harden=off of the same design)\n");
  std::printf("%-40s %9s %9s %7s %9s %7s %12s %12s\n", "design", "off", "canary", "x", "checked", "x", "peak off KiB",
              "checked KiB");
  for (const char* d : {"btag", "block fit=best", "buddy", "slab", "superblock"}) {
    Row off, can, chk;
    std::vector<double> v_off, v_can, v_chk;
    for (int k = 0; k < 2 * repeats + 1; ++k) {
      v_off.push_back(run_once(t, std::string(d) + " harden=off", io, ro, off));
      v_can.push_back(run_once(t, std::string(d) + " harden=canary", io, ro, can));
      v_chk.push_back(run_once(t, std::string(d) + " harden=checked", io, ro, chk));
    }
    off.ns_per_op = median(v_off);
    can.ns_per_op = median(v_can);
    chk.ns_per_op = median(v_chk);
    if (!off.error.empty() || !can.error.empty() || !chk.error.empty()) {
      std::printf("%-40s FAILED: %s%s%s\n", d, off.error.c_str(), can.error.c_str(), chk.error.c_str());
      continue;
    }
    std::printf("%-40s %9.1f %9.1f %7.2f %9.1f %7.2f %12.1f %12.1f\n", d, off.ns_per_op, can.ns_per_op,
                can.ns_per_op / off.ns_per_op, chk.ns_per_op, chk.ns_per_op / off.ns_per_op,
                static_cast<double>(off.peak) / 1024, static_cast<double>(chk.peak) / 1024);
  }
  return 0;
}
