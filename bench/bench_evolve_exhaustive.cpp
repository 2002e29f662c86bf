// bench_evolve_exhaustive — GE + NSGA-II against exhaustive search: hypervolume
// reached vs evaluations spent.
//
// Search space: a slice of the superblock family small enough to enumerate (every
// classes x sb/large x bins x alg x cache choice; pagemap=flat, align=16, harden=off:
// 6,075 designs), scored on the first argv[1] ops of the espresso trace (default
// 50,000) with the modeled speed. Exhaustive mode scores all of them; its front's
// hypervolume is the 100% mark, with the reference point fixed from the exhaustive
// front (1.1 x its nadir: the worst value of each objective on the true front) for
// every run, so the box covers exactly the true front's range. Then GE
// runs (population 30, 3 seeds) get a budget of a quarter of the exhaustive
// evaluations; the bench prints, per seed, the hypervolume fraction after each
// generation and the evaluations needed to reach 99%.
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "evaluate/metrics.hpp"
#include "evaluate/trace.hpp"
#include "evolve/evolution.hpp"
#include "grammar/grammar.hpp"

using namespace evo;

namespace {
const char* kSlice = R"(<d> ::= superblock classes=<classes> <geo> align=16 source=mmap harden=off
<geo> ::= sb=16K <pol> large=<l4> | sb=64K <pol> large=<l16> | sb=256K <pol> large=<l64>
<l4> ::= 1K | 4K
<l16> ::= 1K | 4K | 16K
<l64> ::= 1K | 4K | 16K | 64K
<pol> ::= bins=<bins> alg=<alg> pagemap=flat cache=<cache>
<bins> ::= unordered | mtf | fullness-array | fullness-list | fullness-mtf
<alg> ::= bump | reap | bitmap | stack | bumpstack
<cache> ::= none | eager | lazy
<classes> ::= jemalloc | pow2 | linear:<step> | fitted:<k>
<step> ::= 16 | 64 | 256
<k> ::= 8 | 16 | 32 | 64
)";
}  // namespace

int main(int argc, char** argv) {
  const std::string src = EVOALLOC_SOURCE_DIR;
  const std::uint64_t ops = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 50000;
  const Trace trace = read_trace(src + "/traces/espresso.trace");
  const auto hist = size_histogram(trace);
  const Grammar g = parse_grammar(kSlice, "superblock-slice.bnf");
  Config base;
  base.trace_max_ops = ops;
  base.time_limit_s = 10;
  base.memory_limit = std::uint64_t{1} << 30;
  base.threads = 0;
  const EvalOptions eo = base.eval_options();
  const EvaluateFn eval = [&](const std::string& s) { return evaluate_design(s, trace, hist, eo); };

  Config ex = base;
  ex.exhaustive = true;
  ex.population = 256;
  ex.exhaustive_range_values = 0;
  RunState all;
  auto t0 = std::chrono::steady_clock::now();
  run_evolution(ex, g, eval, all);
  const double ex_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::array<double, 3> ref{0, 0, 0};
  for (std::size_t i : all.archive.front()) {
    const auto o = all.archive.entries()[i].metrics.objectives();
    for (int k = 0; k < 3; ++k) ref[k] = std::max(ref[k], 1.1 * o[k]);
  }
  const double hv_all = front_hypervolume(all.archive, ref);
  std::printf("exhaustive: %zu designs on %llu ops in %.1f s (%d threads); front %zu designs; hypervolume %.5f\n",
              all.archive.size(), static_cast<unsigned long long>(ops), ex_s, omp_get_max_threads(),
              all.archive.front().size(), hv_all);
  std::printf("reference point: %.4g %.4g %.4g\n", ref[0], ref[1], ref[2]);

  const std::uint64_t budget = all.archive.size() / 4;
  for (std::uint64_t seed : {1, 2, 3}) {
    Config ge = base;
    ge.population = 30;
    ge.generations = budget / ge.population;
    ge.seed = seed;
    ge.hv_reference = ref;
    ge.init_max_depth = 6;
    RunState s;
    std::uint64_t reach99 = 0;
    LoopHooks h;
    h.on_generation = [&](const RunState& st) {
      const double frac = st.history.back().hypervolume / hv_all;
      if (reach99 == 0 && frac >= 0.99) reach99 = st.evaluations;
    };
    run_evolution(ge, g, eval, s, h);
    std::printf("GE seed %llu: %llu evaluations (budget %llu = 1/4 of exhaustive), cache hits %llu, final hv %.5f = %.2f%%",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(s.evaluations),
                static_cast<unsigned long long>(budget), static_cast<unsigned long long>(s.cache_hits),
                s.history.back().hypervolume, 100 * s.history.back().hypervolume / hv_all);
    if (reach99)
      std::printf("; 99%% reached after %llu evaluations (%.1f%% of exhaustive)\n",
                  static_cast<unsigned long long>(reach99), 100.0 * reach99 / all.archive.size());
    else
      std::printf("; 99%% not reached\n");
    std::printf("  hv%% by generation:");
    for (const auto& row : s.history) std::printf(" %.1f", 100 * row.hypervolume / hv_all);
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}
