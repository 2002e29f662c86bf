// evolve/archive.hpp — every evaluated design of a run, and the fitness cache.
//
// The archive maps a design's canonical sentence to its Metrics: it *is* the
// fitness cache (an identical design is never replayed twice in a run) and the
// record written to archive.csv. Entries keep insertion order (the order of
// evaluation, which is deterministic: see evolve/evolution.hpp).
//
// CSV form (archive.csv, front.csv and the checkpoint): one header line, then one
// row per design with the columns of metrics_csv_header(): sentence, genome
// (codons joined by '.'), generation first evaluated, then every Metrics field in
// declaration order. Fields containing ',', '"' or a line break are quoted
// ("..." with "" for a quote). Doubles are printed with 17 significant digits so
// they read back bit-exactly; NaN is "nan".
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "evaluate/metrics.hpp"
#include "evolve/genome.hpp"
#include "evolve/nsga2.hpp"

namespace evo {

struct ArchiveEntry {
  std::string sentence;
  Genome genome;                 ///< the first genome that produced it
  std::uint64_t generation = 0;  ///< generation (or exhaustive batch) it was first evaluated in
  Metrics metrics;
};

class Archive {
 public:
  const ArchiveEntry* find(std::string_view sentence) const;
  /// Adds a new design (sentence must not be present). Returns its index.
  std::size_t add(ArchiveEntry e);
  const std::vector<ArchiveEntry>& entries() const { return entries_; }
  std::vector<ArchiveEntry>& entries() { return entries_; }
  std::size_t size() const { return entries_.size(); }

  /// Indices of the feasible designs no other feasible design dominates, sorted
  /// by (speed, fragmentation, quality); equal objective vectors appear once
  /// (the earliest evaluated).
  std::vector<std::size_t> front() const;

 private:
  std::vector<ArchiveEntry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
};

/// Constraint-domination fitness of a metrics record (see evolve/nsga2.hpp):
/// feasible -> violation 0 and the objectives; invalid -> violation 2;
/// infeasible -> 1 + (1 - completed). A feasible record with a non-finite
/// objective counts as invalid.
Fitness fitness_of(const Metrics& m);

// ---- CSV ----
std::string csv_quote(std::string_view field);
/// Splits one CSV line (RFC 4180 quoting, no embedded line breaks).
std::vector<std::string> csv_split(std::string_view line);
/// Hands the fields of `line` (csv_split) to `read(fields)` when there are exactly
/// `n`; false when there are not, or when `read` throws (std::stoull and the like on
/// a malformed field).
template <class Read>
bool read_csv_fields(std::string_view line, std::size_t n, Read read) {
  const std::vector<std::string> fields = csv_split(line);
  if (fields.size() != n) return false;
  try {
    read(fields);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}
/// "%.17g", "nan" for NaN.
std::string format_double(double x);

/// Header of the archive/front CSV.
std::string metrics_csv_header();
std::string archive_csv_row(const ArchiveEntry& e);
/// Parses a row written by archive_csv_row; false (with *err) on a malformed row.
bool parse_archive_csv_row(std::string_view line, ArchiveEntry& out, std::string* err);

}  // namespace evo
