#include "evolve/merge.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "evolve/config.hpp"
#include "evolve/evolution.hpp"
#include "evolve/hypervolume.hpp"
#include "evolve/report.hpp"

namespace evo {

namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream o(path, std::ios::binary | std::ios::trunc);
  if (!o) throw std::runtime_error(path.string() + ": cannot write");
  o << text;
  o.flush();
  if (!o) throw std::runtime_error(path.string() + ": write failed");
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error(p.string() + ": cannot read");
  std::vector<std::string> out;
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) out.push_back(l);
  return out;
}

std::vector<ArchiveEntry> read_rows(const fs::path& p) {
  auto ls = read_lines(p);
  if (ls.empty() || ls[0] != metrics_csv_header())
    throw std::runtime_error(p.string() + ":1: expected the evoalloc front/archive CSV header");
  std::vector<ArchiveEntry> out;
  for (std::size_t i = 1; i < ls.size(); ++i) {
    ArchiveEntry e;
    std::string err;
    if (!parse_archive_csv_row(ls[i], e, &err))
      throw std::runtime_error(p.string() + ":" + std::to_string(i + 1) + ": " + err);
    out.push_back(std::move(e));
  }
  return out;
}

double hv_of(const std::vector<ArchiveEntry>& es, const std::array<double, 3>& ref) {
  Archive a;
  for (const ArchiveEntry& e : es)
    if (a.find(e.sentence) == nullptr) a.add(e);
  return front_hypervolume(a, ref);
}

// Loads one run folder into `r` (never throws: failures become r.status).
void load_run(MergedRun& r, std::vector<ArchiveEntry>& archive) {
  const fs::path d = r.dir;
  try {
    if (!fs::is_directory(d)) throw std::runtime_error("missing folder");
    if (fs::exists(d / "exit_status")) {
      auto st = read_lines(d / "exit_status");
      if (st.empty() || st[0] != "0") {
        std::string why = "exit " + (st.empty() ? std::string("?") : st[0]);
        if (fs::exists(d / "task.log")) {
          auto log = read_lines(d / "task.log");
          if (!log.empty()) why += ": " + log.back();
        }
        throw std::runtime_error(why);
      }
    }
    // A sweep task folder holds its run one or two levels down (evolve --out T).
    fs::path run = d;
    if (!fs::exists(d / "config.yaml")) {
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(d); it != fs::recursive_directory_iterator(); ++it) {
        if (it.depth() >= 2) it.disable_recursion_pending();
        if (it->path().filename() == "config.yaml") found.push_back(it->path().parent_path());
      }
      if (found.size() > 1) throw std::runtime_error("more than one run folder inside; give them one by one");
      if (found.empty()) throw std::runtime_error("not a run folder (no config.yaml)");
      run = found[0];
    }
    if (!fs::exists(run / "front.csv")) throw std::runtime_error("no front.csv (run did not finish)");
    Config c = load_config((run / "config.yaml").string());
    r.name = c.name;
    r.trace = c.trace;
    r.seed = c.seed;
    r.front = read_rows(run / "front.csv");
    if (fs::exists(run / "archive.csv")) archive = read_rows(run / "archive.csv");
    if (fs::exists(run / "history.csv")) {
      auto h = read_lines(run / "history.csv");
      if (h.size() >= 2) {
        HistoryRow last;
        if (parse_history_csv_row(h.back(), last)) {
          r.generations = last.generation;
          r.evaluations = last.evaluations;
          r.elapsed_s = last.elapsed_s;
        }
      }
    }
    r.ok = true;
    r.status = "ok";
  } catch (const std::exception& e) {
    r.ok = false;
    r.status = std::string("failed: ") + e.what();
  }
}

}  // namespace

std::size_t MergeResult::failed() const {
  std::size_t n = 0;
  for (const MergedRun& r : runs) n += r.ok ? 0 : 1;
  return n;
}

MergeResult merge_runs(const std::vector<std::string>& dirs, const std::optional<std::array<double, 3>>& reference) {
  MergeResult m;
  std::vector<std::vector<ArchiveEntry>> archives(dirs.size());
  std::map<std::string, int> label_count;
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    MergedRun r;
    r.dir = dirs[i];
    fs::path p = fs::path(dirs[i]).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    r.label = p.filename().string();
    if (label_count[r.label]++ > 0 || r.label.empty()) r.label = p.parent_path().filename().string() + "/" + r.label;
    load_run(r, archives[i]);
    m.runs.push_back(std::move(r));
  }
  // Common reference.
  if (reference) {
    m.reference = *reference;
  } else {
    std::array<double, 3> worst{0, 0, 0};
    for (const MergedRun& r : m.runs)
      for (const ArchiveEntry& e : r.front) {
        Fitness f = fitness_of(e.metrics);
        if (!f.feasible()) continue;
        for (int k = 0; k < 3; ++k) worst[k] = std::max(worst[k], f.obj[k]);
      }
    for (int k = 0; k < 3; ++k) m.reference[k] = worst[k] > 0 ? 1.1 * worst[k] : 1.0;
  }
  // Merged front (first run wins on equal designs).
  Archive all;
  std::vector<std::size_t> origin;
  for (std::size_t i = 0; i < m.runs.size(); ++i) {
    MergedRun& r = m.runs[i];
    if (!r.ok) continue;
    r.hypervolume = hv_of(r.front, m.reference);
    std::set<std::uint64_t> gens;
    for (const ArchiveEntry& e : archives[i]) gens.insert(e.generation);
    for (std::uint64_t g : gens) {
      std::vector<ArchiveEntry> upto;
      for (const ArchiveEntry& e : archives[i])
        if (e.generation <= g && fitness_of(e.metrics).feasible()) upto.push_back(e);
      r.hv_by_generation.emplace_back(g, hv_of(upto, m.reference));
    }
    for (const ArchiveEntry& e : r.front)
      if (all.find(e.sentence) == nullptr) {
        all.add(e);
        origin.push_back(i);
      }
  }
  auto front = all.front();
  std::stable_sort(front.begin(), front.end(), [&](std::size_t a, std::size_t b) {
    return all.entries()[a].metrics.speed < all.entries()[b].metrics.speed;
  });
  for (std::size_t i : front) {
    m.front.push_back(all.entries()[i]);
    m.front_run.push_back(origin[i]);
    m.runs[origin[i]].on_merged_front++;
  }
  // Spread per (config name, trace) over seeds.
  std::map<std::string, std::vector<std::size_t>> groups;
  std::vector<std::string> order;
  for (std::size_t i = 0; i < m.runs.size(); ++i) {
    const MergedRun& r = m.runs[i];
    std::string g = r.ok ? r.name + " @ " + fs::path(r.trace).filename().string() : "(failed runs)";
    if (!groups.count(g)) order.push_back(g);
    groups[g].push_back(i);
  }
  for (const std::string& g : order) {
    SpreadRow s;
    s.group = g;
    std::vector<double> hv;
    for (std::size_t i : groups[g]) {
      ++s.runs;
      if (m.runs[i].ok) hv.push_back(m.runs[i].hypervolume);
    }
    s.ok = hv.size();
    if (!hv.empty()) {
      s.min = *std::min_element(hv.begin(), hv.end());
      s.max = *std::max_element(hv.begin(), hv.end());
      for (double x : hv) s.mean += x / static_cast<double>(hv.size());
      double var = 0;
      for (double x : hv) var += (x - s.mean) * (x - s.mean);
      s.stdev = hv.size() > 1 ? std::sqrt(var / static_cast<double>(hv.size() - 1)) : 0.0;
    }
    m.spread.push_back(s);
  }
  return m;
}

bool write_merge(const std::string& out, const MergeResult& m, std::string* warning) {
  const fs::path o = out;
  std::error_code ec;
  fs::create_directories(o, ec);
  if (ec) throw std::runtime_error(out + ": cannot create folder: " + ec.message());

  std::string front = metrics_csv_header() + "\n";
  for (const ArchiveEntry& e : m.front) front += archive_csv_row(e) + "\n";
  write_file(o / "front.csv", front);

  std::string runs = "run,dir,name,trace,seed,status,generations,evaluations,front_size,hypervolume,on_merged_front,elapsed_s\n";
  for (const MergedRun& r : m.runs)
    runs += csv_quote(r.label) + ',' + csv_quote(r.dir) + ',' + csv_quote(r.name) + ',' + csv_quote(r.trace) + ',' +
            std::to_string(r.seed) + ',' + csv_quote(r.status) + ',' + std::to_string(r.generations) + ',' +
            std::to_string(r.evaluations) + ',' + std::to_string(r.front.size()) + ',' + format_double(r.hypervolume) +
            ',' + std::to_string(r.on_merged_front) + ',' + format_double(r.elapsed_s) + "\n";
  write_file(o / "runs.csv", runs);

  std::string spread = "group,runs,ok,hv_mean,hv_min,hv_max,hv_stdev\n";
  for (const SpreadRow& s : m.spread)
    spread += csv_quote(s.group) + ',' + std::to_string(s.runs) + ',' + std::to_string(s.ok) + ',' +
              format_double(s.mean) + ',' + format_double(s.min) + ',' + format_double(s.max) + ',' +
              format_double(s.stdev) + "\n";
  write_file(o / "spread.csv", spread);

  // Picture: hypervolume per generation, one line per ok run.
  std::string dat, titles;
  std::size_t blocks = 0;
  for (const MergedRun& r : m.runs) {
    if (!r.ok || r.hv_by_generation.empty()) continue;
    dat += "# " + r.label + "\n";
    for (auto [g, hv] : r.hv_by_generation) dat += std::to_string(g) + ' ' + format_double(hv) + "\n";
    dat += "\n\n";
    std::string t = r.label;
    std::replace(t.begin(), t.end(), ' ', '_');
    std::replace(t.begin(), t.end(), '"', '_');
    titles += (titles.empty() ? "" : " ") + t;
    ++blocks;
  }
  write_file(o / "runs.dat", dat);
  std::ostringstream gp;
  gp << "# gnuplot script of the run comparison (run: gnuplot runs.gp)\n"
     << "titles = \"" << titles << "\"\n"
     << "set xlabel 'generation'\nset ylabel 'hypervolume (common reference)'\n"
     << "set title \"" << m.runs.size() << " runs, " << m.failed() << " failed; merged front " << m.front.size()
     << " designs\" noenhanced\nset grid\nset key outside right noenhanced\n"
     << "plot for [i=0:" << (blocks ? blocks - 1 : 0) << "] 'runs.dat' index i using 1:2 with linespoints title word(titles, i+1)\n";
  write_file(o / "runs.gp", "set terminal pngcairo size 960,600\nset output 'runs.png'\n" + gp.str() +
                               "set terminal svg size 960,600 dynamic\nset output 'runs.svg'\nreplot\n");
  bool pic = false;
  if (blocks > 0) {
    const std::string cmd = "cd '" + o.string() + "' && gnuplot runs.gp >gnuplot.log 2>&1";
    pic = std::system(cmd.c_str()) == 0;
    if (!pic && warning) *warning = "gnuplot failed (see " + (o / "gnuplot.log").string() + "); no picture";
  }

  std::ostringstream r;
  r << "# evoalloc merge: " << m.runs.size() << " runs, " << m.failed() << " failed\n\n";
  r << "Hypervolumes use one reference point for all runs: " << table_number(m.reference[0], 4) << ", "
    << table_number(m.reference[1], 4) << ", " << table_number(m.reference[2], 4)
    << " (speed, fragmentation, quality).\n\n## Runs\n\n";
  r << "| run | status | name | trace | seed | generations | evaluations | front | hypervolume | on merged front |\n"
       "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const MergedRun& x : m.runs)
    r << "| " << x.label << " | " << x.status << " | " << x.name << " | "
      << fs::path(x.trace).filename().string() << " | " << x.seed << " | " << x.generations << " | "
      << x.evaluations << " | " << x.front.size() << " | " << (x.ok ? table_number(x.hypervolume, 4) : "–")
      << " | " << x.on_merged_front << " |\n";
  r << "\n## Spread over seeds\n\n| group | runs | ok | hv mean | min | max | stdev |\n|---|---|---|---|---|---|---|\n";
  for (const SpreadRow& s : m.spread)
    r << "| " << s.group << " | " << s.runs << " | " << s.ok << " | " << table_number(s.mean, 4) << " | "
      << table_number(s.min, 4) << " | " << table_number(s.max, 4) << " | " << table_number(s.stdev, 4)
      << " |\n";
  if (pic) r << "\n![hypervolume per generation](runs.png)\n";
  r << "\n## Merged front (" << m.front.size() << " designs)\n\n| # | design | speed | fragmentation | quality | run |\n"
       "|---|---|---|---|---|---|\n";
  for (std::size_t k = 0; k < m.front.size(); ++k) {
    const Metrics& x = m.front[k].metrics;
    r << "| " << k + 1 << " | `" << m.front[k].sentence << "` | " << table_number(x.speed, 3) << " | "
      << table_number(x.fragmentation, 4) << " | " << table_number(x.quality, 3) << " | "
      << m.runs[m.front_run[k]].label << " |\n";
  }
  write_file(o / "report.md", r.str());
  return pic || blocks == 0;
}

}  // namespace evo
