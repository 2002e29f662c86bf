// bench/bench_replay.cpp — replay throughput: glibc vs the null allocator vs bump rows.
//
//   bench_replay [TRACE] [ROUNDS] [DESIGN...]
// TRACE defaults to traces/espresso.trace, ROUNDS to 9, DESIGNs to "pad". Each
// round replays the whole trace once through every contestant, in turn (so
// machine noise hits all alike); the table gives the median and best ns/op, the
// ops/s of the median, and the ratio of medians to glibc measured in this run.
// "null/glibc" is the replay loop's own overhead (target < 15%).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "core/instance.hpp"
#include "evaluate/replay.hpp"
#include "evaluate/trace.hpp"

using namespace evo;

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : std::string(EVOALLOC_SOURCE_DIR) + "/traces/espresso.trace";
  int rounds = argc > 2 ? std::atoi(argv[2]) : 9;
  std::vector<std::string> designs;
  for (int i = 3; i < argc; ++i) designs.emplace_back(argv[i]);
  if (designs.empty()) designs = {"pad"};
  const Trace t = bench::read_trace_or_exit(path, "bench_replay");
  auto hist = size_histogram(t);
  InstanceOptions io;
  io.size_histogram = hist;
  std::vector<std::string> names = {"glibc", "null"};
  for (const auto& d : designs) names.push_back(d);
  std::vector<std::vector<double>> secs(names.size());
  std::vector<std::uint64_t> footprint(names.size(), 0);
  // one warm-up round, not counted
  for (int r = -1; r < rounds; ++r) {
    for (std::size_t k = 0; k < names.size(); ++k) {
      ReplayResult res;
      if (k == 0) {
        res = replay_system(t);
      } else if (k == 1) {
        res = replay_null(t);
      } else {
        std::string err;
        Instance inst = Instance::create(names[k], io, &err);
        if (!inst) {
          std::fprintf(stderr, "bench_replay: %s: %s\n", names[k].c_str(), err.c_str());
          return 1;
        }
        res = replay(t, inst, {});
      }
      if (!res.ok) {
        std::fprintf(stderr, "bench_replay: %s: %s\n", names[k].c_str(), res.error.c_str());
        return 1;
      }
      footprint[k] = res.peak_footprint;
      if (r >= 0) secs[k].push_back(res.seconds);
    }
  }
  const double n = static_cast<double>(t.ops.size());
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double base = median(secs[0]);
  std::printf("trace %s: %zu ops, %d rounds\n", path.c_str(), t.ops.size(), rounds);
  std::printf("%-34s %12s %12s %14s %12s %16s\n", "allocator", "median ns/op", "best ns/op", "ops/s (median)",
              "vs glibc", "peak footprint");
  for (std::size_t k = 0; k < names.size(); ++k) {
    const double m = median(secs[k]);
    const double b = *std::min_element(secs[k].begin(), secs[k].end());
    std::printf("%-34s %12.2f %12.2f %14.3g %11.1f%% %16llu\n", names[k].c_str(), m * 1e9 / n, b * 1e9 / n, n / m,
                100.0 * m / base, static_cast<unsigned long long>(footprint[k]));
  }
  std::printf("replay loop overhead (null / glibc, medians): %.1f%%\n", 100.0 * median(secs[1]) / base);
  return 0;
}
