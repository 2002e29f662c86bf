// bench_metrics_correlation — how well the modeled speed predicts the measured speed,
// and how fast the evaluator is.
//
// On the espresso trace (or argv[1]), samples N valid designs of grammar/allocator.bnf
// (fixed seed; argv[2], default 32), evaluates each with the probed replay (modeled
// speed, fragmentation, locality) and measures its speed (best of 3 timed replays
// after a warm-up, no probe). Prints per design both speeds, then the Spearman rank
// correlation between them, and the median time of one probed replay against the
// median time of one plain replay (the probe + cache model overhead).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "evaluate/program_bench.hpp"
#include "evaluate/replay.hpp"

using namespace evo;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? NAN : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  bench::DesignSample ds(argc, argv);
  const std::string& trace_path = ds.trace_path;
  const std::size_t want = ds.want;
  const Trace& trace = ds.trace;
  const auto& hist = ds.hist;
  const Enumerator& en = ds.en;
  EvalOptions& opt = ds.opt;
  opt.repeats = 3;

  std::printf("trace %s: %zu ops; grammar: %llu designs; sampling %zu valid designs (seed 1)\n", trace_path.c_str(),
              trace.ops.size(), static_cast<unsigned long long>(en.count()), want);
  std::printf("%-4s %12s %12s %10s %10s  %s\n", "#", "model cyc/op", "meas ns/op", "probed s", "plain s",
              "design");
  std::vector<double> modeled, measured, probed_s, plain_s;
  ds.sample(1, [&](const std::string& s) {
    Metrics m = evaluate_design(s, trace, hist, opt);
    if (!m.feasible) return false;
    auto t0 = std::chrono::steady_clock::now();
    const double ns = measure_speed_ns(s, trace, hist, opt);
    const double plain = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / (1 + opt.repeats);
    if (std::isnan(ns)) return false;
    modeled.push_back(m.speed_modeled);
    measured.push_back(ns);
    probed_s.push_back(m.eval_seconds);
    plain_s.push_back(plain);
    std::printf("%-4zu %12.2f %12.2f %10.3f %10.3f  %s\n", modeled.size(), m.speed_modeled, ns, m.eval_seconds, plain,
                s.c_str());
    std::fflush(stdout);
    return true;
  });
  const double rho = spearman(modeled, measured);
  std::printf("\ndesigns: %zu\nSpearman rank correlation (modeled vs measured speed): %.3f\n", modeled.size(), rho);
  std::printf("median probed replay (metrics): %.3f s; median plain replay: %.3f s; overhead ratio %.2fx\n",
              median(probed_s), median(plain_s), median(probed_s) / median(plain_s));
  return 0;
}
