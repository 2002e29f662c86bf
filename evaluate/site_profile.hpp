// evaluate/site_profile.hpp — what each call site of a trace allocates and how long
// it keeps it: the per-site profile printed by `evoalloc trace sites`, and the input
// of designs that route allocations by site class.
//
// Objects follow evaluate/trace_stats.hpp (and replay):
//   * an object is created by an allocating op (malloc, calloc, memalign,
//     posix_memalign, aligned_alloc, valloc, pvalloc: is_alloc_kind) or by a realloc
//     of an empty slot (realloc(NULL, n)); it belongs to the site of that op.
//   * a realloc of a live object resizes it in place, whether or not the recorded
//     allocator moved it (the trace does not say): same object, same site, its
//     lifetime goes on, it is not counted again (its new size is not an allocation).
//   * the object ends at a Free or a realloc to size 0 of its slot. An allocation
//     into a slot still live (a missed free) ends the old object as never freed.
// Per site (bytes are requested bytes; ops are indexes in Trace::ops):
//   site, where         Trace::sites index and its module, offset, symbol
//   allocs              objects created at the site
//   bytes               sum of their sizes at creation
//   size_min/max        smallest and largest of those sizes
//   size_median/p90     quantiles of those sizes
//   freed               objects of the site that ended (free or realloc to 0)
//   never_freed         allocs - freed: live at the end of the trace, or lost to a
//                       missed free; never_freed_share() = never_freed / allocs
//   lifetime_ops_*      over the freed objects: op index of the end minus op index
//                       of the creation (a malloc freed by the next op lives 1)
//   lifetime_bytes_*    over the freed objects: bytes of all objects created (at any
//                       site) strictly between its creation and its end
// Quantiles are exact, nearest rank: the q-quantile of n values is the value of rank
// ceil(q * n) in increasing order (the median of 1,2,3,4 is 2); 0 when there are no
// values (e.g. lifetimes of a site that frees nothing).
// Order ("top sites first"): allocs decreasing, ties by site id increasing. Sites
// that create no object (e.g. only free) are left out.
// Cost: one pass over the ops plus a selection per site: O(ops) time, memory one
// entry per object slot and three numbers per allocation.
// JSON (print_site_profiles_json): one object {"ops", "allocs", "site_count",
//   "sites":[{site, module, offset, symbol, allocs, bytes, size_min, size_median,
//   size_p90, size_max, freed, never_freed, never_freed_share, lifetime_ops_median,
//   lifetime_ops_p90, lifetime_bytes_median, lifetime_bytes_p90}]}; site_count counts
//   every site with allocations, "sites" holds the first `top` of them.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <span>
#include <vector>

#include "core/export/exporter.hpp"
#include "evaluate/trace.hpp"
#include "evaluate/trace_stats.hpp"

namespace evo {

/// A site's counts (site, where, allocs, bytes: as trace info's top sites) and more.
struct SiteProfile : SiteCount {
  std::uint64_t size_min = 0, size_median = 0, size_p90 = 0, size_max = 0;
  std::uint64_t freed = 0, never_freed = 0;
  std::uint64_t lifetime_ops_median = 0, lifetime_ops_p90 = 0;
  std::uint64_t lifetime_bytes_median = 0, lifetime_bytes_p90 = 0;

  /// never_freed / allocs (0 when allocs is 0).
  double never_freed_share() const;
};

/// The profile of every site that creates an object, top sites first (see above).
std::vector<SiteProfile> site_profiles(const Trace& t);

/// What a routing design (core/route/router.hpp) classifies sites by, indexed by
/// site id (Trace::sites.size() entries; sites that create nothing are zero).
std::vector<SiteLife> site_lives(const Trace& t);

/// The trace's sites for exporting a routing design (ExportRequest::sites): every
/// named site that creates objects, with its module, offset, symbol and lives
/// (`lives`: site_lives(t), when the caller has it already).
std::vector<ExportSite> export_sites(const Trace& t, std::span<const SiteLife> lives);
std::vector<ExportSite> export_sites(const Trace& t);

/// Nearest-rank quantile of `v` at `percent` (1..100): the value of rank
/// ceil(percent * n / 100) in increasing order; reorders `v`; 0 when `v` is empty.
std::uint64_t nearest_rank(std::vector<std::uint64_t>& v, unsigned percent);

/// An aligned table, one line per site, the first `top` sites (0 = all), under a
/// line of totals. `ops` is the trace's op count.
void print_site_profiles_text(std::ostream& os, const std::vector<SiteProfile>& p, std::uint64_t ops,
                              std::size_t top);
/// One JSON object (keys above), the first `top` sites (0 = all).
void print_site_profiles_json(std::ostream& os, const std::vector<SiteProfile>& p, std::uint64_t ops,
                              std::size_t top);

}  // namespace evo
