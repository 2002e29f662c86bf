#include "evolve/report.hpp"

#include "evolve/pick.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace evo {

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream o(path, std::ios::binary | std::ios::trunc);
  if (!o) throw std::runtime_error(path + ": cannot write");
  o << text;
  o.flush();
  if (!o) throw std::runtime_error(path + ": write failed");
}

// The speed a front row is ranked and plotted at: the re-measured speed when the run
// settled a final front (it chose that front), else the search's speed. NaN when the
// row's re-measurement failed.
double front_speed(const RunState& s, const Metrics& m) {
  return s.final_front.empty() ? m.speed : m.speed_measured_ns;
}

std::vector<std::size_t> sorted_front(const RunState& s) {
  auto f = s.final_front.empty() ? s.archive.front() : s.final_front;
  auto key = [&](std::size_t i) {
    const double v = front_speed(s, s.archive.entries()[i].metrics);
    return std::isnan(v) ? INFINITY : v;  // a failed re-measurement last
  };
  std::stable_sort(f.begin(), f.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  return f;
}

// "family k=v k=v" -> family, [(k, v)]
std::pair<std::string, std::vector<std::pair<std::string, std::string>>> split_sentence(const std::string& s) {
  std::istringstream in(s);
  std::string family, tok;
  in >> family;
  std::vector<std::pair<std::string, std::string>> kv;
  while (in >> tok) {
    auto eq = tok.find('=');
    if (eq == std::string::npos)
      kv.emplace_back(tok, "");
    else
      kv.emplace_back(tok.substr(0, eq), tok.substr(eq + 1));
  }
  return {family, kv};
}

}  // namespace

std::string table_number(double x, int prec) {
  if (std::isnan(x)) return "–";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, x);
  return b;
}

void write_tables(const std::string& dir, const RunState& s) {
  std::string front = metrics_csv_header() + "\n";
  for (std::size_t i : sorted_front(s)) front += archive_csv_row(s.archive.entries()[i]) + "\n";
  write_file(dir + "/front.csv", front);
  std::string arch = metrics_csv_header() + "\n";
  for (const ArchiveEntry& e : s.archive.entries()) arch += archive_csv_row(e) + "\n";
  write_file(dir + "/archive.csv", arch);
  std::string hist = history_csv_header() + "\n";
  for (const HistoryRow& h : s.history) hist += history_csv_row(h) + "\n";
  write_file(dir + "/history.csv", hist);
}

bool write_report(const std::string& dir, const Config& cfg, const RunState& s, std::string* warning,
                  const std::string& resume_hint) {
  const auto front = sorted_front(s);
  const auto& E = s.archive.entries();
  const char* speed_unit = cfg.speed_mode == SpeedMode::Measured ? "ns/op" : "modeled cycles/op";

  // ---- picture ----
  std::string dat = "# speed fragmentation quality index\n";
  double fmin = INFINITY, fmax = 0, smin = INFINITY, smax = 0;
  for (std::size_t k = 0; k < front.size(); ++k) {
    const Metrics& m = E[front[k]].metrics;
    const double v = front_speed(s, m);
    const double x = std::isfinite(v) ? v : m.speed;  // a failed re-measurement at its search speed
    dat += format_double(x) + ' ' + format_double(m.fragmentation) + ' ' + format_double(m.quality) + ' ' +
           std::to_string(k + 1) + "\n";
    fmin = std::min(fmin, m.fragmentation);
    fmax = std::max(fmax, m.fragmentation);
    smin = std::min(smin, x);
    smax = std::max(smax, x);
  }
  write_file(dir + "/front.dat", dat);
  // A log axis when an objective spans more than a decade (a few hopeless designs on
  // the front would otherwise squeeze the interesting ones into one corner).
  const bool logy = fmin > 0 && fmax / fmin > 10;
  const bool logx = smin > 0 && smax / smin > 10;
  std::ostringstream gp;
  gp << "# gnuplot script of the front picture (run: gnuplot front.gp)\n"
     << "set xlabel 'speed (" << speed_unit << ", lower is better)'\n"
     << "set ylabel 'fragmentation (peak footprint / peak live - 1)'\n"
     << "set cblabel 'quality (locality cost/op)'\n"
     << "set title \"" << cfg.name << ": Pareto front, " << front.size() << " designs\" noenhanced\n"
     << "set grid\nset key off\nset palette rgbformulae 33,13,10\n"
     << (logy ? "set logscale y\n" : "") << (logx ? "set logscale x\n" : "")
     << "plot 'front.dat' using 1:2:3 with points pt 7 ps 1.6 lc palette, "
        "'' using 1:2:(sprintf('%d',$4)) with labels offset 0.9,0.6 font ',8'\n";
  const std::string script = gp.str();
  write_file(dir + "/front.gp", "set terminal pngcairo size 960,680\nset output 'front.png'\n" + script +
                                    "set terminal svg size 960,680 dynamic\nset output 'front.svg'\nreplot\n");
  bool pic = false;
  if (!front.empty()) {
    const std::string cmd = "cd '" + dir + "' && gnuplot front.gp >gnuplot.log 2>&1";
    pic = std::system(cmd.c_str()) == 0;
    if (!pic && warning) *warning = "gnuplot failed (see " + dir + "/gnuplot.log); report written without the picture";
  }

  // ---- report.md ----
  std::ostringstream r;
  r << "# evoalloc run: " << cfg.name << "\n\n";
  r << "- trace: `" << cfg.trace << "`" << (cfg.trace_max_ops ? " (first " + std::to_string(cfg.trace_max_ops) + " ops)" : "")
    << "\n";
  if (!cfg.extra_traces.empty()) {
    r << "- also scored on:";
    for (const std::string& t : cfg.extra_traces) r << " `" << t << "`";
    r << " (speed: geometric mean over the traces; fragmentation: the worst trace's; quality: the mean)\n";
  }
  r << "- grammar: `" << cfg.grammar << "`\n";
  if (cfg.exhaustive)
    r << "- mode: exhaustive, " << s.exhaustive_total << " designs\n";
  else
    r << "- mode: GE + NSGA-II, population " << cfg.population << ", offspring " << cfg.lambda() << ", generations "
      << s.generation << "/" << cfg.generations << ", seed " << cfg.seed << "\n";
  r << "- speed objective: " << speed_mode_name(cfg.speed_mode) << " (" << speed_unit << ")\n";
  r << "- evaluations: " << s.evaluations << ", cache hits: " << s.cache_hits
    << ", wall time: " << table_number(s.elapsed_s, 1) << " s\n";
  if (!s.history.empty())
    r << "- hypervolume (normalised by reference " << table_number(s.reference[0], 4) << ", "
      << table_number(s.reference[1], 4) << ", " << table_number(s.reference[2], 4)
      << "): " << table_number(s.history.front().hypervolume, 4) << " after generation 0, "
      << table_number(s.history.back().hypervolume, 4) << " at the end\n";
  r << "\nMetrics are defined in docs/metrics.md and evaluate/metrics.hpp.\n\n";
  r << "## The front\n\n";
  if (!s.final_front.empty()) {
    std::size_t siblings = 0;
    for (std::size_t i : s.final_front) siblings += E[i].generation > s.generation ? 1 : 0;
    r << "The search's front with each design's siblings under the other thread models, re-measured in the "
         "same rounds; the designs no other of them dominates by the re-measured speed (evolve/siblings.hpp), "
      << siblings << " of them siblings evaluated after the search. Sorted by the re-measured speed.\n\n";
  }
  if (pic) r << "![front](front.png)\n\n(SVG: [front.svg](front.svg); the numbers are the rows below.)\n\n";
  r << "| # | design | speed model (cyc/op) | speed measured (ns/op) | frag | internal | external | quality | pages |\n";
  r << "|---|---|---|---|---|---|---|---|---|\n";
  for (std::size_t k = 0; k < front.size(); ++k) {
    const ArchiveEntry& e = E[front[k]];
    const Metrics& m = e.metrics;
    r << "| " << k + 1 << " | `" << e.sentence << "` | " << table_number(m.speed_modeled, 2) << " | "
      << table_number(m.speed_measured_ns, 2) << " | " << table_number(m.fragmentation, 3) << " | "
      << table_number(m.frag_internal, 3) << " | " << table_number(m.frag_external, 3) << " | "
      << table_number(m.quality, 2) << " | " << m.pages << " |\n";
  }
  r << "\n## How the front's designs differ\n\n";
  if (front.empty()) {
    r << "No feasible design was found.\n";
  } else {
    std::map<std::string, std::size_t> families;
    std::map<std::string, std::map<std::string, std::vector<std::size_t>>> values;  // key -> value -> rows
    std::vector<std::string> order;
    for (std::size_t k = 0; k < front.size(); ++k) {
      auto [fam, kv] = split_sentence(E[front[k]].sentence);
      ++families[fam];
      for (auto& [key, val] : kv) {
        const std::string qk = fam + "." + key;
        if (!values.count(qk)) order.push_back(qk);
        values[qk][val].push_back(k + 1);
      }
    }
    r << "Families on the front:";
    for (auto& [f, n] : families) r << " " << f << " (" << n << ")";
    r << ".\n\n";
    std::vector<std::string> shared, varying;
    for (const std::string& qk : order) {
      const auto& vals = values[qk];
      const std::string fam = qk.substr(0, qk.find('.'));
      if (vals.size() == 1 && vals.begin()->second.size() == families[fam]) {
        std::string item = "`";  // piece by piece: "`" + std::string&& trips GCC 12's -Wrestrict false positive
        item += qk.substr(qk.find('.') + 1);
        shared.push_back(item + "=" + vals.begin()->first + "` (" + fam + ")");
      } else {
        varying.push_back(qk);
      }
    }
    if (!shared.empty()) {
      r << "Shared by every front design of its family: ";
      for (std::size_t i = 0; i < shared.size(); ++i) r << (i ? ", " : "") << shared[i];
      r << ".\n\n";
    }
    if (!varying.empty()) {
      r << "Where they differ (value: front rows, fastest first):\n\n";
      for (const std::string& qk : varying) {
        r << "- " << qk << ": ";
        bool first = true;
        for (auto& [val, rows] : values[qk]) {
          r << (first ? "" : "; ") << "`" << val << "` (";
          for (std::size_t i = 0; i < rows.size(); ++i) r << (i ? "," : "") << rows[i];
          r << ")";
          first = false;
        }
        r << "\n";
      }
      r << "\n";
    }
    const Metrics& fast = E[front.front()].metrics;
    const Metrics& lean = E[*std::min_element(front.begin(), front.end(), [&](std::size_t a, std::size_t b) {
                            return E[a].metrics.fragmentation < E[b].metrics.fragmentation;
                          })].metrics;
    r << "Trade-off: the fastest design costs " << table_number(fast.speed, 2) << " " << speed_unit
      << " at fragmentation " << table_number(fast.fragmentation, 3) << "; the leanest reaches fragmentation "
      << table_number(lean.fragmentation, 3) << " at " << table_number(lean.speed, 2) << " " << speed_unit
      << ".\n";
    // Designs as fast as the fastest within a replay's noise: the program can tell them apart.
    const double top = front_speed(s, fast);
    const auto tied = std::count_if(front.begin(), front.end(), [&](std::size_t i) {
      return front_speed(s, E[i].metrics) <= top * (1 + kSpeedTie);  // NaN (a failed re-measure) is never tied
    });
    if (tied > 1)
      r << "\n" << tied << " front designs run within " << std::lround(kSpeedTie * 100)
        << "% of the fastest's speed, too close for the replay to order them as the program would. Let the real program "
           "choose among them: `evoalloc fidelity --run "
        << dir << " --select fastest --top " << std::max<long>(3, tied)
        << " -- PROGRAM ARGS`, then `evoalloc export --run " << dir
        << " --pick program --name NAME --out DIR` (docs/metrics.md, section Fidelity).\n";
  }
  r << "\n## Files\n\n`config.yaml` (effective config), `front.csv`, `archive.csv`, `history.csv`, `front.png`/`front.svg` "
       "(`front.gp` re-draws them), "
    << resume_hint << ".\n";
  write_file(dir + "/report.md", r.str());
  return pic || front.empty();
}

}  // namespace evo
