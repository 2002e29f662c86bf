// evaluate/program_bench.hpp — one real program under several allocators, side by side.
//
// run_bench(argv, contenders, options) runs the program `runs` times under every
// contender (LD_PRELOAD of its library; the first contender must be glibc, i.e. no
// preload: it is the baseline), in interleaved rounds: each round runs every
// contender once, the order rotated by one each round, so that machine noise and
// position effects spread evenly. `warmup` extra rounds run first and are not
// counted (file cache, CPU frequency). Per round, a contender's wall time and
// max RSS are divided by the baseline's of the same round; the report gives, per
// contender, the median and min-max of wall time, of that ratio, of user and
// system CPU time, of the CPU-time (user + sys) ratio and of max RSS (KiB). On a
// shared machine the CPU-time ratio of a single-threaded program is the steadier
// figure (time spent descheduled is not in it); wall time is the judge. The
// best-of ratio (the contender's fastest run over glibc's fastest) is the least
// disturbed estimate for a deterministic program on a noisy machine. The program's stdout in every run is
// hashed and compared with the baseline's first run ("same output"), unless
// check_output is off (programs whose output varies run to run).
// Programs that run for a fixed time and print their throughput (mimalloc-bench's
// larson and xmalloc-test, most server benchmarks) are judged by that figure, not by
// wall time: with score_regex set, every run's stdout must match it (ECMAScript
// syntax; the first capture group, else the whole match, read as a number) and the
// report adds that score, higher is better, and its ratio to glibc's in the same
// round (score vs glibc > 1: faster than glibc). A run whose output has no match
// stops the bench like a failed run.
// A run that fails (cannot start, non-zero exit, signal, timeout) stops the bench
// with std::runtime_error naming the contender, the round, the status and the
// last lines of its stderr.
//
// Against the best reference: glibc and the installed reference allocators
// (Contender::reference) are what a user could preload today, and an exported
// library is worth shipping only if it beats the best of them, round by round.
// Every run also gets its wall time over the least wall time of the references in
// the same round (wall vs fastest: <= 1 ties or beats them all), its max RSS over
// their least max RSS (RSS vs least), and with a score, its score over their
// highest (score vs best: >= 1 ties or beats them all); the Markdown adds a table
// of these for the contenders that are not references. Taken per round, so a
// burst of load that slows a whole round cancels out as it does for glibc's ratios.
// That per-round best is the least of several noisy draws, though, so it is biased
// against the contender: a copy of a reference preloaded as a contender scores
// above 1 (1.015 and 1.029 for jemalloc and mimalloc on `fdfind -j 2 -u . /usr`,
// 15 rounds, 2026-12-05). Hence the paired figures (BenchRow::paired_*), the judge:
// for each reference, the median over rounds of the contender's figure over that
// reference's in the same round, and the worst of these over the references (the
// reference the contender does worst against, named): paired wall <= 1 means
// at least as fast as every reference, by the median of paired rounds. Each comes
// with a 95% confidence interval of that median (median_interval: order statistics
// of the paired ratios, no assumption about their distribution). A bar inside the
// interval is one this bench has not decided: on a noisy program (larson on a shared
// 2-core VM: paired ratios from 0.5 to 1.8 in one bench, 2026-12-07) 31 rounds left
// a median of 0.90 inside 0.76-1.07, and only more rounds narrow it.
//
// Files (write_bench_files, DIR): bench.csv (one row per run: round, label,
// wall_s, user_s, sys_s, max_rss_kib, wall_ratio, cpu_ratio, rss_ratio, output_hash,
// wall_vs_fastest, rss_vs_least, and with a score: score, score_ratio, score_vs_best),
// bench.md (the table and the command), bench.dat + bench.gp + bench.png (a bar
// per contender: median wall ratio with its min-max, and the RSS ratio; gnuplot,
// skipped with a warning when it is missing).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "evaluate/program_run.hpp"

namespace evo {

struct Contender {
  std::string label;
  std::string preload;     ///< library path for LD_PRELOAD; "" = glibc (the baseline)
  bool reference = false;  ///< one of the allocators a user has today (the baseline always is)
};

/// glibc plus the general-purpose allocators a user could preload instead (Debian
/// packages libjemalloc2, libtcmalloc-minimal4, libmimalloc2.0), those installed;
/// the labels of missing ones are appended to *missing.
std::vector<Contender> reference_allocators(std::vector<std::string>* missing = nullptr);

struct BenchOptions {
  int runs = 5;            ///< counted rounds
  int warmup = 1;          ///< uncounted rounds first
  double timeout_s = 0;    ///< per run; 0 = none
  std::vector<std::pair<std::string, std::string>> env;  ///< extra environment for every run
  std::string stdin_path = "/dev/null";
  std::string work_dir;    ///< scratch folder for the runs' stdout/stderr (required)
  bool check_output = true;
  bool keep_stderr = false;  ///< keep each counted run's stderr (its last 4 KiB) in BenchRun::stderr_text
  std::string score_regex;   ///< "": no score; else the score read from each run's stdout (see above)
  /// Called before each run: (round, rounds in all incl. warm-up, label).
  std::function<void(int, int, const std::string&)> progress;
};

struct BenchRun {
  int round = 0;  ///< 0-based among counted rounds
  std::string label;
  ProgramResult result;
  std::uint64_t output_hash = 0;
  double wall_ratio = 0;  ///< vs the baseline's run of the same round
  double cpu_ratio = 0;   ///< (user + sys) vs the baseline's of the same round
  double rss_ratio = 0;
  double score = 0;        ///< with BenchOptions::score_regex: the figure read from stdout
  double score_ratio = 0;  ///< score / the baseline's score of the same round (higher is better)
  double wall_vs_fastest = 0;  ///< wall_s / the least wall_s of the round's references
  double rss_vs_least = 0;     ///< max RSS / the least max RSS of the round's references
  double score_vs_best = 0;    ///< score / the highest score of the round's references
  std::string stderr_text;  ///< with BenchOptions::keep_stderr: the end of the run's stderr
};

struct Spread {
  double median = 0, min = 0, max = 0;
};

/// A confidence interval of a median (median_interval): [lo, hi] holds the median
/// of the distribution the values were drawn from with probability `coverage`.
struct Interval {
  double lo = 0, hi = 0;
  double coverage = 0;  ///< 0 for no values
};

struct BenchRow {
  std::string label, preload;
  Spread wall_s, wall_ratio, user_s, sys_s, cpu_ratio, rss_kib, rss_ratio;
  Spread score, score_ratio;  ///< with a score regex; else zeros
  Spread wall_vs_fastest, rss_vs_least, score_vs_best;  ///< against the best reference (above)
  /// Paired against each reference (above): the worst over the references of the
  /// median over rounds of this row's figure over that reference's in the same
  /// round; *_ref names that reference. Zero (and "") for a reference row.
  double paired_wall = 0, paired_rss = 0, paired_score = 0;
  std::string paired_wall_ref, paired_rss_ref, paired_score_ref;
  /// The 95% confidence interval of each paired figure (against the reference named).
  Interval paired_wall_ci, paired_rss_ci, paired_score_ci;
  bool reference = false;
  double best_ratio = 0;  ///< fastest run / glibc's fastest run (noise only ever adds time)
  bool same_output = true;
};

struct BenchReport {
  std::vector<std::string> argv;
  int runs = 0;
  bool scored = false;         ///< runs carry a score (BenchOptions::score_regex)
  std::vector<BenchRun> log;   ///< every counted run, in the order they ran
  std::vector<BenchRow> rows;  ///< one per contender, in the contenders' order
  const BenchRow* find(const std::string& label) const;
};

BenchReport run_bench(const std::vector<std::string>& argv, const std::vector<Contender>& contenders,
                      const BenchOptions& opt);

/// The Markdown table (and the command line above it).
std::string bench_markdown(const BenchReport& r);
/// Writes bench.csv, bench.md, bench.dat, bench.gp and (gnuplot) bench.png into dir.
/// False + *err when a file cannot be written; a gnuplot failure is only *warning.
bool write_bench_files(const BenchReport& r, const std::string& dir, std::string* err, std::string* warning);

Spread spread_of(std::vector<double> v);
/// A distribution-free confidence interval of the median of the values v were drawn
/// from (independently, from one continuous distribution): sorted, [v_k, v_(n+1-k)]
/// (1-based) with the largest k whose coverage, 1 - 2 P(Binomial(n, 1/2) < k), is at
/// least `level`. With too few values for any such k (n < 6 at 0.95) it is the
/// min-max, with its coverage 1 - 2^(1-n) below the level.
Interval median_interval(std::vector<double> v, double level = 0.95);
/// The score in `text` by `regex` (see BenchOptions::score_regex): false when there is
/// no match or the match is not a number. std::regex_error for a malformed regex.
bool read_score(const std::string& text, const std::string& regex, double* out);
/// Spearman's rank correlation (average ranks for ties); NaN for fewer than 3
/// points or a constant series.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace evo
