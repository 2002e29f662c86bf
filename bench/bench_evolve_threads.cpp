// bench_evolve_threads [TRACE] [N] [BACKING] — OpenMP speed-up of evaluation: 2 threads against 1.
//
// Evaluates the same batch of designs (the first valid ones of a fixed-seed sample of
// grammar/allocator.bnf, argv[2] of them, default 32: about one generation of the
// main job, population 28) on the espresso trace (or
// argv[1]) with the evolution's own parallel evaluation pattern (OpenMP dynamic
// schedule, one instance per design, the one shared read-only trace), first with 1
// thread, then with 2; three rounds each, alternating. Prints the median wall time of
// each and the speed-up (median 1-thread / median 2-thread). BACKING (argv[3]) is the
// MemorySource backing of the evaluation replays: simulated (evaluation's default) or
// real (a system call per page commit/decommit; for comparison).
//
// Also printed, to read a run on a busy machine: the process CPU time of each run
// (user + system, getrusage; "work inflation" = 2-thread CPU / 1-thread CPU — 1.00
// means the threads do not slow each other down, whatever the load) and the
// batch's own bound on the speed-up ("schedule bound": total 1-thread time over
// the makespan of the dynamic schedule on 2 threads, from the per-design times),
// and a calibration: the speed-up of a trivially parallel arithmetic loop (no memory,
// no syscalls) measured in each round next to the batch. On a shared machine the
// scheduler may give the process less than two cores whatever its threads do
// (another session's jobs get an equal share, nice or not), which the calibration
// shows; "relative" = batch speed-up / calibration speed-up.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"

using namespace evo;

int main(int argc, char** argv) {
  bench::DesignSample ds(argc, argv);
  const std::string& trace_path = ds.trace_path;
  const Trace& trace = ds.trace;
  const auto& hist = ds.hist;
  EvalOptions& opt = ds.opt;
  if (argc > 3) {
    const std::string b = argv[3];
    if (b != "real" && b != "simulated") {
      std::fprintf(stderr, "bench_evolve_threads: BACKING must be real or simulated, not '%s'\n", b.c_str());
      return 2;
    }
    opt.backing = b == "real" ? SourceBacking::Real : SourceBacking::Simulated;
  }

  // The batch: valid designs that replay in under a second (so the batch is balanced enough).
  std::vector<std::string> batch;
  ds.sample(2, [&](const std::string& s) {
    Metrics m = evaluate_design(s, trace, hist, opt);
    if (!(m.feasible && m.eval_seconds < 1.0)) return false;
    batch.push_back(s);
    return true;
  });
  std::printf("batch: %zu designs on %s (%zu ops); cores: %d; backing: %s\n", batch.size(), trace_path.c_str(),
              trace.ops.size(), omp_get_num_procs(), source_backing_name(opt.backing));
  auto cpu_now = [] {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  };
  std::vector<double> last_times(batch.size());
  struct Run {
    double wall, cpu;
  };
  auto run = [&](int threads) {
    std::vector<Metrics> out(batch.size());
    const double c0 = cpu_now();
    auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (std::size_t i = 0; i < batch.size(); ++i) out[i] = evaluate_design(batch[i], trace, hist, opt);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (threads == 1)
      for (std::size_t i = 0; i < batch.size(); ++i) last_times[i] = out[i].eval_seconds;
    return Run{wall, cpu_now() - c0};
  };
  auto calibrate = [](int threads) {
    auto t0 = std::chrono::steady_clock::now();
    double acc = 0;
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : acc)
    for (long i = 0; i < 600000000L; ++i) acc += static_cast<double>(i % 7) * 1e-9;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return acc > 0 ? wall : 0.0;  // acc keeps the loop alive
  };
  std::vector<double> t1, t2, c1, c2, k;
  for (int round = 0; round < 3; ++round) {
    const double k1 = calibrate(1);
    const double k2 = calibrate(2);
    k.push_back(k1 / k2);
    const Run a = run(1);
    const Run b = run(2);
    t1.push_back(a.wall);
    t2.push_back(b.wall);
    c1.push_back(a.cpu);
    c2.push_back(b.cpu);
    std::printf("round %d: 1 thread %.2f s (cpu %.2f s), 2 threads %.2f s (cpu %.2f s); calibration %.2fx\n",
                round + 1, a.wall, a.cpu, b.wall, b.cpu, k.back());
    std::fflush(stdout);
  }
  // The dynamic schedule's makespan on 2 threads with the last 1-thread per-design times.
  double busy[2] = {0, 0}, total = 0;
  for (double t : last_times) {
    busy[busy[1] < busy[0] ? 1 : 0] += t;
    total += t;
  }
  const double bound = total / std::max(std::max(busy[0], busy[1]), 1e-9);
  std::sort(t1.begin(), t1.end());
  std::sort(t2.begin(), t2.end());
  std::sort(c1.begin(), c1.end());
  std::sort(c2.begin(), c2.end());
  std::sort(k.begin(), k.end());
  std::printf("median: 1 thread %.2f s, 2 threads %.2f s, speed-up %.2fx\n", t1[1], t2[1], t1[1] / t2[1]);
  std::printf("median cpu: 1 thread %.2f s, 2 threads %.2f s, work inflation %.2f; schedule bound %.2fx\n", c1[1],
              c2[1], c2[1] / c1[1], bound);
  std::printf("calibration (parallel arithmetic loop) median speed-up %.2fx; relative %.2f\n", k[1],
              (t1[1] / t2[1]) / k[1]);
  return 0;
}
