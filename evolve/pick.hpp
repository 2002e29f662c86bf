// evolve/pick.hpp — a run's designs read back from front.csv / archive.csv, and the
// choice of one of them (`evoalloc export --pick`, `evoalloc fidelity`).
//
// read_metrics_table(path) reads a table written by evolve (columns of
// metrics_csv_header(), evolve/archive.hpp) and keeps every row both parsed
// (ArchiveEntry) and as text fields (the export prints them in design.hpp).
// Errors name the file and line: "PATH:LINE: ...".
//
// pick_row(table, pick) chooses among the valid, feasible rows:
//   fastest       the least speed score (speed_score below); rows within
//                 kSpeedTie (3%) of it are tied. The fastest row is picked unless its
//                 peak footprint is more than kFootprintTie (1.2) times the smallest
//                 of the tied rows': then that leanest tied row (the faster of equals).
//                 Replay speeds are wall-clock figures that vary a few percent run to
//                 run on a shared machine: a difference below that is noise, and must
//                 not buy a design that holds many times the memory of another as
//                 fast. A footprint difference below 1.2x does not move the program's
//                 max RSS (it is the replay's peak, without the program's own memory)
//                 and must not cost the speed either: on two threaded runs (seeds 3
//                 and 4 of configs/threaded.yaml) leaner tied rows, 7% and 11% below
//                 the fastest's footprint, ran xmalloc-test and larson 0.6-0.9x as fast
//                 as the fastest row, with no less max RSS on larson and fdfind
//                 (docs/benchmarks.md).
//                 Thread models: when that rule chose a threads=tlh row and a
//                 threads=tcache row is within kModelTie (10%) of its speed (and its
//                 footprint within kFootprintTie of the least of the rows tied with the
//                 fastest), the fastest such tcache row wins. The threaded replay runs
//                 each trace thread as fast as its waits allow, so it does not
//                 reproduce a program whose threads pace each other (a producer held
//                 back by a full queue): tlh's owner then drains and refiles every
//                 block its consumers freed, on the program's critical path, where
//                 tcache's caches pass whole batches. On the real programs measured
//                 (docs/benchmarks.md, issue 14) tcache ran xmalloc-test 1.2-1.9x and
//                 larson 1.1-1.2x as fast as the same design under tlh and tied it on
//                 fdfind and pyqueue, while the replay of a recorded xmalloc-test
//                 ranked tlh 1.3x ahead: a tie in the replay is no evidence for tlh,
//                 and neither is a lead of a few percent: the same design's tlh and
//                 tcache rows, re-measured side by side, land up to 5% apart in either
//                 order from run to run (docs/benchmarks.md, session 30: a slab tlh
//                 row 5% ahead of its tcache twin in one run, level or behind in
//                 direct replays, 0.77x of mimalloc on xmalloc-test and 0.81x of
//                 tcmalloc on larson where the tcache picks of three other seeds ran
//                 1.00-1.01x and 1.01-1.10x). So the margin is kModelTie, wider than
//                 kSpeedTie, and the final front keeps a tcache twin within it
//                 (evolve/remeasure.hpp).
//   leanest       the least fragmentation
//   best-quality  the least quality (locality) value
//   knee          the least Euclidean distance to the ideal point after scaling the
//                 speed score, fragmentation and quality to [0, 1] over the rows
//   N             row N of the table (0-based), which must be valid and feasible
// speed_score: the measured replay speed (speed_measured_ns: the run's final front
// is re-measured with the shipped code path, see evolve/run.hpp) when every feasible
// row has one, else the run's speed objective column `speed`.
// A bad pick text throws std::invalid_argument; no feasible row, std::runtime_error.
#pragma once

#include <string>
#include <vector>

#include "evolve/archive.hpp"

namespace evo {

inline constexpr double kSpeedTie = 0.03;
inline constexpr double kFootprintTie = 1.2;
/// How far behind a chosen threads=tlh row a threads=tcache row may be and still be
/// exported instead (fastest, above); and how far ahead of its own tcache twin a tlh
/// design must be to push the twin off the final front (remeasured_front).
inline constexpr double kModelTie = 0.10;

struct TableRow {
  ArchiveEntry entry;
  std::vector<std::string> fields;  ///< the row's text, one field per header column
  bool usable() const { return entry.metrics.valid && entry.metrics.feasible; }
};

struct MetricsTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<TableRow> rows;
};

MetricsTable read_metrics_table(const std::string& path);

/// The speed a pick ranks by (see above), per row (NaN for unusable rows).
std::vector<double> speed_scores(const MetricsTable& t);
/// "speed_measured_ns" or "speed": the column speed_scores() reads.
std::string speed_score_column(const MetricsTable& t);

/// *why (when given) says in one line why the row was chosen, with the figures
/// that decided (for fastest: the fastest row, and the tie when one was looked at).
std::size_t pick_row(const MetricsTable& t, const std::string& pick, std::string* why = nullptr);

/// The header of fidelity.csv (`evoalloc fidelity`, app/cmd_fidelity.cpp): one row
/// per design tried on the real program. label (fidN, its library), origin (front
/// or archive), sentence, speed_modeled (cycles/op), speed_measured_ns (the replay
/// re-measured), replay_peak_footprint (bytes), then the program's medians over the
/// bench's rounds: wall_s, wall_ratio and cpu_ratio (against glibc in the same
/// round), score_ratio (with --score: the design's figure over glibc's, higher is
/// better; empty without), max_rss_kib, real_peak_footprint (bytes, the library's
/// own EVOALLOC_STATS).
inline constexpr const char* kFidelityCsvHeader =
    "label,origin,sentence,speed_modeled,speed_measured_ns,replay_peak_footprint,wall_s,wall_ratio,cpu_ratio,"
    "score_ratio,max_rss_kib,real_peak_footprint";

/// `export --pick program`: the design that ran the real program best, read from
/// a fidelity.csv, by the rule of `fastest` above on the program's own figures: the
/// figure is glibc's score over the design's when every row has a score_ratio (the
/// program printed its throughput), else the wall-time ratio to glibc (lower is
/// better either way); rows within kSpeedTie of the best are tied, and the best
/// stands unless its max RSS is more than kFootprintTie times the least of the
/// tied rows' (then that row: the faster of equals). Errors (a missing file, another
/// header, a bad figure) throw std::runtime_error naming the file and line.
struct ProgramPick {
  std::string label, sentence;
  std::string why;  ///< one line: the figures that decided
};
ProgramPick pick_program(const std::string& fidelity_csv);

/// The `trace:` of RUN_DIR/config.yaml as written ("" when the file or key is missing).
std::string run_trace(const std::string& run_dir);
/// The `extra_traces:` of RUN_DIR/config.yaml (empty when none or missing).
std::vector<std::string> run_extra_traces(const std::string& run_dir);

/// The `threaded_replay:` model of RUN_DIR/config.yaml (lock, tlh or tcache: the
/// model the run measured designs that name none under); "" when off or missing.
std::string run_thread_model(const std::string& run_dir);

}  // namespace evo
