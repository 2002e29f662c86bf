// Tests of evolve/remeasure: the front's measured speed in interleaved rounds, and the
// final front when thread-model siblings were re-measured beside it.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "evaluate/workload.hpp"
#include "evolve/archive.hpp"
#include "evolve/checkpoint.hpp"
#include "evolve/remeasure.hpp"
#include "evolve/report.hpp"

using namespace evo;

TEST_CASE("every chosen design gets its best round; a failing one NaN; the rest untouched") {
  const std::vector<std::string> paths{std::string(EVOALLOC_SOURCE_DIR) + "/traces/espresso.trace"};
  const Workloads w = load_workloads(paths, [](const std::string&, const Trace&) {
    EvalOptions o;
    o.max_ops = 5000;
    o.speed_mode = SpeedMode::Measured;
    o.measure_cutoff_ns = 1e-9;  // would cut every design short: the re-measure drops it
    return o;
  });
  Archive a;
  for (const char* s : {"slab slab=16K align=16 source=mmap harden=off front=none retain=256K",
                        "superblock classes=jemalloc sb=64K bins=unordered alg=bitmap pagemap=flat cache=lazy "
                        "large=16K align=16 source=mmap harden=off",
                        "nonsense", "pad"}) {
    ArchiveEntry e;
    e.sentence = s;
    e.metrics.speed_measured_ns = -1;  // a value the re-measure must replace (or leave, for the last)
    a.add(e);
  }
  std::ostringstream progress;
  remeasure_front(a, {0, 1, 2}, w, 3, &progress);
  CHECK(a.entries()[0].metrics.speed_measured_ns > 0);
  CHECK(a.entries()[1].metrics.speed_measured_ns > 0);
  CHECK(std::isnan(a.entries()[2].metrics.speed_measured_ns));
  CHECK(a.entries()[3].metrics.speed_measured_ns == -1);
  const std::string said = progress.str();
  CHECK(said.find("round 1/3 (3 designs)") != std::string::npos);
  CHECK(said.find("round 3/3 (3 designs)") != std::string::npos);
  // One round: the warm-up and one timed replay.
  a.entries()[0].metrics.speed_measured_ns = -1;
  remeasure_front(a, {0}, w, 1, nullptr);
  CHECK(a.entries()[0].metrics.speed_measured_ns > 0);
}

namespace {

ArchiveEntry entry(const char* sentence, double speed, double measured, double frag) {
  ArchiveEntry e;
  e.sentence = sentence;
  e.metrics.valid = e.metrics.feasible = true;
  e.metrics.completed = 1;
  e.metrics.speed = speed;
  e.metrics.speed_measured_ns = measured;
  e.metrics.fragmentation = frag;
  e.metrics.quality = 1;
  return e;
}

}  // namespace

TEST_CASE("remeasured_front: a tlh design keeps its tcache twin on the front unless more than 10% ahead") {
  Archive a;
  a.add(entry("D x=1 threads=tlh", 10, 10.0, 1));      // 0: front
  a.add(entry("D x=1 threads=tcache", 10, 10.9, 1));   // 1: its twin, 9% behind: kept
  a.add(entry("E x=2 threads=tlh", 10, 9.0, 2));       // 2: front (faster than 0, more fragmented)
  a.add(entry("E x=2 threads=tcache", 10, 10.2, 2));   // 3: its twin, 13% behind: dominated
  a.add(entry("D x=3 threads=tcache", 10, 11.0, 1));   // 4: not D's twin (x differs): dominated by 0
  a.add(entry("D x=1 threads=lock", 10, 11.0, 1));     // 5: a lock twin gets no margin: dominated by 0
  CHECK(remeasured_front(a, {0, 2}, {1, 3, 4, 5}) == std::vector<std::size_t>{0, 1, 2});
  // A tcache design ahead of its tlh twin pushes it off as before.
  Archive b;
  b.add(entry("D x=1 threads=tcache", 10, 10.0, 1));
  b.add(entry("D x=1 threads=tlh", 10, 10.5, 1));
  CHECK(remeasured_front(b, {0}, {1}) == std::vector<std::size_t>{0});
}

TEST_CASE("remeasured_front: the front and the siblings re-measured beside it, Pareto by the new figures") {
  Archive a;
  a.add(entry("A threads=tlh", 10, 10, 1));                  // 0: front, its sibling 3 runs faster
  a.add(entry("B threads=tcache", 20, 20, 0.5));             // 1: front
  a.add(entry("C threads=lock", 30, Metrics::kNaN, 0.2));    // 2: front, its re-measure failed: stays
  a.add(entry("A threads=tcache", 11, 9, 1));                // 3: sibling, faster than A side by side
  a.add(entry("B threads=tlh", 19, 25, 0.5));                // 4: sibling, slower than B
  a.add(entry("C threads=tlh", 31, Metrics::kNaN, 0.2));     // 5: sibling that failed: leaves
  a.add(entry("A' threads=tcache", 12, 9.5, 0.9));           // 6: sibling, leaner than 3
  CHECK(remeasured_front(a, {0, 1, 2}, {3, 4, 5, 6}) == std::vector<std::size_t>{1, 2, 3, 6});
  // Without siblings, the front by its re-measured figures.
  CHECK(remeasured_front(a, {0, 1, 2}, {}) == std::vector<std::size_t>{0, 1, 2});

  // The final front survives a checkpoint and is what front.csv lists, by re-measured speed.
  RunState s;
  s.archive = a;
  s.started = true;
  s.final_front = remeasured_front(a, {0, 1, 2}, {3, 4, 5, 6});
  const auto dir = std::filesystem::temp_directory_path() / "evoalloc_test_final_front";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  save_checkpoint(dir.string(), s);
  const RunState back = load_checkpoint(dir.string());
  CHECK(back.final_front == s.final_front);
  write_tables(dir.string(), back);
  std::ifstream in(dir / "front.csv");
  std::vector<std::string> first_fields;
  for (std::string line; std::getline(in, line);) first_fields.push_back(csv_split(line).at(0));
  CHECK(first_fields == std::vector<std::string>{"sentence", "A threads=tcache", "A' threads=tcache",
                                                 "B threads=tcache", "C threads=lock"});
  // An index outside the archive is a one-line error naming the line.
  {
    std::string text;
    {
      std::ifstream t(dir / "checkpoint.txt");
      text.assign(std::istreambuf_iterator<char>(t), {});
    }
    const std::size_t at = text.find("final_front 4 1 2 3 6");
    REQUIRE(at != std::string::npos);
    text.replace(at, 21, "final_front 4 1 2 3 7");
    std::ofstream(dir / "checkpoint.txt") << text;
  }
  CHECK_THROWS_WITH_AS(load_checkpoint(dir.string()), doctest::Contains("index 7 outside the archive"),
                       std::runtime_error);
  std::filesystem::remove_all(dir);
}
