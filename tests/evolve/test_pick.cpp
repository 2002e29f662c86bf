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

TEST_CASE("within 10%, a tcache row wins over the tlh row the rule chose; beyond it, speed decides") {
  const char* tlh = "slab slab=16K align=16 source=mmap harden=off front=tcache:256:grow:array retain=16M threads=tlh";
  const char* tcache = "slab slab=16K align=64 source=mmap harden=off front=tcache:64:array retain=16M threads=tcache";
  const char* tcache2 = "slab slab=8K align=16 source=mmap harden=off front=tcache:64:array retain=16M threads=tcache";
  const char* lock = "slab slab=16K align=16 source=mmap harden=off front=tcache:64:array retain=16M threads=lock";
  // Row 0 (tlh) is the fastest; row 1 (tcache) at `slower` times its speed.
  auto table = [&](double slower, std::uint64_t fp_tcache, const char* other = nullptr) {
    std::vector<ArchiveEntry> rows = {row(tlh, 5.0, 10.0, 1.0, 1.0, 3'000'000),
                                      row(tcache, 5.0, 10.0 * slower, 1.0, 1.0, fp_tcache)};
    if (other != nullptr) rows.push_back(row(other, 5.0, 10.1, 1.0, 1.0, 3'000'000));
    return read_metrics_table(write_table(rows));
  };
  std::string why;
  CHECK(pick_row(table(1.025, 3'000'000), "fastest", &why) == 1);  // within 3%: tcache
  CHECK(pick_row(table(1.08, 3'000'000), "fastest", &why) == 1);   // 8% behind: still tcache (kModelTie)
  CHECK(why == "row 0 is the fastest (10.00 ns/op measured), and no row within 3% of it has a smaller peak "
               "footprint; row 1 (10.80 ns/op measured), threads=tcache, is within 10% of row 0, threads=tlh, and "
               "tied on footprint: within that margin the tcache model wins (the threaded replay does not reproduce "
               "a program's producer/consumer pacing, which costs tlh and not tcache)");
  CHECK(pick_row(table(1.11, 3'000'000), "fastest") == 0);      // 11% slower: beyond the margin, tlh stays
  CHECK(pick_row(table(1.02, 3'700'000), "fastest") == 0);      // tied on speed, 1.23x the memory: tlh stays
  CHECK(pick_row(table(1.02, 3'500'000), "fastest") == 1);      // 1.17x the memory: still a tie
  CHECK(pick_row(table(1.02, 1'000'000), "fastest") == 1);      // leaner and tied: tcache either way
  // The fastest of the tied tcache rows; a lock row is not preferred.
  CHECK(pick_row(table(1.025, 3'000'000, tcache2), "fastest") == 2);
  CHECK(pick_row(table(1.11, 3'000'000, lock), "fastest") == 0);
  // Rows without a thread model (a sequential grammar) are ranked as before.
  const MetricsTable plain = read_metrics_table(
      write_table({row("slab", 5.0, 10.0, 1.0, 1.0, 3'000'000), row(tcache, 5.0, 10.1, 1.0, 1.0, 3'000'000)}));
  CHECK(pick_row(plain, "fastest") == 0);
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

namespace {

struct FidRow {
  const char* label;
  const char* sentence;
  double wall;   // wall_ratio
  double score;  // score_ratio; 0: the program printed no score (empty field)
  double rss;    // max_rss_kib
};

std::string write_fidelity(const std::vector<FidRow>& rows, const std::string& header = kFidelityCsvHeader) {
  const fs::path p = fs::temp_directory_path() / ("evoalloc_test_pick_fid_" + std::to_string(getpid()) + ".csv");
  std::ofstream f(p);
  f << header << '\n';
  for (const FidRow& r : rows) {
    f << r.label << ",front,\"" << r.sentence << "\",100,15.5,1048576,2.0," << r.wall << ",1.0,";
    if (r.score > 0) f << r.score;
    f << ',' << r.rss << ",2097152\n";
  }
  return p.string();
}

}  // namespace

TEST_CASE("pick program: the design that ran the program best, by wall time or by its score") {
  // By wall time (no score): fid1 is the fastest; fid2 is within 3% of it with much
  // less memory, so it wins; without fid2, fid1 stands.
  ProgramPick p = pick_program(write_fidelity({
      {"fid0", "slab threads=tlh", 1.10, 0, 20000},
      {"fid1", "slab threads=tcache", 0.95, 0, 30000},
      {"fid2", "superblock threads=tcache", 0.97, 0, 12000},
  }));
  CHECK(p.label == "fid2");
  CHECK(p.sentence == "superblock threads=tcache");
  CHECK(p.why.find("the leaner design wins") != std::string::npos);
  p = pick_program(write_fidelity({
      {"fid0", "slab threads=tlh", 1.10, 0, 20000},
      {"fid1", "slab threads=tcache", 0.95, 0, 30000},
      {"fid2", "superblock threads=tcache", 0.97, 0, 27000},  // saves less than 1.2x: fid1 stands
  }));
  CHECK(p.label == "fid1");
  CHECK(p.why.find("the best stands") != std::string::npos);
  // With a score on every row the score decides (higher is better), not the wall
  // time (a program that runs for a fixed time).
  p = pick_program(write_fidelity({
      {"fid0", "slab threads=tlh", 1.00, 0.70, 20000},
      {"fid1", "slab threads=tcache", 1.01, 1.15, 20000},
      {"fid2", "superblock threads=tcache", 0.99, 0.90, 20000},
  }));
  CHECK(p.label == "fid1");
  CHECK(p.why.find("score 1.15") != std::string::npos);
}

TEST_CASE("pick program: errors name the file and the line") {
  CHECK_THROWS_WITH_AS(pick_program("/nonexistent/fidelity.csv"),
                       doctest::Contains("/nonexistent/fidelity.csv: cannot open"), std::runtime_error);
  CHECK_THROWS_WITH_AS(pick_program(write_fidelity({}, "label,sentence,wall")),
                       doctest::Contains(":1: not the header"), std::runtime_error);
  CHECK_THROWS_WITH_AS(pick_program(write_fidelity({})), doctest::Contains(": no designs"), std::runtime_error);
  CHECK_THROWS_WITH_AS(pick_program(write_fidelity({{"fid0", "slab", 1.0, 0, 100}, {"fid1", "slab", -2, 0, 100}})),
                       doctest::Contains(":3: wall_ratio '-2' is not a positive number"), std::runtime_error);
  const fs::path p = fs::temp_directory_path() / ("evoalloc_test_pick_fid_short_" + std::to_string(getpid()) + ".csv");
  std::ofstream(p) << kFidelityCsvHeader << "\nfid0,front,slab,1\n";
  CHECK_THROWS_WITH_AS(pick_program(p.string()), doctest::Contains(":2: 4 fields, expected 12"), std::runtime_error);
}
