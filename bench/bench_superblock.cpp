// bench/bench_superblock.cpp — speed of the superblock family on a real trace.
//
//   bench_superblock [--trace PATH] [--reps N] [--rows N] [--dispatch-reps N] [--dispatch-only]
//   (--dispatch-only = --rows 0: only part 2)
//
// 1. Replay time per op of every superblock row on the trace (default: the embedded
//    espresso trace), best of --reps fresh instances, against glibc's malloc replayed
//    in the same run (best of 3, measured before and after the rows; the better is
//    the baseline). Prints one line per row: id, choices, ns/op, ratio to glibc, peak
//    footprint; then the median and the best rows. Rows slower than 10x glibc are
//    timed once (their ratio is not in doubt).
// 2. Dispatch cost: the same composition driven by the same replay loop through its
//    registry row (function pointers, as evolution runs it) and called directly as
//    a template, both inlined into the loop and out of line (as the exported
//    library's malloc/free entry points run it). Reps are interleaved; medians and
//    the table's overhead in percent are printed. Target: overhead <= 5%.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "core/instance.hpp"
#include "core/superblock/heap.hpp"
#include "evaluate/replay.hpp"
#include "evaluate/trace.hpp"

using namespace evo;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

/// The replay loop used for both dispatch paths (only the callee differs).
template <class Call>
double drive(const Trace& t, Call& a, std::vector<void*>& slots) {
  std::fill(slots.begin(), slots.end(), nullptr);
  auto t0 = Clock::now();
  for (const Op& op : t.ops) {
    void*& slot = slots[op.object];
    std::size_t size = t.size_of(op);
    switch (op.kind) {
      case OpKind::Malloc: slot = a.allocate(size, 16); break;
      case OpKind::Calloc:
        slot = a.allocate(size, 16);
        if (slot) std::memset(slot, 0, size);
        break;
      case OpKind::Realloc: slot = a.reallocate(slot, size); break;
      case OpKind::Free:
        a.deallocate(slot);
        slot = nullptr;
        break;
      default: slot = a.allocate(size, op.align_log2 ? std::size_t{1} << op.align_log2 : 16); break;
    }
    if (slot != nullptr && size != 0) *static_cast<volatile char*>(slot) = 1;
  }
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  for (void*& p : slots) {
    a.deallocate(p);
    p = nullptr;
  }
  return s;
}

/// Calls T's allocator entry points: through the row's jump table for an Instance,
/// direct template calls the compiler may inline into the replay loop for a heap class.
template <class T>
struct Calls {
  T* h;
  void* allocate(std::size_t n, std::size_t al) { return h->allocate(n, al); }
  void deallocate(void* p) { h->deallocate(p); }
  void* reallocate(void* p, std::size_t n) { return h->reallocate(p, n); }
};
/// Direct template calls kept out of line, as the exported library's malloc/free are
/// (an external function per entry point, the template inlined inside it).
template <class H>
struct ExportCall {
  H* h;
  [[gnu::noinline]] void* allocate(std::size_t n, std::size_t al) { return h->allocate(n, al); }
  [[gnu::noinline]] void deallocate(void* p) { h->deallocate(p); }
  [[gnu::noinline]] void* reallocate(void* p, std::size_t n) { return h->reallocate(p, n); }
};

template <class H>
void dispatch_cost(const Trace& t, const char* text, int reps) {
  std::vector<void*> slots(t.objects);
  std::vector<double> table, direct, exported;
  for (int r = 0; r < reps; ++r) {
    std::string err;
    {
      Instance inst = Instance::create(text, {}, &err);
      if (!inst) {
        std::fprintf(stderr, "%s: %s\n", text, err.c_str());
        std::exit(1);
      }
      Calls<Instance> c{&inst};
      table.push_back(drive(t, c, slots));
    }
    {
      AllocatorSpec spec;
      parse_spec(text, spec, &err);
      H* h = H::create(spec, {}, &err);
      Calls<H> c{h};
      direct.push_back(drive(t, c, slots));
      delete h;
    }
    {
      AllocatorSpec spec;
      parse_spec(text, spec, &err);
      H* h = H::create(spec, {}, &err);
      ExportCall<H> c{h};
      exported.push_back(drive(t, c, slots));
      delete h;
    }
  }
  double mt = median(table), md = median(direct), me = median(exported);
  double n = static_cast<double>(t.ops.size());
  std::printf("  %s\n    table %6.1f ns/op | direct inlined %6.1f ns/op (table %+5.1f%%) | direct out-of-line %6.1f ns/op "
              "(table %+5.1f%%)\n",
              text, mt / n * 1e9, md / n * 1e9, (mt / md - 1) * 100, me / n * 1e9, (mt / me - 1) * 100);
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = std::string(EVOALLOC_SOURCE_DIR) + "/traces/espresso.trace";
  int reps = 2, dreps = 9;
  std::size_t max_rows = SIZE_MAX;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_superblock: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::string(argv[++i]);
    };
    if (a == "--trace") path = next();
    else if (a == "--reps") reps = std::max(1, std::atoi(next().c_str()));
    else if (a == "--rows") max_rows = static_cast<std::size_t>(std::atol(next().c_str()));
    else if (a == "--dispatch-reps") dreps = std::max(1, std::atoi(next().c_str()));
    else if (a == "--dispatch-only") max_rows = 0;
    else {
      std::fprintf(stderr, "usage: bench_superblock [--trace PATH] [--reps N] [--rows N] [--dispatch-reps N] [--dispatch-only]\n");
      return 2;
    }
  }
  const Trace t = bench::read_trace_or_exit(path, "bench_superblock");
  const double n = static_cast<double>(t.ops.size());
  std::printf("trace %s: %zu ops, peak live %.1f MiB\n", path.c_str(), t.ops.size(), t.peak_live / 1048576.0);

  auto glibc = [&] {
    double best = 1e300;
    for (int r = 0; r < 3; ++r) best = std::min(best, replay_system(t).seconds);
    return best;
  };
  double g0 = glibc();

  std::printf("\n== replay time per op, every superblock row (best of %d) vs glibc ==\n", reps);
  std::printf("%4s  %-58s %9s %7s %9s\n", "id", "bins alg pagemap cache", "ns/op", "x glibc", "peak MiB");
  struct Row {
    std::string name;
    double s;
    double peak;
  };
  std::vector<Row> results;
  for (const RegistryRow& row : rows()) {
    if (row.family != "superblock" || results.size() >= max_rows) continue;
    double best = 1e300;
    std::uint64_t peak = 0;
    for (int r = 0; r < reps; ++r) {
      std::string err;
      Instance inst = Instance::create(row.name, {}, &err);
      ReplayResult res = replay(t, inst);
      if (!res.ok) {
        std::printf("%4u  %s: %s\n", row.id, row.name.c_str(), res.error.c_str());
        break;
      }
      best = std::min(best, res.seconds);
      peak = res.peak_footprint;
      if (best > 10 * g0) break;  // a pathological row (e.g. cache=none churn): one run is enough
    }
    AllocatorSpec spec;
    std::string err;
    parse_spec(row.name, spec, &err);
    std::string choice;
    for (const char* k : {"bins", "alg", "pagemap", "cache"}) {
      if (!choice.empty()) choice += ' ';
      choice += *spec.get(k);
    }
    results.push_back({choice, best, peak / 1048576.0});
    std::printf("%4u  %-58s %9.1f %7.2f %9.1f\n", row.id, choice.c_str(), best / n * 1e9, best / g0, peak / 1048576.0);
    std::fflush(stdout);
  }
  double g1 = glibc();
  double g = std::min(g0, g1);
  std::vector<double> ratios;
  for (const Row& r : results) ratios.push_back(r.s / g);
  std::sort(results.begin(), results.end(), [](const Row& a, const Row& b) { return a.s < b.s; });
  std::printf("\nglibc: %.1f ns/op (before %.1f, after %.1f)\n", g / n * 1e9, g0 / n * 1e9, g1 / n * 1e9);
  std::printf("rows: %zu, median ratio to glibc %.2f, best %.2f, worst %.2f\n", results.size(), median(ratios),
              results.empty() ? 0 : results.front().s / g, results.empty() ? 0 : results.back().s / g);
  for (std::size_t i = 0; i < std::min<std::size_t>(5, results.size()); ++i)
    std::printf("  fastest #%zu: %-50s %.1f ns/op (%.2fx glibc), peak %.1f MiB\n", i + 1, results[i].name.c_str(),
                results[i].s / n * 1e9, results[i].s / g, results[i].peak);

  std::printf("\n== dispatch cost: registry row vs direct template call (median of %d, interleaved) ==\n", dreps);
  dispatch_cost<SuperblockHeap<FullnessListBin, BumpStackAlg, FlatPagemap, LazyCache>>(
      t, "superblock bins=fullness-list alg=bumpstack pagemap=flat cache=lazy", dreps);
  dispatch_cost<SuperblockHeap<UnorderedBin, StackAlg, Radix2Pagemap, EagerCache>>(
      t, "superblock bins=unordered alg=stack pagemap=radix2 cache=eager", dreps);
  dispatch_cost<SuperblockHeap<FullnessMtfBin, BitmapAlg, Radix3Pagemap, NoCache>>(
      t, "superblock bins=fullness-mtf alg=bitmap pagemap=radix3 cache=none", dreps);
  return 0;
}
