// evaluate/trace_stats.hpp — the summary printed by `evoalloc trace info`.
//
// Computed in one streaming pass (TraceReader), so memory is bounded by the
// number of object slots and distinct sizes, not by the trace length.
//
// Definitions (bytes are requested bytes; lifetimes are counted in ops):
//   ops.<kind>        ops of each kind; "aligned" = memalign + posix_memalign +
//                     aligned_alloc + valloc + pvalloc
//   objects           objects created: allocating ops + reallocs of an empty slot
//   object_slots      dense ids used (Trace::objects)
//   peak_live_bytes   maximum over the trace of the sum of requested sizes of live objects
//   peak_live_objects maximum number of live objects
//   distinct_sizes    distinct request sizes of allocating ops and reallocs
//   size histogram    log2 buckets: bucket b counts sizes s with 2^(b-1) < s <= 2^b
//                     (b = 0 holds sizes 0 and 1)
//   lifetime          for each freed object (or reallocated to 0): ops from its
//                     allocation to its free (a realloc keeps the object alive);
//                     mean, max, log2-bucket median/p90 (upper bound of the bucket);
//                     objects never freed are counted apart
//   threads           threads that made a request
//   top sites         the 10 call sites with the most allocating ops
//   unmatched_frees   the trace's counter of the same name (see trace.hpp)
// JSON (--json): one object with the keys ops{malloc,calloc,realloc,free,aligned,
//   total, memalign,posix_memalign,aligned_alloc,valloc,pvalloc}, objects,
//   object_slots, peak_live_bytes, peak_live_objects, distinct_sizes,
//   total_requested_bytes, size_min, size_max, size_histogram[{le,count}],
//   lifetime{freed,never_freed,mean_ops,max_ops,median_ops_le,p90_ops_le}, threads,
//   top_sites[{site,module,offset,symbol,allocs,bytes}], unmatched_frees,
//   counters{...}, meta{...}, truncated.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "evaluate/trace.hpp"

namespace evo {

struct SiteCount {
  std::uint32_t site = 0;
  CallSite where;
  std::uint64_t allocs = 0;
  std::uint64_t bytes = 0;
};

struct TraceStats {
  std::uint64_t by_kind[kOpKinds] = {};
  std::uint64_t ops = 0;
  std::uint64_t objects = 0;
  std::uint64_t object_slots = 0;
  std::uint64_t peak_live_bytes = 0;
  std::uint64_t peak_live_objects = 0;
  std::uint64_t distinct_sizes = 0;
  std::uint64_t total_requested = 0;
  std::uint64_t size_min = 0, size_max = 0;
  std::vector<std::uint64_t> size_log2;  ///< bucket b: 2^(b-1) < size <= 2^b
  std::uint64_t freed = 0, never_freed = 0;
  double lifetime_mean = 0;
  std::uint64_t lifetime_max = 0, lifetime_median_le = 0, lifetime_p90_le = 0;
  std::uint32_t threads = 0;
  std::vector<SiteCount> top_sites;
  std::uint64_t unmatched_frees = 0;
  std::vector<std::pair<std::string, std::uint64_t>> counters;
  std::vector<std::pair<std::string, std::string>> meta;
  bool truncated = false;

  std::uint64_t aligned() const;
};

/// One streaming pass over the trace file (throws like read_trace).
TraceStats trace_stats(const std::string& path, const ReadOptions& opt = {});

void print_stats_text(std::ostream& os, const TraceStats& s);
void print_stats_json(std::ostream& os, const TraceStats& s);

/// A call site as text: "(unknown)" for site 0, else `module:(symbol)[0xoffset]`
/// (module and symbol left out when empty).
std::string site_label(std::uint32_t site, const CallSite& where);

/// JSON string literal for s (quotes and escapes).
std::string json_string(const std::string& s);

}  // namespace evo
