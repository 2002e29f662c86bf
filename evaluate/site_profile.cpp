// evaluate/site_profile.cpp — per-call-site profile (definitions in site_profile.hpp).
#include "evaluate/site_profile.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <string>

#include "evaluate/trace_stats.hpp"

namespace evo {

namespace {

/// What one site collects during the pass; reduced to a SiteProfile at the end.
struct SiteData {
  std::uint64_t bytes = 0, freed = 0;
  std::vector<std::uint64_t> sizes, life_ops, life_bytes;
};

/// The live object of a slot: where and when it was created.
struct Live {
  static constexpr std::uint64_t kDead = UINT64_MAX;
  std::uint64_t born = kDead;     ///< op index of its creation, or kDead
  std::uint64_t bytes_after = 0;  ///< bytes created up to and including it
  std::uint32_t site = 0;
};

}  // namespace

double SiteProfile::never_freed_share() const {
  return allocs == 0 ? 0.0 : static_cast<double>(never_freed) / static_cast<double>(allocs);
}

std::uint64_t nearest_rank(std::vector<std::uint64_t>& v, unsigned percent) {
  if (v.empty()) return 0;
  const std::size_t rank = std::max<std::size_t>(1, (v.size() * percent + 99) / 100);
  auto nth = v.begin() + static_cast<std::ptrdiff_t>(rank - 1);
  std::nth_element(v.begin(), nth, v.end());
  return *nth;
}

std::vector<SiteProfile> site_profiles(const Trace& t) {
  std::vector<SiteData> data(std::max<std::size_t>(t.sites.size(), 1));
  std::vector<Live> slots(t.objects);
  std::uint64_t created = 0;  // bytes of the objects created so far
  auto end = [&](Live& o, std::uint64_t at) {
    SiteData& d = data[o.site];
    ++d.freed;
    d.life_ops.push_back(at - o.born);
    d.life_bytes.push_back(created - o.bytes_after);
    o.born = Live::kDead;
  };
  for (std::size_t i = 0; i < t.ops.size(); ++i) {
    const Op& op = t.ops[i];
    if (op.object >= slots.size()) slots.resize(op.object + 1);  // a hand-built trace without finish()
    Live& o = slots[op.object];
    const bool live = o.born != Live::kDead;
    if (op.kind == OpKind::Free || (op.kind == OpKind::Realloc && live)) {
      if (live && (op.kind == OpKind::Free || t.size_of(i) == 0)) end(o, i);
      continue;  // a free of an empty slot, or a resize: no new object
    }
    const std::uint64_t size = t.size_of(i);
    if (op.kind == OpKind::Realloc && size == 0) continue;  // realloc(NULL, 0): nothing created
    // A creation; a live object in the slot (missed free) stays never freed.
    if (op.site >= data.size()) data.resize(op.site + 1);
    SiteData& d = data[op.site];
    d.bytes += size;
    d.sizes.push_back(size);
    created += size;
    o = Live{i, created, op.site};
  }
  std::vector<SiteProfile> out;
  for (std::uint32_t s = 0; s < data.size(); ++s) {
    SiteData& d = data[s];
    if (d.sizes.empty()) continue;
    SiteProfile p;
    p.site = s;
    if (s < t.sites.size()) p.where = t.sites[s];
    p.allocs = d.sizes.size();
    p.bytes = d.bytes;
    p.freed = d.freed;
    p.never_freed = p.allocs - p.freed;
    const auto [mn, mx] = std::minmax_element(d.sizes.begin(), d.sizes.end());
    p.size_min = *mn;
    p.size_max = *mx;
    p.size_median = nearest_rank(d.sizes, 50);
    p.size_p90 = nearest_rank(d.sizes, 90);
    p.lifetime_ops_median = nearest_rank(d.life_ops, 50);
    p.lifetime_ops_p90 = nearest_rank(d.life_ops, 90);
    p.lifetime_bytes_median = nearest_rank(d.life_bytes, 50);
    p.lifetime_bytes_p90 = nearest_rank(d.life_bytes, 90);
    out.push_back(std::move(p));
    d = SiteData{};  // free its vectors now
  }
  std::sort(out.begin(), out.end(), [](const SiteProfile& a, const SiteProfile& b) {
    return a.allocs != b.allocs ? a.allocs > b.allocs : a.site < b.site;
  });
  return out;
}

namespace {

std::uint64_t total_allocs(const std::vector<SiteProfile>& p) {
  std::uint64_t n = 0;
  for (const SiteProfile& s : p) n += s.allocs;
  return n;
}

std::size_t shown(const std::vector<SiteProfile>& p, std::size_t top) {
  return top == 0 ? p.size() : std::min(top, p.size());
}

std::string percent(double share) {
  if (share > 0 && share < 0.0005) return "<0.1%";  // a few leaks are not 0.0%
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * share);
  return buf;
}

}  // namespace

void print_site_profiles_text(std::ostream& os, const std::vector<SiteProfile>& p, std::uint64_t ops,
                              std::size_t top) {
  const std::size_t n = shown(p, top);
  os << "ops: " << ops << ", allocations: " << total_allocs(p) << " at " << p.size() << " call sites";
  if (n < p.size()) os << " (top " << n << " by allocations)";
  os << "\nsizes in bytes; lifetimes of the freed objects in ops and in bytes allocated meanwhile\n";
  // Every column but the last (the call site) is right-aligned to its widest cell.
  std::vector<std::vector<std::string>> rows = {{"site", "allocs", "bytes", "size_med", "size_p90", "life_ops_med",
                                                 "life_ops_p90", "life_bytes_med", "life_bytes_p90", "never_freed",
                                                 "call site"}};
  for (std::size_t i = 0; i < n; ++i) {
    const SiteProfile& s = p[i];
    rows.push_back({std::to_string(s.site), std::to_string(s.allocs), std::to_string(s.bytes),
                    std::to_string(s.size_median), std::to_string(s.size_p90), std::to_string(s.lifetime_ops_median),
                    std::to_string(s.lifetime_ops_p90), std::to_string(s.lifetime_bytes_median),
                    std::to_string(s.lifetime_bytes_p90), percent(s.never_freed_share()),
                    site_label(s.site, s.where)});
  }
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t c = 0; c + 1 < r.size(); ++c) line += std::string(width[c] - r[c].size(), ' ') + r[c] + "  ";
    os << line << r.back() << '\n';
  }
}

void print_site_profiles_json(std::ostream& os, const std::vector<SiteProfile>& p, std::uint64_t ops,
                              std::size_t top) {
  const std::size_t n = shown(p, top);
  os << "{\"ops\":" << ops << ",\"allocs\":" << total_allocs(p) << ",\"site_count\":" << p.size() << ",\"sites\":[";
  for (std::size_t i = 0; i < n; ++i) {
    const SiteProfile& s = p[i];
    os << (i == 0 ? "" : ",") << "{\"site\":" << s.site << ",\"module\":" << json_string(s.where.module)
       << ",\"offset\":" << s.where.offset << ",\"symbol\":" << json_string(s.where.symbol)
       << ",\"allocs\":" << s.allocs << ",\"bytes\":" << s.bytes << ",\"size_min\":" << s.size_min
       << ",\"size_median\":" << s.size_median << ",\"size_p90\":" << s.size_p90 << ",\"size_max\":" << s.size_max
       << ",\"freed\":" << s.freed << ",\"never_freed\":" << s.never_freed
       << ",\"never_freed_share\":" << s.never_freed_share() << ",\"lifetime_ops_median\":" << s.lifetime_ops_median
       << ",\"lifetime_ops_p90\":" << s.lifetime_ops_p90 << ",\"lifetime_bytes_median\":" << s.lifetime_bytes_median
       << ",\"lifetime_bytes_p90\":" << s.lifetime_bytes_p90 << "}";
  }
  os << "]}\n";
}

std::vector<SiteLife> site_lives(const Trace& t) {
  std::vector<SiteLife> out(t.sites.size());
  for (const SiteProfile& p : site_profiles(t)) {
    if (p.site >= out.size()) continue;
    out[p.site] = {p.allocs, p.never_freed, p.lifetime_bytes_p90};
  }
  return out;
}

std::vector<ExportSite> export_sites(const Trace& t) { return export_sites(t, site_lives(t)); }

std::vector<ExportSite> export_sites(const Trace& t, std::span<const SiteLife> lives) {
  std::vector<ExportSite> out;
  for (std::size_t i = 1; i < lives.size() && i < t.sites.size(); ++i)  // site 0: unknown
    if (lives[i].allocs != 0) out.push_back({t.sites[i].module, t.sites[i].offset, lives[i], t.sites[i].symbol});
  return out;
}

}  // namespace evo
