// evolve/pick.cpp — see evolve/pick.hpp.
#include "evolve/pick.hpp"

#include "evolve/config.hpp"
#include "evolve/report.hpp"
#include "evolve/siblings.hpp"

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

namespace {

/// The rule of `fastest` (pick.hpp) over the candidates `ids`: figure(i), lower is
/// faster; memory(i), the footprint or max RSS a tie is settled by.
struct TieChoice {
  std::size_t best = 0;    ///< the least figure
  std::size_t lean = 0;    ///< the least memory within kSpeedTie of it (the faster of equals)
  bool lean_wins = false;  ///< best holds more than kFootprintTie times lean's memory
  double ratio = 1;        ///< best's memory over lean's
  double limit = 0;        ///< the tie's bounds: a figure within kSpeedTie of best's,
  double memory_bound = 0; ///< and memory within kFootprintTie of lean's
  std::size_t chosen() const { return lean_wins ? lean : best; }
};

template <class Figure, class Memory>
TieChoice choose_tied(const std::vector<std::size_t>& ids, Figure figure, Memory memory) {
  TieChoice c;
  c.best = ids.front();
  for (std::size_t i : ids)
    if (figure(i) < figure(c.best)) c.best = i;
  c.limit = figure(c.best) * (1 + kSpeedTie);
  c.lean = c.best;
  for (std::size_t i : ids)
    if (figure(i) <= c.limit && (memory(i) < memory(c.lean) || (memory(i) == memory(c.lean) && figure(i) < figure(c.lean))))
      c.lean = i;
  const double fast = static_cast<double>(memory(c.best)), lean = static_cast<double>(memory(c.lean));
  c.memory_bound = lean * kFootprintTie;
  c.lean_wins = fast > c.memory_bound;
  c.ratio = fast / lean;
  return c;
}

/// How a TieChoice came about, in one line. best_intro: "row 0 is the fastest (...)";
/// best_full / lean_full: the rows named with their figures, lean_short without;
/// noun: row or design; top: fastest or best; memory: what the tie is settled by.
struct TieWords {
  std::string best_intro, best_full, lean_full, lean_short;
  const char* noun;
  const char* top;
  const char* memory;
};

std::string tie_why(const TieChoice& c, const TieWords& w) {
  const std::string within = "within " + std::to_string(std::lround(kSpeedTie * 100)) + "%";
  const std::string ratio = table_number(c.ratio, 2) + "x";
  char bound[16];
  std::snprintf(bound, sizeof bound, "%gx", kFootprintTie);
  if (c.lean == c.best)
    return w.best_intro + ", and no " + w.noun + " " + within + " of it has a smaller " + w.memory;
  if (c.lean_wins)
    return w.lean_full + " is " + within + " of the " + w.top + ", " + w.best_full + ", which holds " + ratio + " its " +
           w.memory + " (over " + bound + ": the leaner " + w.noun + " wins)";
  return w.best_intro + "; " + w.lean_short + " is " + within + " of it, and the " + w.top + " holds " + ratio + " its " +
         w.memory + " (not over " + bound + ": the " + w.top + " stands)";
}

/// The model rule of `fastest` (pick.hpp): when the rule above chose a tlh row and
/// a tcache row is within kModelTie of its speed (and within kFootprintTie of the
/// least footprint of the rows tied with the fastest), the fastest such tcache row;
/// else c.chosen().
template <class Memory>
std::size_t prefer_tcache(const MetricsTable& t, const std::vector<std::size_t>& ok, const std::vector<double>& speed,
                          const TieChoice& c, Memory memory) {
  const std::size_t chosen = c.chosen();
  if (thread_model_of(t.rows[chosen].entry.sentence) != "tlh") return chosen;
  std::size_t out = chosen;
  for (std::size_t i : ok)
    if (speed[i] <= speed[chosen] * (1 + kModelTie) && static_cast<double>(memory(i)) <= c.memory_bound &&
        thread_model_of(t.rows[i].entry.sentence) == "tcache" && (out == chosen || speed[i] < speed[out]))
      out = i;
  return out;
}

}  // namespace

std::size_t pick_row(const MetricsTable& t, const std::string& pick, std::string* why) {
  // The usage names program too: `export --pick program` calls pick_program instead.
  const std::string usage = "--pick " + pick + ": expected fastest|leanest|best-quality|knee|program|N";
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
    auto footprint = [&](std::size_t i) { return t.rows[i].entry.metrics.peak_footprint; };
    const TieChoice c = choose_tied(ok, [&](std::size_t i) { return speed[i]; }, footprint);
    const std::size_t model_pick = prefer_tcache(t, ok, speed, c, footprint);
    if (why != nullptr) {
      const bool measured = speed_score_column(t) == "speed_measured_ns";
      auto row = [&](std::size_t i) { return "row " + std::to_string(i); };
      auto fig = [&](std::size_t i) {
        return " (" + table_number(speed[i], 2) + (measured ? " ns/op measured" : ", speed objective") + ")";
      };
      *why = tie_why(c, {row(c.best) + " is the fastest" + fig(c.best), row(c.best) + fig(c.best),
                         row(c.lean) + fig(c.lean), row(c.lean), "row", "fastest", "peak footprint"});
      if (model_pick != c.chosen())
        *why += "; " + row(model_pick) + fig(model_pick) + ", threads=tcache, is within " +
                std::to_string(std::lround(kModelTie * 100)) + "% of " + row(c.chosen()) +
                ", threads=tlh, and tied on footprint: within that margin the tcache model wins (the threaded "
                "replay does not reproduce a program's producer/consumer pacing, which costs tlh and not tcache)";
    }
    return model_pick;
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
  std::vector<std::size_t> all(rows.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const TieChoice c = choose_tied(all, [&](std::size_t i) { return scored ? 1.0 / rows[i].score : rows[i].wall; },
                                  [&](std::size_t i) { return rows[i].rss; });
  auto full = [&](std::size_t i) {
    return rows[i].label + " (" + (scored ? "score " + table_number(rows[i].score, 3) + "x glibc's"
                                          : "wall " + table_number(rows[i].wall, 3) + "x glibc's") +
           ", max RSS " + table_number(rows[i].rss / 1024, 1) + " MiB)";
  };
  ProgramPick out;
  out.label = rows[c.chosen()].label;
  out.sentence = rows[c.chosen()].sentence;
  out.why = tie_why(c, {full(c.best) + " ran the program best", full(c.best), full(c.lean), full(c.lean), "design", "best",
                        "max RSS"}) +
            " (" + std::to_string(rows.size()) + " designs in " + path + ")";
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
