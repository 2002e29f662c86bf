// evaluate/program_bench.cpp — interleaved rounds, ratios, tables and a picture.
#include "evaluate/program_bench.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace evo {
namespace fs = std::filesystem;

std::vector<Contender> reference_allocators(std::vector<std::string>* missing) {
  struct Ref {
    const char* label;
    const char* file;
  };
  static const Ref kRefs[] = {{"jemalloc", "libjemalloc.so.2"},
                              {"tcmalloc", "libtcmalloc_minimal.so.4"},
                              {"mimalloc", "libmimalloc.so.2"}};
  static const char* const kDirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
                                      "/usr/lib"};
  std::vector<Contender> out{{"glibc", "", true}};
  for (const Ref& r : kRefs) {
    std::string found;
    for (const char* d : kDirs) {
      const std::string p = std::string(d) + "/" + r.file;
      if (fs::exists(p)) {
        found = p;
        break;
      }
    }
    if (!found.empty()) out.push_back({r.label, found, true});
    else if (missing != nullptr) missing->push_back(r.label);
  }
  return out;
}

const BenchRow* BenchReport::find(const std::string& label) const {
  for (const BenchRow& r : rows)
    if (r.label == label) return &r;
  return nullptr;
}

Spread spread_of(std::vector<double> v) {
  Spread s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.min = v.front();
  s.max = v.back();
  return s;
}

Interval median_interval(std::vector<double> v, double level) {
  Interval r;
  if (v.empty()) return r;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  // P(Binomial(n, 1/2) = i), in log space (2^-n underflows past n = 1074).
  const auto pmf = [n](std::size_t i) {
    const double dn = static_cast<double>(n), di = static_cast<double>(i);
    return std::exp(std::lgamma(dn + 1) - std::lgamma(di + 1) - std::lgamma(dn - di + 1) - dn * std::log(2.0));
  };
  // [v_k, v_(n+1-k)] misses the median when fewer than k values fall on one side of
  // it: coverage 1 - 2 P(B <= k - 1). Start at the min-max (k = 1) and narrow while
  // the next interval still covers the level.
  std::size_t k = 1;
  double cdf = pmf(0);  // P(B <= k - 1)
  while (2 * (k + 1) <= n + 1) {
    const double next = cdf + pmf(k);
    if (1 - 2 * next < level) break;
    cdf = next;
    ++k;
  }
  r.lo = v[k - 1];
  r.hi = v[n - k];
  r.coverage = 1 - 2 * cdf;
  return r;
}

bool read_score(const std::string& text, const std::string& regex, double* out) {
  const std::regex re(regex, std::regex::ECMAScript);
  std::smatch m;
  if (!std::regex_search(text, m, re)) return false;
  const std::string num = m.size() > 1 && m[1].matched ? m[1].str() : m[0].str();
  char* end = nullptr;
  const double v = std::strtod(num.c_str(), &end);
  if (end == num.c_str() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

namespace {

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<std::size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    for (std::size_t k = i; k <= j; ++k) r[idx[k]] = static_cast<double>(i + j) / 2.0 + 1;
    i = j + 1;
  }
  return r;
}

std::string tail_of(const std::string& path, std::size_t lines) {
  std::ifstream f(path);
  std::vector<std::string> all;
  for (std::string l; std::getline(f, l);) all.push_back(l);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += "  | " + all[i] + "\n";
  return out;
}

std::string command_line(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

}  // namespace

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const std::size_t n = a.size();
  if (n < 3 || b.size() != n) return std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n, mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  if (saa == 0 || sbb == 0) return std::numeric_limits<double>::quiet_NaN();
  return sab / std::sqrt(saa * sbb);
}

BenchReport run_bench(const std::vector<std::string>& argv, const std::vector<Contender>& who, const BenchOptions& opt) {
  if (argv.empty()) throw std::runtime_error("no program to run");
  if (who.empty() || !who.front().preload.empty())
    throw std::runtime_error("the first contender must be glibc (no preload): it is the baseline");
  if (opt.runs < 1) throw std::runtime_error("runs must be at least 1");
  for (const Contender& c : who)
    if (!c.preload.empty() && !fs::exists(c.preload))
      throw std::runtime_error(c.label + ": no such library: " + c.preload);
  std::error_code ec;
  fs::create_directories(opt.work_dir, ec);
  BenchReport rep;
  rep.argv = argv;
  rep.runs = opt.runs;
  rep.scored = !opt.score_regex.empty();
  if (rep.scored) (void)std::regex(opt.score_regex, std::regex::ECMAScript);  // malformed: throws before any run
  const int rounds = opt.warmup + opt.runs;
  const std::size_t k = who.size();
  std::vector<std::vector<BenchRun>> by(k);  // counted runs per contender, by round
  std::vector<bool> is_reference(k);           // glibc (the baseline) and the marked references
  for (std::size_t i = 0; i < k; ++i) is_reference[i] = i == 0 || who[i].reference;
  std::uint64_t baseline_hash = 0;
  bool have_baseline_hash = false;
  for (int round = 0; round < rounds; ++round) {
    const bool counted = round >= opt.warmup;
    std::vector<BenchRun> this_round(k);
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t i = (j + static_cast<std::size_t>(round)) % k;  // rotated order
      const Contender& c = who[i];
      if (opt.progress) opt.progress(round, rounds, c.label);
      ProgramSpec ps;
      ps.argv = argv;
      ps.preload = c.preload;
      ps.env = opt.env;
      ps.stdin_path = opt.stdin_path;
      ps.stdout_path = opt.work_dir + "/stdout";
      ps.stderr_path = opt.work_dir + "/stderr";
      ps.timeout_s = opt.timeout_s;
      BenchRun run;
      run.round = round - opt.warmup;
      run.label = c.label;
      run.result = run_program(ps);
      if (!run.result.ok()) {
        // Appended piece by piece: `"'" + std::string&&` trips GCC 12's -Wrestrict false positive.
        std::string msg = "'";
        msg += command_line(argv);
        msg += "' under " + c.label + " (round " + std::to_string(round + 1) + "): " + run.result.status();
        const std::string t = tail_of(ps.stderr_path, 5);
        if (!t.empty()) msg += "; its stderr ends:\n" + t;
        throw std::runtime_error(msg);
      }
      run.output_hash = hash_file(ps.stdout_path);
      if (rep.scored) {
        std::ifstream f(ps.stdout_path);
        const std::string text((std::istreambuf_iterator<char>(f)), {});
        if (!read_score(text, opt.score_regex, &run.score))
          throw std::runtime_error("'" + command_line(argv) + "' under " + c.label + " (round " +
                                   std::to_string(round + 1) + "): no number matching --score '" + opt.score_regex +
                                   "' in its output (" + std::to_string(text.size()) + " bytes, in " +
                                   ps.stdout_path + ")");
      }
      if (opt.keep_stderr) {
        std::ifstream f(ps.stderr_path);
        std::string text((std::istreambuf_iterator<char>(f)), {});
        run.stderr_text = text.size() > 4096 ? text.substr(text.size() - 4096) : text;
      }
      if (i == 0 && !have_baseline_hash) {
        baseline_hash = run.output_hash;
        have_baseline_hash = true;
      }
      this_round[i] = run;
    }
    if (!counted) continue;
    const double bw = this_round[0].result.wall_s;
    const double bc = this_round[0].result.user_s + this_round[0].result.sys_s;
    const double bm = static_cast<double>(this_round[0].result.max_rss_kib);
    const double bs = this_round[0].score;
    for (std::size_t i = 0; i < k; ++i) {
      BenchRun& r = this_round[i];
      r.wall_ratio = bw > 0 ? r.result.wall_s / bw : 0;
      r.cpu_ratio = bc > 0 ? (r.result.user_s + r.result.sys_s) / bc : 0;
      r.rss_ratio = bm > 0 ? static_cast<double>(r.result.max_rss_kib) / bm : 0;
      r.score_ratio = bs > 0 ? r.score / bs : 0;
    }
    // The best reference of the round: least wall time, least max RSS, highest score.
    double fastest_wall = 0, least_rss = 0, best_score = 0;
    for (std::size_t i = 0; i < k; ++i) {
      if (!is_reference[i]) continue;
      const ProgramResult& p = this_round[i].result;
      if (p.wall_s > 0 && (fastest_wall == 0 || p.wall_s < fastest_wall)) fastest_wall = p.wall_s;
      const auto rss = static_cast<double>(p.max_rss_kib);
      if (rss > 0 && (least_rss == 0 || rss < least_rss)) least_rss = rss;
      if (this_round[i].score > best_score) best_score = this_round[i].score;
    }
    for (std::size_t i = 0; i < k; ++i) {
      BenchRun& r = this_round[i];
      r.wall_vs_fastest = fastest_wall > 0 ? r.result.wall_s / fastest_wall : 0;
      r.rss_vs_least = least_rss > 0 ? static_cast<double>(r.result.max_rss_kib) / least_rss : 0;
      r.score_vs_best = best_score > 0 ? r.score / best_score : 0;
      by[i].push_back(r);
    }
    // The log keeps the order the runs were made in.
    for (std::size_t j = 0; j < k; ++j) rep.log.push_back(this_round[(j + static_cast<std::size_t>(round)) % k]);
  }
  for (std::size_t i = 0; i < k; ++i) {
    BenchRow row;
    row.label = who[i].label;
    row.preload = who[i].preload;
    row.reference = is_reference[i];
    std::vector<double> w, wr, u, s, cr, m, mr, sc, scr, wf, ml, sb;
    for (const BenchRun& r : by[i]) {
      w.push_back(r.result.wall_s);
      wr.push_back(r.wall_ratio);
      u.push_back(r.result.user_s);
      s.push_back(r.result.sys_s);
      cr.push_back(r.cpu_ratio);
      m.push_back(static_cast<double>(r.result.max_rss_kib));
      mr.push_back(r.rss_ratio);
      sc.push_back(r.score);
      scr.push_back(r.score_ratio);
      wf.push_back(r.wall_vs_fastest);
      ml.push_back(r.rss_vs_least);
      sb.push_back(r.score_vs_best);
      if (opt.check_output && r.output_hash != baseline_hash) row.same_output = false;
    }
    row.wall_s = spread_of(w);
    row.wall_ratio = spread_of(wr);
    row.user_s = spread_of(u);
    row.sys_s = spread_of(s);
    row.cpu_ratio = spread_of(cr);
    row.rss_kib = spread_of(m);
    row.rss_ratio = spread_of(mr);
    if (rep.scored) row.score = spread_of(sc), row.score_ratio = spread_of(scr), row.score_vs_best = spread_of(sb);
    row.wall_vs_fastest = spread_of(wf);
    row.rss_vs_least = spread_of(ml);
    rep.rows.push_back(row);
  }
  for (BenchRow& row : rep.rows)
    row.best_ratio = rep.rows[0].wall_s.min > 0 ? row.wall_s.min / rep.rows[0].wall_s.min : 0;
  // Paired against each reference: by[i][n] and by[j][n] ran in the same round.
  const auto paired = [&](std::size_t i, std::size_t j, auto figure) {
    std::vector<double> q;
    for (std::size_t n = 0; n < by[i].size() && n < by[j].size(); ++n) {
      const double b = figure(by[j][n]);
      if (b > 0) q.push_back(figure(by[i][n]) / b);
    }
    return std::make_pair(q.empty() ? 0.0 : spread_of(q).median, median_interval(q));
  };
  const auto wall = [](const BenchRun& b) { return b.result.wall_s; };
  const auto rss = [](const BenchRun& b) { return static_cast<double>(b.result.max_rss_kib); };
  const auto score = [](const BenchRun& b) { return b.score; };
  for (std::size_t i = 0; i < k; ++i) {
    BenchRow& row = rep.rows[i];
    if (row.reference) continue;
    bool first = true;
    for (std::size_t j = 0; j < k; ++j) {
      if (!is_reference[j]) continue;
      const auto [w, wci] = paired(i, j, wall);
      const auto [m, mci] = paired(i, j, rss);
      if (first || w > row.paired_wall) row.paired_wall = w, row.paired_wall_ref = who[j].label, row.paired_wall_ci = wci;
      if (first || m > row.paired_rss) row.paired_rss = m, row.paired_rss_ref = who[j].label, row.paired_rss_ci = mci;
      if (rep.scored) {
        const auto [sc, sci] = paired(i, j, score);
        if (first || sc < row.paired_score)
          row.paired_score = sc, row.paired_score_ref = who[j].label, row.paired_score_ci = sci;
      }
      first = false;
    }
  }
  return rep;
}

namespace {
/// "[lo-hi]" of a paired figure's interval, "[lo-hi]*" when it is the min-max of
/// too few rounds for 95%.
std::string interval_cell(const Interval& ci, int digits) {
  char b[80];
  std::snprintf(b, sizeof b, "[%.*f-%.*f]%s", digits, ci.lo, digits, ci.hi, ci.coverage < 0.95 ? "*" : "");
  return b;
}
}  // namespace

std::string bench_markdown(const BenchReport& r) {
  std::ostringstream o;
  char buf[640];
  o << "program: `" << command_line(r.argv) << "`  (" << r.runs
    << " interleaved rounds; medians, [min-max]; ratios against glibc in the same round"
    << (r.scored ? "; score: read from the program's output, higher is better" : "") << ")\n\n";
  o << "| allocator |" << (r.scored ? " score | score vs glibc |" : "")
    << " wall s | wall vs glibc | best vs glibc | user s | sys s | cpu vs glibc | max RSS MiB | RSS vs glibc "
       "| output |\n";
  o << "|---|" << (r.scored ? "---:|---:|" : "") << "---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const BenchRow& row : r.rows) {
    o << "| " << row.label << " |";
    if (r.scored) {
      // Throughputs run to millions: whole numbers from 1000 on, else 4 significant digits.
      std::snprintf(buf, sizeof buf, row.score.median >= 1000 ? " %.0f | %.3f [%.3f-%.3f] |" : " %.4g | %.3f [%.3f-%.3f] |",
                    row.score.median, row.score_ratio.median, row.score_ratio.min, row.score_ratio.max);
      o << buf;
    }
    std::snprintf(buf, sizeof buf,
                  " %.3f | %.3f [%.3f-%.3f] | %.3f | %.3f | %.3f | %.3f [%.3f-%.3f] | %.1f | %.2f | %s |\n",
                  row.wall_s.median, row.wall_ratio.median, row.wall_ratio.min,
                  row.wall_ratio.max, row.best_ratio, row.user_s.median, row.sys_s.median, row.cpu_ratio.median,
                  row.cpu_ratio.min, row.cpu_ratio.max, row.rss_kib.median / 1024.0, row.rss_ratio.median,
                  row.same_output ? "same" : "DIFFERS");
    o << buf;
  }
  std::size_t refs = 0;
  for (const BenchRow& row : r.rows) refs += row.reference ? 1 : 0;
  if (refs >= 2 && refs < r.rows.size()) {
    std::string names;
    for (const BenchRow& row : r.rows)
      if (row.reference) {
        if (!names.empty()) names += ", ";
        names += row.label;
      }
    o << "\nAgainst the best reference of each round (" << names
      << "): wall time over the least wall time (<= 1: as fast as the fastest or faster)"
      << (r.scored ? ", score over the highest score (>= 1: as good as the best or better)" : "")
      << ", max RSS over the least max RSS; median [min-max] over the rounds. The least of several noisy "
         "runs is biased low, so the judge is the paired figure: for each reference, the median over rounds of "
         "the ratio to that reference in the same round; the worst of them, with that reference named, and in "
         "brackets a 95% confidence interval of that median (order statistics of the paired ratios; with fewer "
         "than 6 rounds, the min-max, marked *). A bar inside the brackets is one this bench has not decided: "
         "more rounds narrow them\n\n";
    o << "| allocator | wall vs fastest | paired wall |" << (r.scored ? " score vs best | paired score |" : "")
      << " RSS vs least | paired RSS |\n";
    o << "|---|---:|---:|" << (r.scored ? "---:|---:|" : "") << "---:|---:|\n";
    for (const BenchRow& row : r.rows) {
      if (row.reference) continue;
      std::snprintf(buf, sizeof buf, "| %s | %.3f [%.3f-%.3f] | %.3f (%s) %s |", row.label.c_str(),
                    row.wall_vs_fastest.median, row.wall_vs_fastest.min, row.wall_vs_fastest.max, row.paired_wall,
                    row.paired_wall_ref.c_str(), interval_cell(row.paired_wall_ci, 3).c_str());
      o << buf;
      if (r.scored) {
        std::snprintf(buf, sizeof buf, " %.3f [%.3f-%.3f] | %.3f (%s) %s |", row.score_vs_best.median,
                      row.score_vs_best.min, row.score_vs_best.max, row.paired_score, row.paired_score_ref.c_str(),
                      interval_cell(row.paired_score_ci, 3).c_str());
        o << buf;
      }
      std::snprintf(buf, sizeof buf, " %.2f [%.2f-%.2f] | %.2f (%s) %s |\n", row.rss_vs_least.median,
                    row.rss_vs_least.min, row.rss_vs_least.max, row.paired_rss, row.paired_rss_ref.c_str(),
                    interval_cell(row.paired_rss_ci, 2).c_str());
      o << buf;
    }
  }
  return o.str();
}

bool write_bench_files(const BenchReport& r, const std::string& dir, std::string* err, std::string* warning) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  auto open = [&](const std::string& name, std::ofstream& f) {
    f.open(dir + "/" + name);
    if (!f && err) *err = "cannot write " + dir + "/" + name;
    return static_cast<bool>(f);
  };
  std::ofstream csv, md, dat, gp;
  if (!open("bench.csv", csv) || !open("bench.md", md) || !open("bench.dat", dat) || !open("bench.gp", gp)) return false;
  csv << "round,label,wall_s,user_s,sys_s,max_rss_kib,wall_ratio,cpu_ratio,rss_ratio,output_hash,wall_vs_fastest,"
         "rss_vs_least"
      << (r.scored ? ",score,score_ratio,score_vs_best" : "") << "\n";
  for (const BenchRun& b : r.log) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%d,%s,%.6f,%.6f,%.6f,%llu,%.6f,%.6f,%.6f,%016llx", b.round, b.label.c_str(),
                  b.result.wall_s, b.result.user_s, b.result.sys_s,
                  static_cast<unsigned long long>(b.result.max_rss_kib), b.wall_ratio, b.cpu_ratio, b.rss_ratio,
                  static_cast<unsigned long long>(b.output_hash));
    csv << buf;
    std::snprintf(buf, sizeof buf, ",%.6f,%.6f", b.wall_vs_fastest, b.rss_vs_least);
    csv << buf;
    if (r.scored) {
      std::snprintf(buf, sizeof buf, ",%.9g,%.6f,%.6f", b.score, b.score_ratio, b.score_vs_best);
      csv << buf;
    }
    csv << '\n';
  }
  md << bench_markdown(r);
  // The left panel: the score ratio when the program reports one (higher is better),
  // else the wall-time ratio.
  dat << "# label " << (r.scored ? "score" : "wall") << "_ratio_median min max rss_ratio_median\n";
  for (const BenchRow& row : r.rows) {
    const Spread& left = r.scored ? row.score_ratio : row.wall_ratio;
    dat << '"' << row.label << "\" " << left.median << ' ' << left.min << ' ' << left.max << ' '
        << row.rss_ratio.median << '\n';
  }
  gp << "# gnuplot script of bench.png (run: gnuplot bench.gp)\n"
     << "set terminal pngcairo size 900,480 noenhanced\nset output 'bench.png'\n"
     << "set multiplot layout 1,2 title '" << (r.scored ? "score" : "wall time")
     << " and max RSS vs glibc (same rounds; bars: median, whiskers: min-max)'\n"
     << "set style fill solid 0.6\nset boxwidth 0.6\nset xtics rotate by -30\nset grid ytics\n"
     << (r.scored ? "set title 'score / glibc (higher is better)'\n" : "set title 'wall time / glibc'\n")
     << "set yrange [0:*]\n"
     << "plot 'bench.dat' using 0:2:xtic(1) with boxes notitle, '' using 0:2:3:4 with yerrorbars lc rgb 'black' "
        "pt -1 notitle, 1 with lines dt 2 lc rgb 'gray' notitle\n"
     << "set title 'max RSS / glibc'\n"
     << "plot 'bench.dat' using 0:5:xtic(1) with boxes lc rgb '#d08020' notitle, 1 with lines dt 2 lc rgb 'gray' "
        "notitle\n"
     << "unset multiplot\n";
  csv.close(), md.close(), dat.close(), gp.close();
  if (!csv || !md || !dat || !gp) {
    if (err) *err = "cannot write the bench files in " + dir;
    return false;
  }
  const std::string cmd = "cd '" + dir + "' && gnuplot bench.gp >gnuplot.log 2>&1";
  if (std::system(cmd.c_str()) != 0 && warning != nullptr)
    *warning = "gnuplot failed (see " + dir + "/gnuplot.log); bench.png not drawn";
  return true;
}

}  // namespace evo
