// Tests of evolve/pick.hpp: reading a run's table back and choosing a design.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "evolve/pick.hpp"

using namespace evo;
namespace fs = std::filesystem;

namespace {

ArchiveEntry row(const char* sentence, double modeled, double measured, double frag, double quality,
                 std::uint64_t footprint, bool feasible = true) {
  ArchiveEntry e;
  e.sentence = sentence;
  e.genome.codons = {1, 2};
  e.metrics.valid = true;
  e.metrics.feasible = feasible;
  e.metrics.completed = 1;
  e.metrics.speed = e.metrics.speed_modeled = modeled;
  e.metrics.speed_measured_ns = measured;
  e.metrics.fragmentation = frag;
  e.metrics.quality = quality;
  e.metrics.peak_footprint = footprint;
  return e;
}

std::string write_table(const std::vector<ArchiveEntry>& rows) {
  const fs::path p = fs::temp_directory_path() / ("evoalloc_test_pick_" + std::to_string(getpid()) + ".csv");
  std::ofstream f(p);
  f << metrics_csv_header() << '\n';
  for (const ArchiveEntry& e : rows) f << archive_csv_row(e) << '\n';
  return p.string();
}

}  // namespace

TEST_CASE("fastest ranks by the measured replay speed, and a hair of speed does not buy memory") {
  // Row 0 is fastest by the model but slow when measured; rows 1 and 2 are within 3%
  // of each other when measured, row 2 holding a tenth of row 1's footprint.
  const MetricsTable t = read_metrics_table(write_table({
      row("pad chunk=1M", 1.0, 20.0, 50.0, 5.0, 64 << 20),
      row("superblock", 3.0, 10.0, 4.0, 2.0, 40 << 20),
      row("slab", 4.0, 10.2, 1.0, 3.0, 4 << 20),
      row("btag", 5.0, 11.0, 0.5, 4.0, 2 << 20),
      row("vm", 0.5, 1.0, 0.1, 0.1, 1 << 20, false),  // infeasible: never picked
  }));
  CHECK(speed_score_column(t) == "speed_measured_ns");
  CHECK(pick_row(t, "fastest") == 2);
  CHECK(pick_row(t, "leanest") == 3);
  CHECK(pick_row(t, "best-quality") == 1);
  CHECK(pick_row(t, "1") == 1);
  CHECK_THROWS_AS(pick_row(t, "4"), std::runtime_error);   // not feasible
  CHECK_THROWS_AS(pick_row(t, "9"), std::invalid_argument);
  CHECK_THROWS_AS(pick_row(t, "1x"), std::invalid_argument);
  CHECK_THROWS_AS(pick_row(t, "sideways"), std::invalid_argument);
  CHECK(t.rows[2].fields[0] == "slab");
}

TEST_CASE("a tied row's smaller footprint wins only when the fastest holds more than 1.2x of it") {
  // Rows 0-2 are within 3% of row 0 (the fastest); row 3 is 4% slower than row 0.
  auto table = [](std::uint64_t fp_fast, std::uint64_t fp_tied) {
    return read_metrics_table(write_table({
        row("slab", 5.0, 10.0, 1.0, 1.0, fp_fast),
        row("superblock", 4.0, 10.2, 1.0, 1.0, fp_tied),
        row("block", 3.0, 10.29, 1.0, 1.0, fp_fast),
        row("btag", 2.0, 10.4, 1.0, 1.0, 1 << 20),  // leaner, but 4% slower: not tied
    }));
  };
  CHECK(pick_row(table(3'300'000, 2'900'000), "fastest") == 0);  // 1.14x: the fastest stands
  CHECK(pick_row(table(3'300'000, 2'800'000), "fastest") == 0);  // 1.18x: still the fastest
  CHECK(pick_row(table(3'300'000, 2'700'000), "fastest") == 1);  // 1.22x: the leaner tied row
  CHECK(pick_row(table(2'000'000, 3'000'000), "fastest") == 0);  // the fastest is the leanest

  // The reason names the rows and figures that decided.
  std::string why;
  CHECK(pick_row(table(3'300'000, 2'900'000), "fastest", &why) == 0);
  CHECK(why == "row 0 is the fastest (10.00 ns/op measured); row 1 is within 3% of it, and the fastest holds 1.14x "
               "its peak footprint (not over 1.2x: the fastest stands)");
  CHECK(pick_row(table(3'300'000, 2'700'000), "fastest", &why) == 1);
  CHECK(why == "row 1 (10.20 ns/op measured) is within 3% of the fastest, row 0 (10.00 ns/op measured), which holds "
               "1.22x its peak footprint (over 1.2x: the leaner row wins)");
  CHECK(pick_row(table(2'000'000, 3'000'000), "fastest", &why) == 0);
  CHECK(why == "row 0 is the fastest (10.00 ns/op measured), and no row within 3% of it has a smaller peak footprint");
  CHECK(pick_row(table(2'000'000, 3'000'000), "3", &why) == 3);
  CHECK(why == "row 3, as asked");
  CHECK(pick_row(table(2'000'000, 3'000'000), "leanest", &why) == 0);
  CHECK(why == "row 0 has the least fragmentation");
}

TEST_CASE("without measured speeds on every row, fastest falls back to the speed objective") {
  const MetricsTable t = read_metrics_table(write_table({
      row("pad chunk=1M", 1.0, std::numeric_limits<double>::quiet_NaN(), 50.0, 5.0, 64 << 20),
      row("superblock", 3.0, 10.0, 4.0, 2.0, 40 << 20),
  }));
  CHECK(speed_score_column(t) == "speed");
  CHECK(pick_row(t, "fastest") == 0);
  CHECK(std::isnan(speed_scores(read_metrics_table(write_table({row("x", 1, 1, 1, 1, 1, false)})))[0]));
}

TEST_CASE("read_metrics_table names the file and line of a bad row") {
  const fs::path p = fs::temp_directory_path() / ("evoalloc_test_pick_bad_" + std::to_string(getpid()) + ".csv");
  {
    std::ofstream f(p);
    f << metrics_csv_header() << "\n" << archive_csv_row(row("slab", 1, 1, 1, 1, 1)) << "\nslab,1.2,x\n";
  }
  CHECK_THROWS_WITH_AS(read_metrics_table(p.string()), doctest::Contains((p.string() + ":3: ").c_str()), std::runtime_error);
  CHECK_THROWS_WITH_AS(read_metrics_table("/no/such/front.csv"), doctest::Contains("cannot open"), std::runtime_error);
  const MetricsTable empty = read_metrics_table(write_table({}));
  CHECK_THROWS_AS(pick_row(empty, "fastest"), std::runtime_error);
}
