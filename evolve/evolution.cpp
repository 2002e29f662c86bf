#include "evolve/evolution.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <unordered_set>

#include "evolve/hypervolume.hpp"
#include "evolve/nsga2.hpp"
#include "evolve/rng.hpp"
#include "grammar/enumerate.hpp"
#include "grammar/mapper.hpp"

namespace evo {

namespace {

// Purposes of the RNG streams (evolve/rng.hpp).
enum Purpose : std::uint64_t { kSelect = 0, kCross = 1, kMutate = 2 };

MapOptions map_options(const Config& c) {
  MapOptions m;
  m.max_wraps = static_cast<int>(c.max_wraps);
  m.max_depth = static_cast<int>(c.max_depth);
  return m;
}

void map_into(const Grammar& g, const MapOptions& mo, Individual& ind) {
  MapResult r = map_genome(g, ind.genome.codons, mo);
  ind.genome.used = r.used_codons;
  if (r.valid) {
    ind.sentence = std::move(r.sentence);
    ind.why.clear();
  } else {
    ind.sentence.clear();
    ind.why = std::move(r.why);
  }
}

// Evaluates every distinct sentence of `inds` missing from the archive (in order of
// first appearance, in parallel), adds them to the archive, then sets each
// individual's fitness. Returns the number of new evaluations.
std::uint64_t evaluate(const Config& cfg, const EvaluateFn& eval, std::vector<Individual>& inds,
                       std::uint64_t generation, RunState& s, bool count_hits) {
  std::vector<std::size_t> todo;  // index of the first individual of each new design
  std::unordered_set<std::string> queued;
  std::uint64_t hits = 0;
  for (std::size_t i = 0; i < inds.size(); ++i) {
    const std::string& sn = inds[i].sentence;
    if (sn.empty()) continue;
    if (s.archive.find(sn) != nullptr || queued.count(sn)) {
      ++hits;
      continue;
    }
    queued.insert(sn);
    todo.push_back(i);
  }
  std::vector<Metrics> results(todo.size());
  const int threads = cfg.threads ? static_cast<int>(cfg.threads) : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (std::size_t k = 0; k < todo.size(); ++k) {
    try {
      results[k] = eval(inds[todo[k]].sentence);
    } catch (const std::exception& e) {
      results[k] = Metrics{};
      results[k].reason = std::string("evaluation failed: ") + e.what();
    } catch (...) {
      results[k] = Metrics{};
      results[k].reason = "evaluation failed";
    }
  }
  for (std::size_t k = 0; k < todo.size(); ++k) {
    ArchiveEntry e;
    e.sentence = inds[todo[k]].sentence;
    e.genome = inds[todo[k]].genome;
    e.generation = generation;
    e.metrics = std::move(results[k]);
    s.archive.add(std::move(e));
  }
  for (Individual& ind : inds) {
    if (ind.sentence.empty()) {
      ind.fitness = Fitness{};
      ind.fitness.violation = 2;
    } else {
      ind.fitness = fitness_of(s.archive.find(ind.sentence)->metrics);
    }
  }
  s.evaluations += todo.size();
  if (count_hits) s.cache_hits += hits;
  return todo.size();
}

void set_reference(const Config& cfg, RunState& s) {
  if (s.reference_set) return;
  if (cfg.hv_reference) {
    s.reference = *cfg.hv_reference;
  } else {
    // auto: twice the nadir (worst value of each objective) of the current front.
    std::array<double, 3> nadir{0, 0, 0};
    const auto front = s.archive.front();
    for (std::size_t i : front) {
      const auto o = s.archive.entries()[i].metrics.objectives();
      for (int k = 0; k < 3; ++k) nadir[k] = std::max(nadir[k], o[k]);
    }
    for (int k = 0; k < 3; ++k) s.reference[k] = nadir[k] > 0 ? 2.0 * nadir[k] : 1.0;
  }
  s.reference_set = true;
}

void record(const Config& cfg, RunState& s, double elapsed) {
  (void)cfg;
  HistoryRow h;
  h.generation = s.generation;
  h.evaluations = s.evaluations;
  h.cache_hits = s.cache_hits;
  for (const Individual& ind : s.population) h.invalid += ind.fitness.feasible() ? 0 : 1;
  auto front = s.archive.front();
  h.front_size = front.size();
  h.hypervolume = front_hypervolume(s.archive, s.reference);
  h.best = {Metrics::kNaN, Metrics::kNaN, Metrics::kNaN};
  for (std::size_t i : front) {
    auto o = s.archive.entries()[i].metrics.objectives();
    for (int k = 0; k < 3; ++k)
      if (std::isnan(h.best[k]) || o[k] < h.best[k]) h.best[k] = o[k];
  }
  h.elapsed_s = elapsed;
  s.history.push_back(h);
}

// Elitist (mu + lambda) survival with duplicate control: distinct designs first.
std::vector<Individual> survive(std::vector<Individual> pool, std::size_t mu) {
  std::vector<std::size_t> uniq, dups;
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    if (pool[i].sentence.empty() || seen.insert(pool[i].sentence).second)
      uniq.push_back(i);
    else
      dups.push_back(i);
  }
  auto pick = [&](const std::vector<std::size_t>& from, std::size_t n) {
    std::vector<Fitness> f;
    for (std::size_t i : from) f.push_back(pool[i].fitness);
    std::vector<std::size_t> out;
    for (std::size_t j : select_survivors(f, std::min(n, from.size()))) out.push_back(from[j]);
    return out;
  };
  std::vector<std::size_t> chosen = pick(uniq, mu);
  if (chosen.size() < mu) {
    auto more = pick(dups, mu - chosen.size());
    chosen.insert(chosen.end(), more.begin(), more.end());
  }
  std::vector<Individual> next;
  next.reserve(chosen.size());
  for (std::size_t i : chosen) next.push_back(std::move(pool[i]));
  return next;
}

void initialise(const Config& cfg, const Grammar& g, const EvaluateFn& eval, RunState& s) {
  InitOptions io;
  io.max_depth = static_cast<int>(cfg.init_max_depth);
  auto genomes = sensible_init(g, cfg.population, cfg.seed, io);
  if (genomes.empty()) throw std::runtime_error("grammar '" + g.name + "': sensible initialisation produced nothing");
  const MapOptions mo = map_options(cfg);
  s.population.clear();
  for (auto& codons : genomes) {
    Individual ind;
    ind.genome.codons = std::move(codons);
    map_into(g, mo, ind);
    s.population.push_back(std::move(ind));
  }
  evaluate(cfg, eval, s.population, 0, s, false);
  set_reference(cfg, s);
  s.population = survive(std::move(s.population), cfg.population);
  s.generation = 0;
  s.started = true;
}

void step(const Config& cfg, const Grammar& g, const EvaluateFn& eval, RunState& s) {
  const std::uint64_t gen = s.generation + 1;
  const MapOptions mo = map_options(cfg);
  const Codon codon_max = static_cast<Codon>(cfg.codon_max);
  const std::size_t lambda = cfg.lambda();

  // select
  std::vector<Fitness> fit;
  for (const Individual& ind : s.population) fit.push_back(ind.fitness);
  const Ranking ranking = rank_population(fit);

  std::unordered_set<std::string> seen;
  for (const Individual& ind : s.population)
    if (!ind.sentence.empty()) seen.insert(ind.sentence);

  // vary
  std::vector<Individual> children;
  children.reserve(lambda);
  for (std::size_t pair = 0; children.size() < lambda; ++pair) {
    StreamRng sel = StreamRng::stream(cfg.seed, gen, pair, kSelect);
    const Individual& a = s.population[binary_tournament(ranking, sel)];
    const Individual& b = s.population[binary_tournament(ranking, sel)];
    StreamRng cx = StreamRng::stream(cfg.seed, gen, pair, kCross);
    std::pair<Genome, Genome> kids;
    if (cx.chance(cfg.crossover_rate)) {
      kids = one_point_crossover(a.genome, b.genome, cx);
    } else {
      kids = {a.genome, b.genome};
    }
    for (Genome* kid : {&kids.first, &kids.second}) {
      if (children.size() >= lambda) break;
      const std::size_t idx = children.size();
      StreamRng mu = StreamRng::stream(cfg.seed, gen, idx, kMutate);
      Individual child;
      child.genome = std::move(*kid);
      // Mutation acts on the codons the parent used; a crossover child has not been
      // mapped yet, so map it first to know its used part.
      map_into(g, mo, child);
      int_flip_mutation(child.genome, cfg.mutation_rate, codon_max, mu);
      map_into(g, mo, child);
      for (std::uint64_t retry = 0; retry < cfg.duplicate_retries && !child.sentence.empty() &&
                                    seen.count(child.sentence);
           ++retry) {
        if (int_flip_mutation(child.genome, cfg.mutation_rate, codon_max, mu) == 0 && !child.genome.codons.empty()) {
          std::size_t used = std::min(child.genome.used, child.genome.codons.size());
          if (used == 0) used = child.genome.codons.size();
          child.genome.codons[mu.below(used)] = static_cast<Codon>(mu.below(codon_max));
        }
        map_into(g, mo, child);
      }
      if (!child.sentence.empty()) seen.insert(child.sentence);
      children.push_back(std::move(child));
    }
  }

  // evaluate
  evaluate(cfg, eval, children, gen, s, true);

  // replace
  std::vector<Individual> pool = std::move(s.population);
  for (Individual& c : children) pool.push_back(std::move(c));
  s.population = survive(std::move(pool), cfg.population);
  s.generation = gen;
}

void exhaustive_batch(const Config& cfg, const Grammar& g, const EvaluateFn& eval, RunState& s,
                      const Enumerator& en, std::uint64_t batch) {
  const std::uint64_t lo = batch * cfg.population;
  const std::uint64_t hi = std::min(s.exhaustive_total, lo + cfg.population);
  std::vector<Individual> inds;
  for (std::uint64_t i = lo; i < hi; ++i) {
    Individual ind;
    ind.sentence = en.at(i, &ind.genome.codons);
    ind.genome.used = ind.genome.codons.size();
    inds.push_back(std::move(ind));
  }
  (void)g;
  evaluate(cfg, eval, inds, batch, s, true);
  if (!s.reference_set && batch == 0) set_reference(cfg, s);
  s.population.clear();
}

}  // namespace

bool RunState::done(const Config& c) const {
  if (!started) return false;
  if (c.exhaustive) return (generation + 1) * c.population >= exhaustive_total;
  return generation >= c.generations;
}

double front_hypervolume(const Archive& a, const std::array<double, 3>& reference) {
  std::vector<Point3> pts;
  for (std::size_t i : a.front()) {
    auto o = a.entries()[i].metrics.objectives();
    pts.push_back({o[0] / reference[0], o[1] / reference[1], o[2] / reference[2]});
  }
  return hypervolume(pts, Point3{1, 1, 1});
}

void run_evolution(const Config& cfg, const Grammar& g, const EvaluateFn& eval, RunState& s, const LoopHooks& hooks) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const double base = s.elapsed_s;
  auto elapsed = [&] { return base + std::chrono::duration<double>(clock::now() - t0).count(); };
  auto finish_generation = [&] {
    s.elapsed_s = elapsed();
    record(cfg, s, s.elapsed_s);
    if (hooks.on_generation) hooks.on_generation(s);
  };

  if (cfg.exhaustive) {
    EnumOptions eo;
    eo.max_depth = static_cast<int>(cfg.max_depth);
    eo.max_range_values = cfg.exhaustive_range_values;
    Enumerator en(g, eo);
    s.exhaustive_total = std::min<std::uint64_t>(en.count(), cfg.exhaustive_limit);
    if (s.exhaustive_total == 0) throw std::runtime_error("grammar '" + g.name + "' enumerates no design");
    if (!s.started) {
      exhaustive_batch(cfg, g, eval, s, en, 0);
      s.generation = 0;
      s.started = true;
      finish_generation();
    }
    while (!s.done(cfg)) {
      exhaustive_batch(cfg, g, eval, s, en, s.generation + 1);
      ++s.generation;
      finish_generation();
    }
    return;
  }
  if (!s.started) {
    initialise(cfg, g, eval, s);
    finish_generation();
  }
  while (!s.done(cfg)) {
    step(cfg, g, eval, s);
    if (hooks.after_step) hooks.after_step(s);
    finish_generation();
  }
}

std::string history_csv_header() {
  return "generation,evaluations,cache_hits,invalid,front_size,hypervolume,best_speed,best_fragmentation,"
         "best_quality,elapsed_s";
}

std::string history_csv_row(const HistoryRow& h) {
  return std::to_string(h.generation) + ',' + std::to_string(h.evaluations) + ',' + std::to_string(h.cache_hits) +
         ',' + std::to_string(h.invalid) + ',' + std::to_string(h.front_size) + ',' + format_double(h.hypervolume) +
         ',' + format_double(h.best[0]) + ',' + format_double(h.best[1]) + ',' + format_double(h.best[2]) + ',' +
         format_double(h.elapsed_s);
}

bool parse_history_csv_row(std::string_view line, HistoryRow& h) {
  return read_csv_fields(line, 10, [&](const std::vector<std::string>& c) {
    h.generation = std::stoull(c[0]);
    h.evaluations = std::stoull(c[1]);
    h.cache_hits = std::stoull(c[2]);
    h.invalid = std::stoull(c[3]);
    h.front_size = std::stoull(c[4]);
    h.hypervolume = std::stod(c[5]);
    for (int k = 0; k < 3; ++k) h.best[k] = c[6 + k] == "nan" ? Metrics::kNaN : std::stod(c[6 + k]);
    h.elapsed_s = std::stod(c[9]);
  });
}

std::string progress_line(const Config& cfg, const RunState& s) {
  const std::uint64_t total = cfg.exhaustive ? (s.exhaustive_total + cfg.population - 1) / cfg.population
                                             : cfg.generations + 1;
  const std::uint64_t done = s.generation + 1;
  const double rate = s.elapsed_s > 0 ? static_cast<double>(s.evaluations) / s.elapsed_s : 0.0;
  const double lookups = static_cast<double>(s.evaluations + s.cache_hits);
  const double hit = lookups > 0 ? 100.0 * static_cast<double>(s.cache_hits) / lookups : 0.0;
  const double hv = s.history.empty() ? 0.0 : s.history.back().hypervolume;
  const double eta = done > 0 && total > done ? s.elapsed_s / static_cast<double>(done) * static_cast<double>(total - done) : 0.0;
  const std::size_t front = s.history.empty() ? 0 : s.history.back().front_size;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s %llu/%llu  evals %llu (%.1f/s)  cache %.0f%%  hv %.4f  front %zu  ETA %dm%02ds",
                cfg.exhaustive ? "batch" : "gen", static_cast<unsigned long long>(s.generation),
                static_cast<unsigned long long>(total - 1), static_cast<unsigned long long>(s.evaluations), rate, hit,
                hv, front, static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
  return buf;
}

}  // namespace evo
