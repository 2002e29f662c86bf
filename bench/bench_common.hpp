// bench/bench_common.hpp — what the benches that sample designs of the grammar share
// (bench_evolve_threads, bench_metrics_correlation): the command line's TRACE (argv[1],
// default traces/espresso.trace) and N (argv[2], default 32), the trace read with its
// size histogram, an enumerator of grammar/allocator.bnf (4 values per range), the
// evaluation options of the main job (4 s time limit as configs/espresso.yaml, 1 GiB
// memory limit), and a fixed-seed walk over distinct designs. Also read_trace_or_exit,
// how the benches that replay a trace read it. Header only; benches only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <unordered_set>
#include <vector>

#include "evaluate/metrics.hpp"
#include "evaluate/trace.hpp"
#include "evolve/rng.hpp"
#include "grammar/enumerate.hpp"
#include "grammar/grammar.hpp"

namespace evo::bench {

/// The trace at `path`; when it cannot be read, prints "<bench>: <error>" and exits
/// with status 1.
inline Trace read_trace_or_exit(const std::string& path, const char* bench) {
  try {
    return read_trace(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", bench, e.what());
    std::exit(1);
  }
}

/// The shared setup of a design-sampling bench; argv[1] and argv[2] as above.
struct DesignSample {
  DesignSample(int argc, char** argv)
      : trace_path(argc > 1 ? argv[1] : std::string(EVOALLOC_SOURCE_DIR) + "/traces/espresso.trace"),
        want(argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 32),
        trace(read_trace(trace_path)),
        hist(size_histogram(trace)),
        grammar(load_grammar(std::string(EVOALLOC_SOURCE_DIR) + "/grammar/allocator.bnf")),
        en(grammar, enum_options()) {
    opt.time_limit_s = 4;  // as configs/espresso.yaml
    opt.memory_limit = std::uint64_t{1} << 30;
  }
  DesignSample(const DesignSample&) = delete;
  DesignSample& operator=(const DesignSample&) = delete;

  /// Draws designs with StreamRng(seed), skipping repeats, and hands each new one to
  /// `take` (true: it counts) until `want` have counted or 5000 draws were made.
  template <class Take>
  void sample(std::uint64_t seed, Take take) const {
    StreamRng rng(seed);
    std::unordered_set<std::string> seen;
    std::size_t taken = 0;
    for (int tries = 0; taken < want && tries < 5000; ++tries) {
      std::string s = en.at(rng.below(en.count()));
      if (!seen.insert(s).second) continue;
      if (take(s)) ++taken;
    }
  }

  std::string trace_path;
  std::size_t want;
  Trace trace;
  std::vector<SizeCount> hist;
  Grammar grammar;
  Enumerator en;
  EvalOptions opt;

 private:
  static EnumOptions enum_options() {
    EnumOptions eo;
    eo.max_range_values = 4;
    return eo;
  }
};

}  // namespace evo::bench
