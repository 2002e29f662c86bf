#include "evaluate/workload.hpp"

#include <cmath>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "evaluate/site_profile.hpp"

namespace evo {

std::vector<SizeCount> merge_histograms(std::span<const std::vector<SizeCount>> parts) {
  std::map<std::uint64_t, std::uint64_t> counts;
  for (const auto& h : parts)
    for (const SizeCount& sc : h) counts[sc.size] += sc.count;
  std::vector<SizeCount> out;
  out.reserve(counts.size());
  for (auto [s, c] : counts) out.push_back({s, c});
  return out;
}

std::vector<SizeCount> merge_with_traces(std::vector<SizeCount> first, std::span<const std::string> more) {
  std::vector<std::vector<SizeCount>> parts{std::move(first)};
  for (const std::string& p : more) parts.push_back(size_histogram(read_trace(p)));
  return merge_histograms(parts);
}

Workloads load_workloads(std::span<const std::string> paths,
                         const std::function<EvalOptions(const std::string& path, const Trace&)>& make_options) {
  if (paths.empty()) throw std::invalid_argument("load_workloads: no trace");
  Workloads w;
  w.items.reserve(paths.size());
  std::vector<std::vector<SizeCount>> hists;
  for (const std::string& p : paths) {
    Workload& x = w.items.emplace_back();
    x.path = p;
    x.trace = read_trace(p);
    if (x.trace.ops.empty()) throw std::runtime_error(p + ": the trace has no ops");
    x.sites = site_lives(x.trace);
    hists.push_back(size_histogram(x.trace));
  }
  w.histogram = merge_histograms(hists);
  for (Workload& x : w.items) {
    x.options = make_options(x.path, x.trace);
    x.options.sites = x.sites;
  }
  return w;
}

double geometric_mean(std::span<const double> xs) {
  if (xs.empty()) return Metrics::kNaN;
  if (xs.size() == 1) return xs[0] > 0 ? xs[0] : Metrics::kNaN;
  double log_sum = 0;
  for (double x : xs) {
    if (!(x > 0)) return Metrics::kNaN;
    log_sum += std::log(x);
  }
  return std::exp(log_sum / static_cast<double>(xs.size()));
}

namespace {

std::string file_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// Geometric mean of one field over the parts; NaN when any part lacks it.
double geo(std::span<const Metrics> parts, double Metrics::*field) {
  std::vector<double> xs;
  for (const Metrics& m : parts) xs.push_back(m.*field);
  return geometric_mean(xs);
}

}  // namespace

Metrics combine_metrics(std::span<const Metrics> parts, std::span<const std::string> paths) {
  if (parts.empty()) throw std::invalid_argument("combine_metrics: no metrics");
  if (parts.size() == 1) return parts[0];
  Metrics m;
  m.valid = m.feasible = true;
  double completed = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Metrics& p = parts[i];
    m.valid = m.valid && p.valid;
    m.feasible = m.feasible && p.feasible;
    if (m.reason.empty() && !p.reason.empty())  // an invalid design is invalid on any trace: no file name
      m.reason = (p.valid && i < paths.size() ? file_name(paths[i]) + ": " : std::string()) + p.reason;
    completed += p.completed;
    m.ops += p.ops;
    m.os_calls += p.os_calls;
    m.meta_touches += p.meta_touches;
    m.meta_l1_misses += p.meta_l1_misses;
    m.meta_l2_misses += p.meta_l2_misses;
    m.l1_misses += p.l1_misses;
    m.l2_misses += p.l2_misses;
    m.pages += p.pages;
    m.eval_seconds += p.eval_seconds;
  }
  m.completed = completed / static_cast<double>(parts.size());
  if (!m.feasible) return m;  // objectives of a design that did not finish every trace stay NaN

  m.speed = geo(parts, &Metrics::speed);
  m.speed_modeled = geo(parts, &Metrics::speed_modeled);
  m.speed_measured_ns = geo(parts, &Metrics::speed_measured_ns);
  const Metrics* worst = &parts[0];
  double quality = 0;
  for (const Metrics& p : parts) {
    if (p.fragmentation > worst->fragmentation) worst = &p;
    quality += p.quality;
  }
  m.fragmentation = worst->fragmentation;
  m.frag_internal = worst->frag_internal;
  m.frag_external = worst->frag_external;
  m.peak_footprint = worst->peak_footprint;
  m.peak_live_requested = worst->peak_live_requested;
  m.peak_live_usable = worst->peak_live_usable;
  m.quality = quality / static_cast<double>(parts.size());
  return m;
}

Metrics evaluate_workloads(std::string_view sentence, const Workloads& w) {
  std::vector<Metrics> parts;
  std::vector<std::string> paths;
  parts.reserve(w.size());
  for (const Workload& x : w.items) {
    parts.push_back(evaluate_design(sentence, x.trace, w.histogram, x.options));
    paths.push_back(x.path);
    if (!parts.back().feasible) break;  // infeasible already: the other traces would not change that
  }
  if (parts.size() < w.size() && w.size() > 1) {
    // Traces not replayed count as 0% completed in the mean.
    Metrics skipped;
    skipped.valid = parts.back().valid;
    for (std::size_t i = parts.size(); i < w.size(); ++i) {
      parts.push_back(skipped);
      paths.push_back(w.items[i].path);
    }
  }
  return combine_metrics(parts, paths);
}

double measure_workloads_ns(std::string_view sentence, const Workloads& w,
                            const std::function<void(EvalOptions&)>& adjust, std::string* err) {
  std::vector<double> xs;
  for (const Workload& x : w.items) {
    EvalOptions o = x.options;
    if (adjust) adjust(o);
    std::string e;
    const double ns = measure_speed_ns(sentence, x.trace, w.histogram, o, &e);
    if (std::isnan(ns)) {
      if (err) *err = (w.size() > 1 ? file_name(x.path) + ": " : std::string()) + e;
      return ns;
    }
    if (w.size() == 1) return ns;
    xs.push_back(ns);
  }
  return geometric_mean(xs);
}

}  // namespace evo
