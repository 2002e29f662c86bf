// Tests of evolve/evolution (+ archive, checkpoint): the GE loop on a toy grammar
// with a known Pareto front, evaluated by a callback (no allocator involved).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "evolve/checkpoint.hpp"
#include "evolve/evolution.hpp"
#include "grammar/grammar.hpp"

using namespace evo;

namespace {

// 8^3 = 512 designs "x=A y=B z=C". Objectives: (x+y+z, 7-x+y+z, y*z). The front is
// exactly the 8 designs with y = z = 0, objectives (x, 7-x, 0).
const char* kToy = R"(<s> ::= x=<d> y=<d> z=<d>
<d> ::= 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7
)";

struct Toy {
  std::mutex mu;
  std::map<std::string, int> calls;
  Metrics operator()(const std::string& s) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++calls[s];
    }
    int x = s[2] - '0', y = s[6] - '0', z = s[10] - '0';
    Metrics m;
    m.valid = true;
    if (x == 7 && y == 7) {  // one infeasible corner
      m.reason = "toy limit";
      m.completed = 0.5;
      return m;
    }
    m.feasible = true;
    m.completed = 1;
    m.speed = m.speed_modeled = x + y + z;
    m.fragmentation = 7 - x + y + z;
    m.quality = y * z;
    return m;
  }
};

Config toy_config() {
  Config c;
  c.name = "toy";
  c.population = 16;
  c.generations = 30;
  c.mutation_rate = 0.15;
  c.codon_max = 64;
  c.seed = 11;
  c.threads = 2;
  c.init_max_depth = 3;
  c.hv_reference = std::array<double, 3>{22, 22, 50};
  return c;
}

std::set<std::string> front_sentences(const RunState& s) {
  std::set<std::string> out;
  for (std::size_t i : s.archive.front()) out.insert(s.archive.entries()[i].sentence);
  return out;
}

std::string dump(const RunState& s) {
  std::string d;
  for (const auto& e : s.archive.entries()) d += archive_csv_row(e) + "\n";
  for (const auto& i : s.population) d += genome_to_string(i.genome) + " " + i.sentence + "\n";
  for (const auto& h : s.history) d += history_csv_row(h).substr(0, history_csv_row(h).rfind(',')) + "\n";
  return d;
}

}  // namespace

TEST_CASE("GE + NSGA-II finds the toy front; the cache never re-evaluates a design") {
  Grammar g = parse_grammar(kToy, "toy.bnf");
  Config c = toy_config();
  Toy toy;
  RunState s;
  int hooks = 0;
  LoopHooks h;
  h.on_generation = [&](const RunState& st) {
    ++hooks;
    CHECK(st.history.back().generation == st.generation);
  };
  run_evolution(c, g, [&](const std::string& x) { return toy(x); }, s, h);
  CHECK(hooks == 31);
  CHECK(s.generation == 30);
  CHECK(s.population.size() == 16);
  std::set<std::string> want;
  for (int x = 0; x < 8; ++x) want.insert("x=" + std::to_string(x) + " y=0 z=0");
  CHECK(front_sentences(s) == want);
  // Exact hypervolume of the known front, normalised by the reference (22, 22, 50):
  // 2-D staircase of (x, 7-x) under (22, 22) times the full quality depth (1 - 0).
  // Points sorted by x: (0,7), (1,6), ..., (7,0); area = sum of (22 - x) * (previous y - y), from y = 22.
  double area = 0, prev = 22;
  for (int x = 0; x < 8; ++x) {
    area += (22.0 - x) * (prev - (7 - x));
    prev = 7 - x;
  }
  CHECK(s.history.back().hypervolume == doctest::Approx(area / (22.0 * 22.0)));
  // Hypervolume never decreases; evaluations are cumulative.
  for (std::size_t i = 1; i < s.history.size(); ++i) {
    CHECK(s.history[i].hypervolume >= s.history[i - 1].hypervolume);
    CHECK(s.history[i].evaluations >= s.history[i - 1].evaluations);
  }
  // Fitness cache: every design evaluated exactly once; archive == designs evaluated.
  for (auto& [sentence, n] : toy.calls) CHECK(n == 1);
  CHECK(toy.calls.size() == s.archive.size());
  CHECK(s.evaluations == s.archive.size());
  CHECK(s.cache_hits > 0);
  // Far fewer evaluations than the 512 designs.
  CHECK(s.evaluations < 512);
  // Infeasible designs never survive once feasible ones fill the population.
  for (const Individual& ind : s.population) CHECK(ind.fitness.feasible());
  // The best per objective is known.
  CHECK(s.history.back().best[0] == 0.0);
  CHECK(s.history.back().best[1] == 0.0);
  CHECK(s.history.back().best[2] == 0.0);
}

TEST_CASE("a seed reproduces the run, whatever the thread count") {
  Grammar g = parse_grammar(kToy, "toy.bnf");
  Config c = toy_config();
  c.generations = 8;
  Toy t1, t2, t3;
  RunState a, b, d;
  run_evolution(c, g, [&](const std::string& x) { return t1(x); }, a);
  c.threads = 1;
  run_evolution(c, g, [&](const std::string& x) { return t2(x); }, b);
  CHECK(dump(a) == dump(b));
  c.seed = 12;
  run_evolution(c, g, [&](const std::string& x) { return t3(x); }, d);
  CHECK(dump(a) != dump(d));
}

TEST_CASE("checkpoint round trip and resume continue exactly") {
  Grammar g = parse_grammar(kToy, "toy.bnf");
  Config c = toy_config();
  c.generations = 10;
  c.hv_reference.reset();  // auto: stored in the checkpoint
  Toy t1, t2;
  RunState full;
  run_evolution(c, g, [&](const std::string& x) { return t1(x); }, full);

  auto dir = std::filesystem::temp_directory_path() / "evoalloc_test_evolution_ckpt";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Config first = c;
  first.generations = 4;
  RunState part;
  LoopHooks h;
  h.on_generation = [&](const RunState& st) { save_checkpoint(dir.string(), st); };
  run_evolution(first, g, [&](const std::string& x) { return t2(x); }, part, h);
  CHECK(std::filesystem::exists(dir / "checkpoint.txt"));
  CHECK_FALSE(std::filesystem::exists(dir / "checkpoint.txt.tmp"));
  RunState resumed = load_checkpoint(dir.string());
  CHECK(resumed.generation == 4);
  CHECK(dump(resumed) == dump(part));
  run_evolution(c, g, [&](const std::string& x) { return t2(x); }, resumed);
  CHECK(dump(resumed) == dump(full));
  // A design evaluated before the checkpoint is not evaluated again after it.
  for (auto& [sentence, n] : t2.calls) CHECK(n == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a damaged checkpoint is a one-line error naming the line") {
  auto dir = std::filesystem::temp_directory_path() / "evoalloc_test_evolution_bad";
  std::filesystem::create_directories(dir);
  {
    std::ofstream o(dir / "checkpoint.txt");
    o << "evoalloc-checkpoint 1\ngeneration x\n";
  }
  try {
    load_checkpoint(dir.string());
    FAIL("expected an error");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("checkpoint.txt:2: expected an integer") != std::string::npos);
  }
  {
    std::ofstream o(dir / "checkpoint.txt");
    o << "evoalloc-checkpoint 1\ngeneration 1\nevaluations 1\n";
  }
  CHECK_THROWS_WITH_AS(load_checkpoint(dir.string()), doctest::Contains("truncated"), std::runtime_error);
  std::filesystem::remove_all(dir);
  CHECK_THROWS_AS(load_checkpoint(dir.string()), std::runtime_error);
}

TEST_CASE("exhaustive mode scores every design once, in batches") {
  Grammar g = parse_grammar(kToy, "toy.bnf");
  Config c = toy_config();
  c.exhaustive = true;
  c.population = 100;
  Toy toy;
  RunState s;
  run_evolution(c, g, [&](const std::string& x) { return toy(x); }, s);
  CHECK(s.exhaustive_total == 512);
  CHECK(s.archive.size() == 512);
  CHECK(s.history.size() == 6);  // ceil(512 / 100)
  CHECK(s.evaluations == 512);
  std::set<std::string> want;
  for (int x = 0; x < 8; ++x) want.insert("x=" + std::to_string(x) + " y=0 z=0");
  CHECK(front_sentences(s) == want);
  c.exhaustive_limit = 50;
  RunState l;
  run_evolution(c, g, [&](const std::string& x) { return toy(x); }, l);
  CHECK(l.archive.size() == 50);
}

TEST_CASE("invalid genomes and failing evaluators do not stop the run") {
  // A recursive grammar where long derivations run out of codons.
  Grammar g = parse_grammar("<e> ::= <e>+<e> | a | b\n", "rec.bnf");
  Config c = toy_config();
  c.generations = 5;
  c.max_wraps = 0;
  c.max_depth = 4;
  RunState s;
  std::atomic<int> calls{0};
  run_evolution(c, g,
                [&](const std::string& x) -> Metrics {
                  if (++calls % 3 == 0) throw std::runtime_error("boom");
                  Metrics m;
                  m.valid = m.feasible = true;
                  m.completed = 1;
                  m.speed = double(x.size());
                  m.fragmentation = double(std::count(x.begin(), x.end(), 'a'));
                  m.quality = double(std::count(x.begin(), x.end(), 'b'));
                  return m;
                },
                s);
  CHECK(s.generation == 5);
  bool saw_failure = false;
  for (const auto& e : s.archive.entries()) saw_failure |= e.metrics.reason.find("evaluation failed: boom") == 0;
  CHECK(saw_failure);
  CHECK_FALSE(s.archive.front().empty());
}
