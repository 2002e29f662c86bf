// evaluate/workload.hpp — scoring one design on several traces at once.
//
// A program is rarely fitted well from one input: a design tuned on a short run
// may hoard memory on the long one, and a design tuned on a threaded program
// without remote frees may lose on one that passes objects between threads. A
// Workloads set holds every trace the search scores a design on (the config's
// `trace:` first, then `extra_traces:`, evolve/config.hpp), each with its own
// evaluation options (its measure cutoff comes from glibc's speed on that trace)
// and call-site lifetimes, and one size histogram merged over all of them: a design
// with fitted classes (classes=fitted:N) is built from that same histogram in every
// replay and in the export (`export --run` merges the run's traces the same way),
// so what was measured on each trace is what ships.
//
// Combined metrics (combine_metrics), with one trace exactly that trace's metrics:
//   speed, speed_modeled, speed_measured_ns   geometric mean over the traces. The
//       geometric mean is scale-free: ranking by it is ranking by the geometric
//       mean of each trace's ratio to any per-trace baseline (glibc's replay, the
//       best design), so a trace with slow ops does not outweigh one with fast ops.
//   fragmentation   the worst trace's (largest); frag_internal, frag_external,
//       peak_footprint, peak_live_requested and peak_live_usable are that trace's,
//       so the parts still add up and footprint / live - 1 is still fragmentation.
//   quality   arithmetic mean over the traces.
//   valid, feasible   every trace's; reason: the first failing trace, prefixed by
//       its file name; completed: the mean fraction of ops replayed.
//   counts (ops, os_calls, misses, pages, eval_seconds)   sums.
// Routing designs classify call sites by each trace's own lifetimes; the export
// ships the classification of the first trace.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "evaluate/metrics.hpp"
#include "evaluate/trace.hpp"

namespace evo {

struct Workload {
  Workload() = default;
  Workload(Workload&&) = default;
  Workload& operator=(Workload&&) = default;
  Workload(const Workload&) = delete;  // options.sites points into sites
  Workload& operator=(const Workload&) = delete;

  std::string path;                    ///< as given (messages, reports)
  Trace trace;
  std::vector<SiteLife> sites;         ///< site_lives(trace), for routing designs
  EvalOptions options;                 ///< options.sites points into `sites`
};

struct Workloads {
  std::vector<Workload> items;         ///< the first is the run's primary trace
  std::vector<SizeCount> histogram;    ///< merged over every trace (merge_histograms)
  std::size_t size() const { return items.size(); }
};

/// Sums the counts of equal sizes; sorted by size (as size_histogram).
std::vector<SizeCount> merge_histograms(std::span<const std::vector<SizeCount>> parts);
/// `first` (a trace's size_histogram) merged with those of the traces at `more`
/// (read_trace; throws naming the file): the histogram a run with extra_traces
/// fitted its classes to, for `export --run` and `fidelity --run`.
std::vector<SizeCount> merge_with_traces(std::vector<SizeCount> first, std::span<const std::string> more);

/// Reads every trace (read_trace; an empty trace throws "PATH: the trace has no
/// ops"), computes its site lifetimes and the merged histogram, and gives each the
/// options `make_options(path, trace)` returns (the caller's, e.g. with a measure cutoff).
/// Workload::options.sites is set to the workload's own lifetimes.
Workloads load_workloads(std::span<const std::string> paths,
                         const std::function<EvalOptions(const std::string& path, const Trace&)>& make_options);

/// The design on every workload (evaluate_design), combined as described above.
/// Stops at the first infeasible trace (the rest count as not replayed).
Metrics evaluate_workloads(std::string_view sentence, const Workloads& w);

/// Measured speed on every workload (measure_speed_ns with each workload's options,
/// passed through `adjust` first when given, e.g. to drop the measure cutoff),
/// combined by the geometric mean; NaN (and *err, prefixed by the trace's file name
/// when there are several) if any fails.
double measure_workloads_ns(std::string_view sentence, const Workloads& w,
                            const std::function<void(EvalOptions&)>& adjust = {}, std::string* err = nullptr);

/// Combines per-trace metrics (same order as the workloads; at least one).
Metrics combine_metrics(std::span<const Metrics> parts, std::span<const std::string> paths);

/// The geometric mean of positive values (NaN if any is NaN or <= 0, or none).
double geometric_mean(std::span<const double> xs);

}  // namespace evo
