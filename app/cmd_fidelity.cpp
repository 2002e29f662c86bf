// app/cmd_fidelity.cpp — `evoalloc fidelity --run RUN [--top N] -- PROGRAM [ARGS...]`:
// does the search's score predict the real program?
//
// Takes N designs of a run (its front, spread evenly over the speed ranking; when the
// front is smaller, feasible designs of archive.csv fill up, spread the same way;
// with --from archive, N feasible designs of everything the run evaluated, spread over
// its speed ranking: the population the search itself ranks; only designs at most
// --max-slowdown times slower than the fastest, default 10, since the slowest of an
// archive can run the real program for hours; with --select fastest, the N fastest
// instead, by the speed score `export --pick fastest` ranks by: the near-ties the
// search cannot tell apart, for `export --pick program` to choose among on the
// program itself, evolve/pick.hpp),
// exports and builds each as a malloc library, re-measures each one's replay speed
// on the run's trace (measured ns/op, best of --repeats), then runs PROGRAM under
// glibc and every design (evaluate/program_bench.hpp, interleaved rounds,
// EVOALLOC_STATS=1 so each library reports its own peak footprint at exit), and
// reports, over the designs:
//   rho(modeled, wall)    Spearman's rho between the modeled speed (cycles/op) and the
//                         real wall time ratio to glibc (median over rounds)
//   rho(measured, wall)   the same for the measured replay speed (ns/op)
//   rho(.., cpu)          the same against the CPU-time ratio (user + sys)
//   rho(.., score)        with --score REGEX, the same against the program's own
//                         figure of merit (a throughput, read from its stdout as
//                         `evoalloc bench --score` does), as glibc's score / the design's
//   footprint             the replay's peak footprint (a replay of the whole trace the
//                         speed is re-measured on) against the library's own peak
//                         footprint in the real run (ratio real/replay per design, and
//                         rho(replay footprint, real max RSS))
// Files in OUT (default RUN/fidelity): fidelity.csv (one row per design: sentence,
// scores, real medians), fidelity.md (the table and the rhos), fidelity.png
// (scores against real wall time), bench/ (the bench's own files), libs/ (the
// exports, built as one project by build_exports: shared libraries only). Exit 0 when
// the report is written; 1 when a design cannot be exported, built or run (or, with
// --score, a run prints no score); 2 on usage errors.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>

#include "app/bench_cli.hpp"
#include "app/cli.hpp"
#include "core/export/exporter.hpp"
#include "core/instance.hpp"
#include "evaluate/metrics.hpp"
#include "evaluate/program_bench.hpp"
#include "evaluate/replay.hpp"
#include "evaluate/site_profile.hpp"
#include "evaluate/trace.hpp"
#include "evaluate/workload.hpp"
#include "evolve/pick.hpp"

namespace evo::cli {
namespace {

namespace fs = std::filesystem;

struct Candidate {
  std::string sentence;
  std::string origin;  // front.csv or archive.csv
  double modeled = 0, measured = 0;
  std::uint64_t replay_peak = 0;
  std::string label, lib;
  // Real program (medians over rounds).
  double wall_ratio = 0, cpu_ratio = 0, wall_s = 0;
  double score_ratio = 0;  // with --score: the program's own figure / glibc's (higher is better)
  double rss_kib = 0;
  std::uint64_t real_peak = 0;
};

/// `count` indices out of `n` sorted items, evenly spread (first and last included).
std::vector<std::size_t> spread_pick(std::size_t n, std::size_t count) {
  std::vector<std::size_t> out;
  if (count >= n) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  for (std::size_t k = 0; k < count; ++k)
    out.push_back(count == 1 ? 0 : static_cast<std::size_t>(std::llround(double(k) * double(n - 1) / double(count - 1))));
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}


/// The largest "peak N bytes" of the library's EVOALLOC_STATS lines in `text`.
std::uint64_t stats_peak(const std::string& text, const std::string& name) {
  const std::string head = "evoalloc " + name + ": footprint ";
  std::uint64_t best = 0;
  for (std::size_t at = text.find(head); at != std::string::npos; at = text.find(head, at + 1)) {
    unsigned long long footprint = 0, peak = 0;
    int used = 0;
    if (std::sscanf(text.c_str() + at + head.size(), "%llu bytes, peak %llu bytes%n", &footprint, &peak, &used) == 2 &&
        used > 0)
      best = std::max<std::uint64_t>(best, peak);
  }
  return best;
}

/// The design's peak footprint replaying the whole of `trace`, the trace its speed is
/// re-measured on (so the footprint compares like with like with the program run on
/// that trace's input, where the run's archive holds the peak of its trace_max_ops
/// prefix); 0 when the replay fails.
std::uint64_t replay_peak_of(const std::string& sentence, const Trace& trace, std::span<const SizeCount> hist,
                             std::span<const SiteLife> sites) {
  InstanceOptions io;
  io.size_histogram = hist;
  io.sites = sites;
  std::string err;
  Instance inst = Instance::create(sentence, io, &err);
  if (!inst) return 0;
  const ReplayResult r = replay(trace, inst);
  return r.ok ? r.peak_footprint : 0;
}

std::string fmt(double x, int prec = 3) {
  if (!std::isfinite(x)) return "n/a";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, x);
  return b;
}

}  // namespace

int cmd_fidelity(const std::vector<std::string>& args) {
  const auto [opts, cmd] = split_program(args);
  po::options_description desc("options");
  std::string run, out, trace_path, from = "front", select = "spread";
  double max_slowdown = 0;
  Count top{12}, runs{5}, warmup{1}, repeats{5}, jobs{2};
  ProgramRunArgs run_args;
  desc.add_options()
      ("run", po::value(&run), "an evolve run folder (front.csv, archive.csv, config.yaml)")
      ("top", po::value(&top), "designs to try, spread over the run's speed ranking (default 12)")
      ("select", po::value(&select), "spread (default: N designs spread evenly over the speed ranking, to "
                                     "check the score) or fastest (the N fastest by the run's speed score, to "
                                     "choose among them on the program: then `export --pick program`)")
      ("from", po::value(&from), "front (default: the run's front, filled up from archive.csv when smaller) or "
                                 "archive (every feasible design the run evaluated)")
      ("max-slowdown", po::value(&max_slowdown), "take only designs whose speed score is at most X times the "
                                                 "fastest's (default: 10 with --from archive, no limit otherwise)")
      ("runs,n", po::value(&runs), "counted rounds of the program under every design (default 5)")
      ("warmup", po::value(&warmup), "uncounted rounds first (default 1)")
      ("repeats", po::value(&repeats), "timed replays per measured speed, best kept (default 5)")
      ("trace", po::value(&trace_path), "trace to re-measure replay speed on (default: the run's config trace)")
      ("jobs,j", po::value(&jobs), "parallel compile jobs of the exports' build (default 2)")
      ("out,o", po::value(&out), "output folder (default RUN/fidelity)");
  add_program_run_options(desc, run_args, "design");
  po::variables_map vm;
  if (!parse(opts, desc, nullptr, 0, vm, "evoalloc fidelity --run RUN_DIR [--top N] [--runs K] [options] -- PROGRAM [ARGS...]",
             "Checks that a run's scores predict the real program: exports N designs of the run (its front,\n"
             "filled up from archive.csv when smaller), re-measures their replay speed on the run's trace, runs\n"
             "PROGRAM under glibc and every design (interleaved rounds, like `evoalloc bench`), and reports\n"
             "Spearman's rho between each speed score (modeled, measured) and the real wall-time and CPU-time\n"
             "ratios to glibc, and the replay's peak footprint against each library's own peak in the real run\n"
             "(EVOALLOC_STATS). With --score REGEX (a program that runs for a fixed time and prints its own\n"
             "throughput), the rho against that score is reported too. Each design is exported and\n"
             "re-measured under the thread model it was scored with (its threads= key, else the run's\n"
             "threaded_replay, else lock). Writes OUT/fidelity.csv, fidelity.md, fidelity.png.\n"
             "With --select fastest it tries the N fastest designs instead, and `evoalloc export --run RUN\n"
             "--pick program` then exports the one that ran PROGRAM best (its wall time, or its --score).\n"
             "See docs/metrics.md, section Fidelity."))
    return kExitOk;
  if (run.empty()) throw UsageError("--run RUN_DIR is required");
  require_program(cmd);
  if (top.value < 3) throw UsageError("--top must be at least 3 (a rank correlation needs 3 points)");
  if (select != "spread" && select != "fastest") throw UsageError("--select " + select + ": expected spread or fastest");
  if (from != "front" && from != "archive") throw UsageError("--from " + from + ": expected front or archive");
  if (vm.count("max-slowdown") && !(max_slowdown >= 1))
    throw UsageError("--max-slowdown must be at least 1 (a multiple of the fastest design's speed score)");
  if (!vm.count("max-slowdown") && from == "archive") max_slowdown = 10;
  if (runs.value < 1 || repeats.value < 1 || jobs.value < 1) throw UsageError("--runs, --repeats and --jobs must be >= 1");
  if (out.empty()) out = (fs::path(run) / "fidelity").string();
  BenchOptions bo = bench_options(runs.value, warmup.value, run_args, vm, (fs::path(out) / "bench" / "runs").string());
  bo.keep_stderr = true;
  bo.env.emplace_back("EVOALLOC_STATS", "1");
  const bool quiet = vm.count("quiet") > 0;
  auto say = [&](const std::string& s) {
    if (!quiet) std::cerr << "evoalloc fidelity: " << s << '\n';
  };

  // ---- the designs ----
  const MetricsTable front = read_metrics_table((fs::path(run) / "front.csv").string());
  std::vector<Candidate> cands;
  std::set<std::string> seen;
  auto take = [&](const MetricsTable& t, const char* origin, std::size_t want) {
    std::vector<std::size_t> idx;
    double best = 0;
    for (const auto& row : t.rows)
      if (row.usable() && (best == 0 || row.entry.metrics.speed < best)) best = row.entry.metrics.speed;
    for (std::size_t i = 0; i < t.rows.size(); ++i)
      if (t.rows[i].usable() && !seen.count(t.rows[i].entry.sentence) &&
          (max_slowdown == 0 || t.rows[i].entry.metrics.speed <= max_slowdown * best))
        idx.push_back(i);
    // spread: over the search's speed objective; fastest: by the score `export
    // --pick fastest` ranks by (the re-measured speed when the table has it).
    const std::vector<double> key = select == "fastest" ? speed_scores(t) : std::vector<double>{};
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
      return key.empty() ? t.rows[a].entry.metrics.speed < t.rows[b].entry.metrics.speed : key[a] < key[b];
    });
    std::vector<std::size_t> chosen;
    if (select == "fastest")
      for (std::size_t k = 0; k < idx.size() && k < want; ++k) chosen.push_back(k);
    else
      chosen = spread_pick(idx.size(), want);
    for (std::size_t k : chosen) {
      const Metrics& m = t.rows[idx[k]].entry.metrics;
      Candidate c;
      c.sentence = t.rows[idx[k]].entry.sentence;
      c.origin = origin;
      c.modeled = m.speed_modeled;
      c.replay_peak = m.peak_footprint;
      seen.insert(c.sentence);
      cands.push_back(c);
    }
  };
  if (from == "front") take(front, "front", top.value);
  if (from == "archive" && !fs::exists(fs::path(run) / "archive.csv"))
    throw RuntimeError(run + "/archive.csv: no such file (--from archive needs the run's archive)");
  if (cands.size() < top.value && fs::exists(fs::path(run) / "archive.csv")) {
    const MetricsTable archive = read_metrics_table((fs::path(run) / "archive.csv").string());
    take(archive, "archive", top.value - cands.size());
  }
  if (cands.size() < 3) throw RuntimeError(run + ": fewer than 3 feasible designs to compare");

  std::vector<std::string> extra;  // the run's extra_traces: fitted classes use the merged histogram, as its search did
  if (trace_path.empty()) {
    trace_path = run_trace(run);
    extra = run_extra_traces(run);
  }
  if (trace_path.empty()) throw UsageError("no --trace and no trace: in " + run + "/config.yaml");
  trace_path = resolve_path(trace_path);
  say("reading " + trace_path);
  const Trace trace = read_trace(trace_path);
  for (std::string& x : extra) x = resolve_path(x);
  const std::vector<SizeCount> hist = merge_with_traces(size_histogram(trace), extra);
  const std::vector<SiteLife> lives = site_lives(trace);  // routing designs
  const std::vector<ExportSite> sites = export_sites(trace, lives);

  // ---- export, build (one project: the common sources compiled once), measure ----
  std::vector<Contender> who{{"glibc", ""}};
  std::vector<ExportRequest> reqs;
  // Each design is exported and re-measured under the thread model it was scored
  // with: its own threads= key, else the run's threaded_replay, else lock.
  const std::string run_model = run_thread_model(run);
  for (std::size_t i = 0; i < cands.size(); ++i) {
    Candidate& c = cands[i];
    c.label = "fid" + std::to_string(i);
    ExportRequest& req = reqs.emplace_back();
    req.name = c.label;
    req.out_dir = (fs::path(out) / "libs" / c.label).string();
    req.source_dir = source_dir();
    req.origin = run + " (fidelity, " + c.origin + ")";
    req.histogram = hist;
    req.sites = sites;
    std::string err;
    if (!parse_spec(c.sentence, req.spec, &err)) throw RuntimeError(run + ": design '" + c.sentence + "': " + err);
    const std::string* own = req.spec.get("threads");
    req.threads = own != nullptr ? *own : run_model.empty() ? "lock" : run_model;
    if (!write_export(req, &err)) throw RuntimeError(err);
    c.lib = fs::absolute(fs::path(req.out_dir) / ("lib" + c.label + ".so")).string();
  }
  say("building " + std::to_string(reqs.size()) + " libraries in " + (fs::path(out) / "libs").string());
  if (std::string err; !build_exports(reqs, (fs::path(out) / "libs").string(), static_cast<int>(jobs.value), true, &err))
    throw RuntimeError(err);
  for (std::size_t i = 0; i < cands.size(); ++i) {
    Candidate& c = cands[i];
    say("replay " + std::to_string(i + 1) + "/" + std::to_string(cands.size()) + ": " + c.sentence);
    EvalOptions eo;
    eo.repeats = static_cast<int>(repeats.value);
    eo.threaded = !run_model.empty() && parse_thread_model(run_model, &eo.thread_model);
    eo.sites = lives;
    std::string err;
    c.measured = measure_speed_ns(c.sentence, trace, hist, eo, &err);
    if (std::isnan(c.measured)) throw RuntimeError("replay of '" + c.sentence + "' failed: " + err);
    if (const std::uint64_t peak = replay_peak_of(c.sentence, trace, hist, lives); peak > 0) c.replay_peak = peak;
    who.push_back({c.label, c.lib});
  }

  // ---- the real program ----
  const BenchReport rep = run_bench_showing(cmd, who, bo, quiet, "evoalloc fidelity: program");
  std::string err, warning;
  if (!write_bench_files(rep, (fs::path(out) / "bench").string(), &err, &warning)) throw RuntimeError(err);
  for (Candidate& c : cands) {
    const BenchRow* row = rep.find(c.label);
    c.wall_ratio = row->wall_ratio.median;
    c.cpu_ratio = row->cpu_ratio.median;
    c.wall_s = row->wall_s.median;
    c.rss_kib = row->rss_kib.median;
    c.score_ratio = rep.scored ? row->score_ratio.median : 0;
    for (const BenchRun& r : rep.log)
      if (r.label == c.label) c.real_peak = std::max(c.real_peak, stats_peak(r.stderr_text, c.label));
    if (!row->same_output) throw RuntimeError("the program's output under " + c.sentence + " differs from glibc's");
  }

  // ---- the report ----
  std::vector<double> modeled, measured, wall, cpu, score_time, rpeak, rss, fp_ratio;
  for (const Candidate& c : cands) {
    modeled.push_back(c.modeled);
    measured.push_back(c.measured);
    wall.push_back(c.wall_ratio);
    cpu.push_back(c.cpu_ratio);
    // glibc's score over the design's: like a time ratio, lower is faster
    score_time.push_back(c.score_ratio > 0 ? 1.0 / c.score_ratio : std::numeric_limits<double>::quiet_NaN());
    rpeak.push_back(static_cast<double>(c.replay_peak));
    rss.push_back(c.rss_kib);
    if (c.real_peak > 0 && c.replay_peak > 0) fp_ratio.push_back(double(c.real_peak) / double(c.replay_peak));
  }
  const double rho_mod_wall = spearman(modeled, wall), rho_meas_wall = spearman(measured, wall);
  const double rho_mod_cpu = spearman(modeled, cpu), rho_meas_cpu = spearman(measured, cpu);
  const double rho_fp_rss = spearman(rpeak, rss);
  const bool scored = rep.scored;
  const double rho_mod_score = scored ? spearman(modeled, score_time) : 0;
  const double rho_meas_score = scored ? spearman(measured, score_time) : 0;
  const Spread fp = spread_of(fp_ratio);

  fs::create_directories(out);
  {
    std::ofstream csv(fs::path(out) / "fidelity.csv");
    csv << kFidelityCsvHeader << '\n';
    for (const Candidate& c : cands)
      csv << c.label << ',' << c.origin << ",\"" << c.sentence << "\"," << format_double(c.modeled) << ','
          << format_double(c.measured) << ',' << c.replay_peak << ',' << format_double(c.wall_s) << ','
          << format_double(c.wall_ratio) << ',' << format_double(c.cpu_ratio) << ','
          << (scored ? format_double(c.score_ratio) : "") << ',' << format_double(c.rss_kib) << ',' << c.real_peak
          << '\n';
  }
  std::ostringstream md;
  md << "# Fidelity of " << run << "\n\nprogram: `";
  for (std::size_t i = 0; i < cmd.size(); ++i) md << (i ? " " : "") << cmd[i];
  md << "`, trace: `" << trace_path << "`, " << cands.size() << " designs, " << runs.value
     << " rounds (medians; ratios against glibc in the same round)\n\n"
     << "| score | rho vs real wall time | rho vs real CPU time |" << (scored ? " rho vs the program's score |" : "")
     << "\n|---|---:|---:|" << (scored ? "---:|" : "") << "\n"
     << "| modeled speed (cycles/op) | " << fmt(rho_mod_wall) << " | " << fmt(rho_mod_cpu) << " |"
     << (scored ? " " + fmt(rho_mod_score) + " |" : "") << "\n"
     << "| measured replay speed (ns/op) | " << fmt(rho_meas_wall) << " | " << fmt(rho_meas_cpu) << " |"
     << (scored ? " " + fmt(rho_meas_score) + " |" : "") << "\n\n"
     << (scored ? "The program's score (--score, higher is better) is ranked as glibc's score over the design's, "
                  "like a time ratio; `score vs glibc` below is the design's over glibc's.\n\n"
                : "")
     << "Footprint: real peak (the library's EVOALLOC_STATS) / replay peak, median " << fmt(fp.median, 2) << " ["
     << fmt(fp.min, 2) << "-" << fmt(fp.max, 2) << "] over " << fp_ratio.size()
     << " designs; rho(replay peak footprint, real max RSS) = " << fmt(rho_fp_rss) << "\n\n"
     << "| design | origin | modeled | measured ns/op | wall vs glibc | cpu vs glibc |"
     << (scored ? " score vs glibc |" : "") << " replay peak KiB | real peak KiB | max RSS MiB |\n"
     << "|---|---|---:|---:|---:|---:|" << (scored ? "---:|" : "") << "---:|---:|---:|\n";
  for (const Candidate& c : cands)
    md << "| `" << c.sentence << "` | " << c.origin << " | " << fmt(c.modeled, 2) << " | " << fmt(c.measured, 2) << " | "
       << fmt(c.wall_ratio) << " | " << fmt(c.cpu_ratio) << " |" << (scored ? " " + fmt(c.score_ratio) + " |" : "")
       << " " << c.replay_peak / 1024 << " | " << c.real_peak / 1024 << " | " << fmt(c.rss_kib / 1024, 1) << " |\n";
  std::ofstream(fs::path(out) / "fidelity.md") << md.str();
  {
    std::ofstream dat(fs::path(out) / "fidelity.dat");
    dat << "# modeled measured wall_ratio cpu_ratio\n";
    for (const Candidate& c : cands)
      dat << c.modeled << ' ' << c.measured << ' ' << c.wall_ratio << ' ' << c.cpu_ratio << '\n';
    std::ofstream gp(fs::path(out) / "fidelity.gp");
    gp << "# gnuplot script of fidelity.png (run: gnuplot fidelity.gp)\n"
       << "set terminal pngcairo size 900,420 noenhanced\nset output 'fidelity.png'\n"
       << "set multiplot layout 1,2 title 'speed scores against the real program (wall time / glibc)'\n"
       << "set grid\nset ylabel 'real wall time / glibc'\n"
       << "set title 'modeled (rho " << fmt(rho_mod_wall, 2) << ")'\nset xlabel 'modeled cycles/op'\n"
       << "plot 'fidelity.dat' using 1:3 with points pt 7 notitle\n"
       << "set title 'measured replay (rho " << fmt(rho_meas_wall, 2) << ")'\nset xlabel 'replay ns/op'\n"
       << "plot 'fidelity.dat' using 2:3 with points pt 7 notitle\nunset multiplot\n";
  }
  const std::string plot = "cd '" + out + "' && gnuplot fidelity.gp >gnuplot.log 2>&1";
  if (std::system(plot.c_str()) != 0) std::cerr << "evoalloc fidelity: warning: gnuplot failed (see " << out << "/gnuplot.log)\n";
  if (!warning.empty()) std::cerr << "evoalloc fidelity: warning: " << warning << '\n';
  std::cout << md.str() << "\n(files: " << out << "/fidelity.csv, fidelity.md, fidelity.png, bench/)\n";
  return kExitOk;
}

}  // namespace evo::cli
