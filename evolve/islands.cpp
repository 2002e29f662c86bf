#include "evolve/islands.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

#include "evolve/checkpoint.hpp"
#include "evolve/remeasure.hpp"
#include "evolve/nsga2.hpp"
#include "evolve/report.hpp"
#include "evolve/rng.hpp"
#include "grammar/mapper.hpp"

#ifdef EVOALLOC_HAVE_MPI
#include <mpi.h>
#endif

namespace evo {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- pure parts

bool islands_available() {
#ifdef EVOALLOC_HAVE_MPI
  return true;
#else
  return false;
#endif
}

std::uint64_t island_seed(std::uint64_t seed, int island) {
  if (island == 0) return seed;
  // A stream of its own per island (purpose tag "isl" keeps it apart from the loop's).
  return StreamRng::stream(seed, 0, static_cast<std::uint64_t>(island), 0x69736cULL).next();
}

std::vector<int> migration_sources(int island, int islands, const std::string& topology) {
  std::vector<int> src;
  if (islands <= 1) return src;
  if (topology == "ring") {
    src.push_back((island + islands - 1) % islands);
  } else if (topology == "full") {
    for (int j = 0; j < islands; ++j)
      if (j != island) src.push_back(j);
  } else {
    throw std::invalid_argument("islands.topology: expected ring or full, got '" + topology + "'");
  }
  return src;
}

std::vector<ArchiveEntry> pick_migrants(const RunState& s, std::size_t n) {
  std::vector<Fitness> fit;
  for (const Individual& ind : s.population) fit.push_back(ind.fitness);
  const Ranking r = rank_population(fit);
  std::vector<std::size_t> order(s.population.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (r.rank[a] != r.rank[b]) return r.rank[a] < r.rank[b];
    return r.crowding[a] > r.crowding[b];
  });
  std::vector<ArchiveEntry> out;
  std::unordered_set<std::string> taken;
  for (std::size_t i : order) {
    if (out.size() >= n) break;
    const Individual& ind = s.population[i];
    if (ind.sentence.empty() || !taken.insert(ind.sentence).second) continue;
    const ArchiveEntry* e = s.archive.find(ind.sentence);
    if (e == nullptr) continue;
    ArchiveEntry m = *e;
    m.genome = ind.genome;
    out.push_back(std::move(m));
  }
  return out;
}

InjectStats inject_migrants(RunState& s, const std::vector<ArchiveEntry>& migrants, std::uint64_t generation,
                            std::size_t mu, const Grammar& g, const Config& cfg) {
  InjectStats st;
  st.received = migrants.size();
  MapOptions mo;
  mo.max_wraps = static_cast<int>(cfg.max_wraps);
  mo.max_depth = static_cast<int>(cfg.max_depth);
  std::unordered_set<std::string> in_pop;
  for (const Individual& ind : s.population)
    if (!ind.sentence.empty()) in_pop.insert(ind.sentence);
  std::vector<Individual> pool = std::move(s.population);
  const std::size_t residents = pool.size();
  for (const ArchiveEntry& m : migrants) {
    if (m.sentence.empty()) continue;
    if (s.archive.find(m.sentence) == nullptr) {
      ArchiveEntry e = m;
      e.generation = generation;
      s.archive.add(std::move(e));
      ++st.new_to_archive;
    }
    if (!in_pop.insert(m.sentence).second) continue;
    Individual ind;
    ind.genome = m.genome;
    MapResult mr = map_genome(g, ind.genome.codons, mo);
    ind.genome.used = mr.used_codons;
    ind.sentence = m.sentence;
    ind.fitness = fitness_of(s.archive.find(m.sentence)->metrics);
    pool.push_back(std::move(ind));
  }
  std::vector<Fitness> fit;
  for (const Individual& ind : pool) fit.push_back(ind.fitness);
  std::vector<Individual> next;
  for (std::size_t i : select_survivors(fit, std::min(mu, pool.size()))) {
    if (i >= residents) ++st.entered_population;
    next.push_back(std::move(pool[i]));
  }
  s.population = std::move(next);
  return st;
}

std::string migrations_csv_header() {
  return "generation,island,sources,sent,received,new_to_archive,entered_population";
}

std::string migrations_csv_row(const MigrationRow& r) {
  std::string row = std::to_string(r.generation);
  row.append(",").append(std::to_string(r.island)).append(",");
  for (std::size_t k = 0; k < r.sources.size(); ++k) {
    if (k != 0) row.append("+");
    row.append(std::to_string(r.sources[k]));
  }
  for (std::uint64_t v : {std::uint64_t(r.sent), std::uint64_t(r.stats.received), std::uint64_t(r.stats.new_to_archive),
                          std::uint64_t(r.stats.entered_population)})
    row.append(",").append(std::to_string(v));
  return row;
}

bool parse_migrations_csv_row(std::string_view line, MigrationRow& r) {
  return read_csv_fields(line, 7, [&](const std::vector<std::string>& c) {
    r.generation = std::stoull(c[0]);
    r.island = std::stoi(c[1]);
    r.sources.clear();
    std::istringstream in(c[2]);
    std::string tok;
    while (std::getline(in, tok, '+'))
      if (!tok.empty()) r.sources.push_back(std::stoi(tok));
    r.sent = std::stoull(c[3]);
    r.stats.received = std::stoull(c[4]);
    r.stats.new_to_archive = std::stoull(c[5]);
    r.stats.entered_population = std::stoull(c[6]);
  });
}

#ifndef EVOALLOC_HAVE_MPI

RunOutcome run_islands(const Config&, const RunOptions&) {
  throw std::runtime_error(
      "this build has no MPI: the island model (--islands) needs evoalloc built with Open MPI "
      "(install libopenmpi-dev, configure with -DEVOALLOC_WITH_MPI=ON)");
}

#else

// ---------------------------------------------------------------- MPI parts

namespace {

void write_file_atomic(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    o << text;
    o.flush();
    if (!o) throw std::runtime_error(tmp.string() + ": cannot write");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw std::runtime_error(path.string() + ": cannot replace: " + ec.message());
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error(p.string() + ": cannot read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

// Every rank's string, on every rank.
std::vector<std::string> allgather_strings(const std::string& mine, int size) {
  int len = static_cast<int>(mine.size());
  std::vector<int> lens(size), displs(size);
  MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD);
  long total = 0;
  for (int i = 0; i < size; ++i) {
    displs[i] = static_cast<int>(total);
    total += lens[i];
  }
  if (total > INT32_MAX) throw std::runtime_error("islands: message over 2 GiB");
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Allgatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR, MPI_COMM_WORLD);
  std::vector<std::string> out;
  for (int i = 0; i < size; ++i) out.push_back(all.substr(static_cast<std::size_t>(displs[i]), lens[i]));
  return out;
}

// Every rank's string, on rank 0 (empty elsewhere).
std::vector<std::string> gather_strings(const std::string& mine, int rank, int size) {
  int len = static_cast<int>(mine.size());
  std::vector<int> lens(size), displs(size);
  MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  long total = 0;
  for (int i = 0; i < size; ++i) {
    displs[i] = static_cast<int>(total);
    total += lens[i];
  }
  if (rank == 0 && total > INT32_MAX) throw std::runtime_error("islands: results over 2 GiB");
  std::string all(rank == 0 ? static_cast<std::size_t>(total) : 0, '\0');
  MPI_Gatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
  std::vector<std::string> out;
  if (rank == 0)
    for (int i = 0; i < size; ++i) out.push_back(all.substr(static_cast<std::size_t>(displs[i]), lens[i]));
  return out;
}

std::string bcast_string(std::string s, int rank) {
  int len = rank == 0 ? static_cast<int>(s.size()) : 0;
  MPI_Bcast(&len, 1, MPI_INT, 0, MPI_COMM_WORLD);
  s.resize(static_cast<std::size_t>(len));
  MPI_Bcast(s.data(), len, MPI_CHAR, 0, MPI_COMM_WORLD);
  return s;
}

// An error every rank raises at the same point (the message of rank 0).
struct CollectiveError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs `f` on rank 0 and raises its error (if any) on every rank, so all ranks
// fail together with the same message instead of deadlocking.
template <class F>
void on_root(int rank, F&& f) {
  std::string err;
  if (rank == 0) {
    try {
      f();
    } catch (const std::exception& e) {
      err = e.what();
      if (err.empty()) err = "error";
    }
  }
  err = bcast_string(err, rank);
  if (!err.empty()) throw CollectiveError(err);
}

std::string default_run_id(const Config& cfg, int size) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return std::string(buf) + "-seed" + std::to_string(cfg.seed) + "-islands" + std::to_string(size);
}

std::string entries_text(const std::vector<ArchiveEntry>& es) {
  std::string t;
  for (const ArchiveEntry& e : es) t += archive_csv_row(e) + "\n";
  return t;
}

std::vector<ArchiveEntry> parse_entries(const std::string& text, const std::string& what) {
  std::vector<ArchiveEntry> out;
  for (const std::string& line : lines_of(text)) {
    ArchiveEntry e;
    std::string err;
    if (!parse_archive_csv_row(line, e, &err)) throw std::runtime_error(what + ": malformed archive row: " + err);
    out.push_back(std::move(e));
  }
  return out;
}

// The sync point of a run folder: islands and generation.
struct SyncPoint {
  int islands = 0;
  std::uint64_t generation = 0;
};

SyncPoint read_sync(const fs::path& dir) {
  const fs::path p = dir / "sync.txt";
  std::istringstream in(slurp(p));
  std::string magic, k1, k2;
  int version = 0;
  SyncPoint sp;
  if (!(in >> magic >> version) || magic != "evoalloc-islands" || version != 1)
    throw std::runtime_error(p.string() + ":1: expected 'evoalloc-islands 1' (not an island run folder?)");
  if (!(in >> k1 >> sp.islands) || k1 != "islands" || sp.islands < 1)
    throw std::runtime_error(p.string() + ":2: expected 'islands K'");
  if (!(in >> k2 >> sp.generation) || k2 != "generation") throw std::runtime_error(p.string() + ":3: expected 'generation G'");
  return sp;
}

// Normalised hypervolume of the union front of `entries` restricted to generation <= g.
struct MergedPoint {
  std::uint64_t front_size = 0;
  double hv = 0;
  std::array<double, 3> best{};
};
MergedPoint union_front_at(const std::vector<ArchiveEntry>& entries, std::uint64_t g,
                           const std::array<double, 3>& reference) {
  Archive a;
  for (const ArchiveEntry& e : entries)
    if (e.generation <= g && a.find(e.sentence) == nullptr) a.add(e);
  MergedPoint p;
  auto front = a.front();
  p.front_size = front.size();
  p.hv = front_hypervolume(a, reference);
  p.best = {Metrics::kNaN, Metrics::kNaN, Metrics::kNaN};
  for (std::size_t i : front) {
    auto o = a.entries()[i].metrics.objectives();
    for (int k = 0; k < 3; ++k)
      if (std::isnan(p.best[k]) || o[k] < p.best[k]) p.best[k] = o[k];
  }
  return p;
}

RunOutcome run_islands_mpi(const Config& cfg, const RunOptions& opt, int rank, int size) {
  if (cfg.exhaustive) throw std::runtime_error("exhaustive mode does not run as islands (drop --islands)");
  if (cfg.islands.topology != "ring" && cfg.islands.topology != "full")
    throw std::runtime_error("islands.topology: expected ring or full, got '" + cfg.islands.topology + "'");
  RunOutcome out;
  const bool resuming = !opt.resume_dir.empty();

  // The run folder: made (or checked) by rank 0, then known to all.
  std::string dir;
  std::uint64_t sync_gen = 0;
  on_root(rank, [&] {
    if (resuming) {
      dir = opt.resume_dir;
      SyncPoint sp = read_sync(dir);
      if (sp.islands != size)
        throw std::runtime_error(dir + "/sync.txt: the run has " + std::to_string(sp.islands) +
                                 " islands; resume it with mpirun -n " + std::to_string(sp.islands));
      sync_gen = sp.generation;
    } else {
      const fs::path parent = fs::path(cfg.out) / cfg.name;
      std::error_code ec;
      fs::create_directories(parent, ec);
      if (ec) throw std::runtime_error(parent.string() + ": cannot create results folder: " + ec.message());
      const std::string id = opt.run_id.empty() ? default_run_id(cfg, size) : opt.run_id;
      fs::path d = parent / id;
      for (int k = 2; fs::exists(d); ++k) d = parent / (id + "-" + std::to_string(k));
      fs::create_directory(d, ec);
      if (ec) throw std::runtime_error(d.string() + ": cannot create run folder: " + ec.message());
      dir = d.string();
    }
    std::ofstream c(dir + "/config.yaml");
    c << config_to_yaml(cfg);
    if (!c) throw std::runtime_error(dir + "/config.yaml: cannot write");
  });
  dir = bcast_string(dir, rank);
  MPI_Bcast(&sync_gen, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);

  // This island.
  Config icfg = cfg;
  icfg.seed = island_seed(cfg.seed, rank);
  const fs::path idir = fs::path(dir) / ("island-" + std::to_string(rank));
  fs::create_directories(idir);
  const Workloads work = search_workloads(cfg, nullptr);  // the traces, each with its options
  const Grammar grammar = load_grammar(cfg.grammar);
  const std::vector<int> sources = migration_sources(rank, size, cfg.islands.topology);

  RunState state;
  std::vector<MigrationRow> migrations;
  if (resuming) {
    const fs::path ck = idir / ("ckpt-" + std::to_string(sync_gen));
    state = load_checkpoint(ck.string());
    if (state.generation != sync_gen)
      throw std::runtime_error(ck.string() + "/checkpoint.txt: generation " + std::to_string(state.generation) +
                               ", sync.txt says " + std::to_string(sync_gen));
    const auto rows = lines_of(slurp(ck / "migrations.csv"));
    for (std::size_t i = 1; i < rows.size(); ++i) {
      MigrationRow r;
      if (!parse_migrations_csv_row(rows[i], r))
        throw std::runtime_error((ck / "migrations.csv").string() + ":" + std::to_string(i + 1) + ": malformed row");
      migrations.push_back(r);
    }
  }

  auto migration_text = [&] {
    std::string t = migrations_csv_header() + "\n";
    for (const MigrationRow& r : migrations) t += migrations_csv_row(r) + "\n";
    return t;
  };

  const bool tty = rank == 0 && opt.progress != nullptr && ::isatty(STDERR_FILENO) && opt.progress == &std::cerr;
  LoopHooks hooks;
  hooks.after_step = [&](RunState& s) {
    if (size < 2 || s.generation % cfg.islands.interval != 0) return;
    MigrationRow row;
    row.generation = s.generation;
    row.island = rank;
    row.sources = sources;
    const auto mine = pick_migrants(s, cfg.islands.migrants);
    row.sent = mine.size();
    const auto all = allgather_strings(entries_text(mine), size);
    std::vector<ArchiveEntry> incoming;
    for (int j : sources) {
      auto es = parse_entries(all[static_cast<std::size_t>(j)], "migrants from island " + std::to_string(j));
      incoming.insert(incoming.end(), es.begin(), es.end());
    }
    row.stats = inject_migrants(s, incoming, s.generation, cfg.population, grammar, icfg);
    migrations.push_back(row);
  };
  hooks.on_generation = [&](const RunState& s) {
    write_tables(idir.string(), s);
    const bool sync = s.generation % cfg.islands.interval == 0 || s.done(icfg);
    if (sync) {
      const fs::path ck = idir / ("ckpt-" + std::to_string(s.generation));
      fs::create_directories(ck);
      save_checkpoint(ck.string(), s);
      write_file_atomic(ck / "migrations.csv", migration_text());
      MPI_Barrier(MPI_COMM_WORLD);
      if (rank == 0)
        write_file_atomic(fs::path(dir) / "sync.txt", "evoalloc-islands 1\nislands " + std::to_string(size) +
                                                          "\ngeneration " + std::to_string(s.generation) + "\n");
      MPI_Barrier(MPI_COMM_WORLD);
      for (const auto& d : fs::directory_iterator(idir)) {
        const std::string n = d.path().filename().string();
        if (d.is_directory() && n.rfind("ckpt-", 0) == 0 && n != ck.filename().string()) fs::remove_all(d.path());
      }
    }
    write_file_atomic(idir / "migrations.csv", migration_text());
    if (rank == 0 && opt.progress) {
      *opt.progress << (tty ? "\r\033[K" : "") << "island 0/" << size << "  " << progress_line(icfg, s)
                    << (tty ? "" : "\n");
      opt.progress->flush();
    }
  };
  EvaluateFn eval = [&](const std::string& sentence) { return evaluate_workloads(sentence, work); };
  run_evolution(icfg, grammar, eval, state, hooks);
  if (tty) *opt.progress << "\n";

  // Gather every island's archive, history, migrations and reference on rank 0.
  std::string payload;
  {
    std::ostringstream o;
    o.precision(17);
    o << "reference " << format_double(state.reference[0]) << ' ' << format_double(state.reference[1]) << ' '
      << format_double(state.reference[2]) << "\n";
    o << "history " << state.history.size() << "\n";
    for (const HistoryRow& h : state.history) o << history_csv_row(h) << "\n";
    o << "migrations " << migrations.size() << "\n";
    for (const MigrationRow& r : migrations) o << migrations_csv_row(r) << "\n";
    o << "archive " << state.archive.size() << "\n";
    for (const ArchiveEntry& e : state.archive.entries()) o << archive_csv_row(e) << "\n";
    payload = o.str();
  }
  const auto all = gather_strings(payload, rank, size);
  if (rank != 0) return out;

  struct IslandResult {
    std::array<double, 3> reference{};
    std::vector<HistoryRow> history;
    std::vector<MigrationRow> migrations;
    std::vector<ArchiveEntry> archive;
  };
  std::vector<IslandResult> res(static_cast<std::size_t>(size));
  for (int i = 0; i < size; ++i) {
    const std::string what = "island " + std::to_string(i) + " results";
    auto lines = lines_of(all[static_cast<std::size_t>(i)]);
    std::size_t at = 0;
    auto section = [&](const char* name) {
      if (at >= lines.size()) throw std::runtime_error(what + ": missing section " + name);
      std::istringstream in(lines[at++]);
      std::string k;
      std::size_t n = 0;
      if (!(in >> k >> n) || k != name) throw std::runtime_error(what + ": expected section " + name);
      if (at + n > lines.size()) throw std::runtime_error(what + ": section " + name + " truncated");
      return n;
    };
    IslandResult& r = res[static_cast<std::size_t>(i)];
    {
      std::istringstream in(lines.at(at++));
      std::string k, a, b, c;
      in >> k >> a >> b >> c;
      r.reference = {std::stod(a), std::stod(b), std::stod(c)};
    }
    for (std::size_t n = section("history"); n > 0; --n) {
      HistoryRow h;
      if (!parse_history_csv_row(lines[at++], h)) throw std::runtime_error(what + ": malformed history row");
      r.history.push_back(h);
    }
    for (std::size_t n = section("migrations"); n > 0; --n) {
      MigrationRow m;
      if (!parse_migrations_csv_row(lines[at++], m)) throw std::runtime_error(what + ": malformed migration row");
      r.migrations.push_back(m);
    }
    std::string text;
    for (std::size_t n = section("archive"); n > 0; --n) text += lines[at++] + "\n";
    r.archive = parse_entries(text, what);
  }

  // Merge.
  RunState merged;
  merged.started = true;
  merged.generation = state.generation;
  merged.reference_set = true;
  if (cfg.hv_reference) {
    merged.reference = *cfg.hv_reference;
  } else {
    merged.reference = res[0].reference;
    for (const IslandResult& r : res)
      for (int k = 0; k < 3; ++k) merged.reference[k] = std::max(merged.reference[k], r.reference[k]);
  }
  std::vector<ArchiveEntry> union_entries;
  for (const IslandResult& r : res)
    for (const ArchiveEntry& e : r.archive)
      if (merged.archive.find(e.sentence) == nullptr) {
        merged.archive.add(e);
        union_entries.push_back(e);
      }
  // Earliest generation of each design over all islands decides when it counts.
  {
    std::unordered_map<std::string, std::uint64_t> first;
    for (const IslandResult& r : res)
      for (const ArchiveEntry& e : r.archive) {
        auto it = first.find(e.sentence);
        if (it == first.end() || e.generation < it->second) first[e.sentence] = e.generation;
      }
    for (ArchiveEntry& e : union_entries) e.generation = first[e.sentence];
  }
  const std::size_t gens = res[0].history.size();
  for (std::size_t g = 0; g < gens; ++g) {
    HistoryRow h;
    h.generation = res[0].history[g].generation;
    for (const IslandResult& r : res) {
      if (g >= r.history.size()) continue;
      h.evaluations += r.history[g].evaluations;
      h.cache_hits += r.history[g].cache_hits;
      h.invalid += r.history[g].invalid;
      h.elapsed_s = std::max(h.elapsed_s, r.history[g].elapsed_s);
    }
    MergedPoint p = union_front_at(union_entries, h.generation, merged.reference);
    h.front_size = p.front_size;
    h.hypervolume = p.hv;
    h.best = p.best;
    merged.history.push_back(h);
  }
  for (const IslandResult& r : res) {
    merged.evaluations += r.history.empty() ? 0 : r.history.back().evaluations;
    merged.cache_hits += r.history.empty() ? 0 : r.history.back().cache_hits;
  }
  merged.elapsed_s = merged.history.empty() ? 0 : merged.history.back().elapsed_s;
  merged.population = state.population;

  if (cfg.remeasure_front) {
    if (opt.progress) *opt.progress << "the merged front:\n";
    settle_front(cfg, grammar, eval, work, merged, opt.progress, [] {});
  }
  write_tables(dir, merged);
  {
    std::string t = "island," + history_csv_header() + "\n";
    for (int i = 0; i < size; ++i)
      for (const HistoryRow& h : res[static_cast<std::size_t>(i)].history)
        t += std::to_string(i) + "," + history_csv_row(h) + "\n";
    write_file_atomic(fs::path(dir) / "islands.csv", t);
    std::string m = migrations_csv_header() + "\n";
    for (const IslandResult& r : res)
      for (const MigrationRow& row : r.migrations) m += migrations_csv_row(row) + "\n";
    write_file_atomic(fs::path(dir) / "migrations.csv", m);
  }
  std::string warning;
  const std::string resume_hint =
      "`sync.txt` + `island-I/ckpt-G/` (resume under mpirun with the same number of ranks: `evoalloc evolve "
      "--resume DIR`)";
  if (!write_report(dir, cfg, merged, &warning, resume_hint) && opt.progress)
    *opt.progress << "warning: " << warning << "\n";
  {
    std::ofstream rep(dir + "/report.md", std::ios::app);
    rep << "\n## Islands\n\n" << size << " islands (MPI ranks), topology " << cfg.islands.topology << ", "
        << cfg.islands.migrants << " migrants every " << cfg.islands.interval << " generations.\n\n"
        << "| island | seed | evaluations | archive | imported | migrations | final hv (own reference) |\n"
        << "|---|---|---|---|---|---|---|\n";
    for (int i = 0; i < size; ++i) {
      const IslandResult& r = res[static_cast<std::size_t>(i)];
      std::size_t imported = 0;
      for (const MigrationRow& row : r.migrations) imported += row.stats.new_to_archive;
      rep << "| " << i << " | " << island_seed(cfg.seed, i) << " | "
          << (r.history.empty() ? 0 : r.history.back().evaluations) << " | " << r.archive.size() << " | " << imported
          << " | " << r.migrations.size() << " | " << (r.history.empty() ? 0.0 : r.history.back().hypervolume)
          << " |\n";
    }
    rep << "\nPer-island history: islands.csv; every migration: migrations.csv.\n";
  }
  if (opt.progress) *opt.progress << "results: " << dir << "\n";
  out.dir = dir;
  out.state = std::move(merged);
  return out;
}

}  // namespace

RunOutcome run_islands(const Config& cfg, const RunOptions& opt) {
  int inited = 0;
  MPI_Initialized(&inited);
  const bool own = !inited;
  if (own) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  RunOutcome out;
  try {
    out = run_islands_mpi(cfg, opt, rank, size);
  } catch (const CollectiveError&) {
    // Every rank is here: rank 0 reports it once and exits 1 (so does mpirun); the
    // others leave quietly with 0, so mpirun does not kill rank 0 before it reports.
    if (own) MPI_Finalize();
    if (rank != 0) std::exit(0);
    throw;
  } catch (const std::exception& e) {
    if (size > 1) {
      std::cerr << "evoalloc evolve: island " << rank << ": " << e.what() << std::endl;
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (own) MPI_Finalize();
    throw;
  }
  if (own) MPI_Finalize();
  return out;
}

#endif  // EVOALLOC_HAVE_MPI

}  // namespace evo
