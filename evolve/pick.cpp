// evolve/pick.cpp — see evolve/pick.hpp.
#include "evolve/pick.hpp"

#include "evolve/config.hpp"
#include "evolve/report.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <fstream>
#include <limits>
#include <stdexcept>

namespace evo {

MetricsTable read_metrics_table(const std::string& path) {
  MetricsTable t;
  t.path = path;
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open (is it an evolve run folder?)");
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(path + ":1: empty file, expected a CSV header");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  t.header = csv_split(line);
  if (line != metrics_csv_header())
    throw std::runtime_error(path + ":1: not the header evolve writes (" + std::to_string(t.header.size()) +
                             " columns; written by another version?)");
  std::size_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    TableRow r;
    std::string err;
    if (!parse_archive_csv_row(line, r.entry, &err)) throw std::runtime_error(path + ":" + std::to_string(lineno) + ": " + err);
    r.fields = csv_split(line);
    t.rows.push_back(std::move(r));
  }
  return t;
}

std::string speed_score_column(const MetricsTable& t) {
  bool any = false;
  for (const TableRow& r : t.rows) {
    if (!r.usable()) continue;
    any = true;
    if (!std::isfinite(r.entry.metrics.speed_measured_ns)) return "speed";
  }
  return any ? "speed_measured_ns" : "speed";
}

std::vector<double> speed_scores(const MetricsTable& t) {
  const bool measured = speed_score_column(t) == "speed_measured_ns";
  std::vector<double> s;
  for (const TableRow& r : t.rows)
    s.push_back(!r.usable() ? std::numeric_limits<double>::quiet_NaN()
                            : measured ? r.entry.metrics.speed_measured_ns : r.entry.metrics.speed);
  return s;
}

std::size_t pick_row(const MetricsTable& t, const std::string& pick, std::string* why) {
  const std::string usage = "--pick " + pick + ": expected fastest|leanest|best-quality|knee|N";
  std::vector<std::size_t> ok;
  for (std::size_t i = 0; i < t.rows.size(); ++i)
    if (t.rows[i].usable()) ok.push_back(i);
  if (!pick.empty() && std::isdigit(static_cast<unsigned char>(pick[0]))) {
    for (char c : pick)
      if (!std::isdigit(static_cast<unsigned char>(c))) throw std::invalid_argument(usage);
    const std::size_t n = std::stoul(pick);
    if (n >= t.rows.size())
      throw std::invalid_argument("--pick " + pick + ": " + t.path + " has " + std::to_string(t.rows.size()) + " rows");
    if (!t.rows[n].usable()) throw std::runtime_error("--pick " + pick + ": that row is not valid and feasible");
    if (why != nullptr) *why = "row " + pick + ", as asked";
    return n;
  }
  const int k = pick == "fastest" ? 0 : pick == "leanest" ? 1 : pick == "best-quality" ? 2 : pick == "knee" ? 3 : -1;
  if (k < 0) throw std::invalid_argument(usage);
  if (ok.empty()) throw std::runtime_error(t.path + ": no valid, feasible design");
  const std::vector<double> speed = speed_scores(t);
  auto obj = [&](std::size_t i, int j) {
    const Metrics& m = t.rows[i].entry.metrics;
    return j == 0 ? speed[i] : j == 1 ? m.fragmentation : m.quality;
  };
  std::size_t best = ok[0];
  if (k == 0) {
    for (std::size_t i : ok)
      if (speed[i] < speed[best]) best = i;
    const double limit = speed[best] * (1 + kSpeedTie);
    std::size_t lean = best;
    for (std::size_t i : ok) {
      if (speed[i] > limit) continue;
      const auto fi = t.rows[i].entry.metrics.peak_footprint, fl = t.rows[lean].entry.metrics.peak_footprint;
      if (fi < fl || (fi == fl && speed[i] < speed[lean])) lean = i;
    }
    const double fast_fp = static_cast<double>(t.rows[best].entry.metrics.peak_footprint);
    const double lean_fp = static_cast<double>(t.rows[lean].entry.metrics.peak_footprint);
    const bool lean_wins = fast_fp > lean_fp * kFootprintTie;
    if (why != nullptr) {
      const bool measured = speed_score_column(t) == "speed_measured_ns";
      auto fig = [&](std::size_t i) { return table_number(speed[i], 2) + (measured ? " ns/op measured" : ", speed objective"); };
      const std::string fastest = "row " + std::to_string(best) + " is the fastest (" + fig(best) + ")";
      const std::string ratio = table_number(fast_fp / lean_fp, 2) + "x";
      const std::string within = "within " + std::to_string(std::lround(kSpeedTie * 100)) + "%";
      char bound[16];
      std::snprintf(bound, sizeof bound, "%gx", kFootprintTie);
      if (lean == best)
        *why = fastest + ", and no row " + within + " of it has a smaller peak footprint";
      else if (lean_wins)
        *why = "row " + std::to_string(lean) + " (" + fig(lean) + ") is " + within + " of the fastest, row " +
               std::to_string(best) + " (" + fig(best) + "), which holds " + ratio + " its peak footprint (over " +
               bound + ": the leaner row wins)";
      else
        *why = fastest + "; row " + std::to_string(lean) + " is " + within + " of it, and the fastest holds " + ratio +
               " its peak footprint (not over " + bound + ": the fastest stands)";
    }
    return lean_wins ? lean : best;
  }
  if (k < 3) {
    for (std::size_t i : ok)
      if (obj(i, k) < obj(best, k)) best = i;
    if (why != nullptr) *why = "row " + std::to_string(best) + " has the least " + (k == 1 ? "fragmentation" : "quality value");
    return best;
  }
  double lo[3], hi[3];
  for (int j = 0; j < 3; ++j) {
    lo[j] = std::numeric_limits<double>::infinity();
    hi[j] = -lo[j];
    for (std::size_t i : ok) lo[j] = std::min(lo[j], obj(i, j)), hi[j] = std::max(hi[j], obj(i, j));
  }
  double best_d = std::numeric_limits<double>::infinity();
  for (std::size_t i : ok) {
    double d = 0;
    for (int j = 0; j < 3; ++j) {
      const double x = hi[j] > lo[j] ? (obj(i, j) - lo[j]) / (hi[j] - lo[j]) : 0;
      d += x * x;
    }
    if (d < best_d) best_d = d, best = i;
  }
  if (why != nullptr) *why = "row " + std::to_string(best) + " is nearest the ideal point (objectives scaled to [0, 1])";
  return best;
}

ProgramPick pick_program(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error(path + ": cannot open (run `evoalloc fidelity --run RUN --select fastest -- PROGRAM` first: it writes "
                             "RUN/fidelity/fidelity.csv)");
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(path + ":1: empty file, expected fidelity.csv's header");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line != kFidelityCsvHeader)
    throw std::runtime_error(path + ":1: not the header `evoalloc fidelity` writes (written by another version?)");
  const std::size_t columns = csv_split(kFidelityCsvHeader).size();
  struct Row {
    std::string label, sentence;
    double wall = 0, score = 0, rss = 0;
    bool scored = false;
  };
  std::vector<Row> rows;
  std::size_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string at = path + ":" + std::to_string(lineno) + ": ";
    const std::vector<std::string> f = csv_split(line);
    if (f.size() != columns)
      throw std::runtime_error(at + std::to_string(f.size()) + " fields, expected " + std::to_string(columns));
    auto number = [&](std::size_t i, const char* name) {
      char* end = nullptr;
      const double x = std::strtod(f[i].c_str(), &end);
      if (f[i].empty() || end != f[i].c_str() + f[i].size() || !std::isfinite(x) || x <= 0)
        throw std::runtime_error(at + name + " '" + f[i] + "' is not a positive number");
      return x;
    };
    Row r;
    r.label = f[0];
    r.sentence = f[2];
    if (r.sentence.empty()) throw std::runtime_error(at + "empty sentence");
    r.wall = number(7, "wall_ratio");
    r.scored = !f[9].empty();
    if (r.scored) r.score = number(9, "score_ratio");
    r.rss = number(10, "max_rss_kib");
    rows.push_back(std::move(r));
  }
  if (rows.empty()) throw std::runtime_error(path + ": no designs");
  bool scored = true;
  for (const Row& r : rows) scored = scored && r.scored;
  // Lower is better: glibc's score over the design's, or the design's wall over glibc's.
  auto figure = [&](const Row& r) { return scored ? 1.0 / r.score : r.wall; };
  std::size_t best = 0;
  for (std::size_t i = 1; i < rows.size(); ++i)
    if (figure(rows[i]) < figure(rows[best])) best = i;
  const double limit = figure(rows[best]) * (1 + kSpeedTie);
  std::size_t lean = best;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (figure(rows[i]) <= limit &&
        (rows[i].rss < rows[lean].rss || (rows[i].rss == rows[lean].rss && figure(rows[i]) < figure(rows[lean]))))
      lean = i;
  const bool lean_wins = rows[best].rss > rows[lean].rss * kFootprintTie;
  auto fig = [&](std::size_t i) {
    return rows[i].label + " (" + (scored ? "score " + table_number(rows[i].score, 3) + "x glibc's"
                                          : "wall " + table_number(rows[i].wall, 3) + "x glibc's") +
           ", max RSS " + table_number(rows[i].rss / 1024, 1) + " MiB)";
  };
  const std::string within = "within " + std::to_string(std::lround(kSpeedTie * 100)) + "%";
  ProgramPick out;
  const std::size_t at = lean_wins ? lean : best;
  out.label = rows[at].label;
  out.sentence = rows[at].sentence;
  const std::string of = " (" + std::to_string(rows.size()) + " designs in " + path + ")";
  const std::string ratio = table_number(rows[best].rss / rows[lean].rss, 2) + "x";
  char bound[16];
  std::snprintf(bound, sizeof bound, "%gx", kFootprintTie);
  if (lean == best)
    out.why = fig(best) + " ran the program best, and no design " + within + " of it has a smaller max RSS" + of;
  else if (lean_wins)
    out.why = fig(lean) + " is " + within + " of the best, " + fig(best) + ", which holds " + ratio +
              " its max RSS (over " + bound + ": the leaner design wins)" + of;
  else
    out.why = fig(best) + " ran the program best; " + fig(lean) + " is " + within + " of it, and the best holds " +
              ratio + " its max RSS (not over " + bound + ": the best stands)" + of;
  return out;
}

namespace {

/// RUN_DIR/config.yaml, or nullopt when it is missing or does not load.
std::optional<Config> run_config(const std::string& run_dir) {
  const std::filesystem::path p = std::filesystem::path(run_dir) / "config.yaml";
  if (!std::filesystem::exists(p)) return std::nullopt;
  try {
    return load_config(p.string());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string run_trace(const std::string& run_dir) {
  const auto c = run_config(run_dir);
  return c ? c->trace : std::string();
}

std::vector<std::string> run_extra_traces(const std::string& run_dir) {
  const auto c = run_config(run_dir);
  return c ? c->extra_traces : std::vector<std::string>{};
}

std::string run_thread_model(const std::string& run_dir) {
  const auto c = run_config(run_dir);
  return c && c->threaded_replay != "off" ? c->threaded_replay : std::string();
}

}  // namespace evo
