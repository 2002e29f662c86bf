// bench_evolve_threads — OpenMP speed-up of evaluation: 2 threads against 1.
//
// Evaluates the same batch of designs (the first valid ones of a fixed-seed sample of
// grammar/allocator.bnf, argv[2] of them, default 16) on the espresso trace (or
// argv[1]) with the evolution's own parallel evaluation pattern (OpenMP dynamic
// schedule, one instance per design, the one shared read-only trace), first with 1
// thread, then with 2; three rounds each, alternating. Prints the median wall time of
// each and the speed-up (median 1-thread / median 2-thread).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_set>
#include <vector>

#include "evaluate/metrics.hpp"
#include "evaluate/trace.hpp"
#include "evolve/rng.hpp"
#include "grammar/enumerate.hpp"
#include "grammar/grammar.hpp"

using namespace evo;

int main(int argc, char** argv) {
  const std::string src = EVOALLOC_SOURCE_DIR;
  const std::string trace_path = argc > 1 ? argv[1] : src + "/traces/espresso.trace";
  const std::size_t want = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 16;
  const Trace trace = read_trace(trace_path);
  const auto hist = size_histogram(trace);
  const Grammar g = load_grammar(src + "/grammar/allocator.bnf");
  EnumOptions eo;
  eo.max_range_values = 4;
  const Enumerator en(g, eo);
  EvalOptions opt;
  opt.time_limit_s = 4;
  opt.memory_limit = std::uint64_t{1} << 30;

  // The batch: valid designs that replay in under a second (so the batch is balanced enough).
  std::vector<std::string> batch;
  StreamRng rng(2);
  std::unordered_set<std::string> seen;
  for (int tries = 0; batch.size() < want && tries < 5000; ++tries) {
    std::string s = en.at(rng.below(en.count()));
    if (!seen.insert(s).second) continue;
    Metrics m = evaluate_design(s, trace, hist, opt);
    if (m.feasible && m.eval_seconds < 1.0) batch.push_back(s);
  }
  std::printf("batch: %zu designs on %s (%zu ops); cores: %d\n", batch.size(), trace_path.c_str(), trace.ops.size(),
              omp_get_num_procs());
  auto run = [&](int threads) {
    std::vector<Metrics> out(batch.size());
    auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (std::size_t i = 0; i < batch.size(); ++i) out[i] = evaluate_design(batch[i], trace, hist, opt);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<double> t1, t2;
  for (int round = 0; round < 3; ++round) {
    t1.push_back(run(1));
    t2.push_back(run(2));
    std::printf("round %d: 1 thread %.2f s, 2 threads %.2f s\n", round + 1, t1.back(), t2.back());
    std::fflush(stdout);
  }
  std::sort(t1.begin(), t1.end());
  std::sort(t2.begin(), t2.end());
  std::printf("median: 1 thread %.2f s, 2 threads %.2f s, speed-up %.2fx\n", t1[1], t2[1], t1[1] / t2[1]);
  return 0;
}
