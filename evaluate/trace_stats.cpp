// evaluate/trace_stats.cpp — `trace info` summary (definitions in trace_stats.hpp).
#include "evaluate/trace_stats.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <ostream>
#include <unordered_set>

namespace evo {

namespace {

unsigned log2_bucket(std::uint64_t s) { return s <= 1 ? 0 : static_cast<unsigned>(std::bit_width(s - 1)); }

struct Pass {
  TraceStats st;
  std::vector<std::uint64_t> born;  // per slot: op index of allocation, or kDead
  std::vector<std::uint64_t> size;  // per slot: requested size while live
  std::unordered_set<std::uint64_t> sizes;
  std::vector<std::uint64_t> life_log2 = std::vector<std::uint64_t>(65, 0);
  std::vector<SiteCount> sites;
  std::uint64_t live = 0, live_objects = 0, life_sum = 0;
  static constexpr std::uint64_t kDead = UINT64_MAX;

  void grow(std::uint32_t object) {
    if (object >= born.size()) {
      std::size_t n = std::max<std::size_t>(object + 1, born.size() * 2);
      born.resize(n, kDead);
      size.resize(n, 0);
    }
  }
  void count_size(std::uint64_t s) {
    sizes.insert(s);
    st.total_requested += s;
    if (st.size_log2.size() <= log2_bucket(s)) st.size_log2.resize(log2_bucket(s) + 1, 0);
    ++st.size_log2[log2_bucket(s)];
    st.size_min = sizes.size() == 1 ? s : std::min(st.size_min, s);
    st.size_max = std::max(st.size_max, s);
  }
  void site_alloc(std::uint32_t site, std::uint64_t bytes) {
    if (site >= sites.size()) sites.resize(site + 1);
    sites[site].site = site;
    ++sites[site].allocs;
    sites[site].bytes += bytes;
  }
  void die(std::uint32_t o, std::uint64_t at) {
    std::uint64_t life = at - born[o];
    ++st.freed;
    life_sum += life;
    st.lifetime_max = std::max(st.lifetime_max, life);
    ++life_log2[log2_bucket(life)];
    live -= size[o];
    --live_objects;
    born[o] = kDead;
    size[o] = 0;
  }
  void birth(std::uint32_t o, std::uint64_t at, std::uint64_t s) {
    if (born[o] != kDead) {  // slot reused without a free: the old object leaks
      live -= size[o];
      --live_objects;
      ++st.never_freed;
    }
    born[o] = at;
    size[o] = s;
    live += s;
    ++live_objects;
    ++st.objects;
  }

  void op(std::uint64_t at, const Op& op, std::uint64_t s) {
    ++st.by_kind[static_cast<int>(op.kind)];
    grow(op.object);
    const std::uint32_t o = op.object;
    switch (op.kind) {
      case OpKind::Free:
        if (born[o] != kDead) die(o, at);
        break;
      case OpKind::Realloc:
        if (born[o] == kDead) {
          if (s == 0) break;
          birth(o, at, s);
          count_size(s);
          site_alloc(op.site, s);
        } else if (s == 0) {
          die(o, at);
        } else {
          live += s - size[o];
          size[o] = s;
          count_size(s);
        }
        break;
      default:
        birth(o, at, s);
        count_size(s);
        site_alloc(op.site, s);
        break;
    }
    st.peak_live_bytes = std::max(st.peak_live_bytes, live);
    st.peak_live_objects = std::max(st.peak_live_objects, live_objects);
  }
};

std::uint64_t bucket_quantile(const std::vector<std::uint64_t>& h, std::uint64_t total, double q) {
  if (total == 0) return 0;
  std::uint64_t want = static_cast<std::uint64_t>(q * static_cast<double>(total));
  std::uint64_t acc = 0;
  for (std::size_t b = 0; b < h.size(); ++b) {
    acc += h[b];
    if (acc > want || acc == total) return b == 0 ? 1 : std::uint64_t{1} << b;
  }
  return std::uint64_t{1} << (h.size() - 1);
}

}  // namespace

std::uint64_t TraceStats::aligned() const {
  std::uint64_t a = 0;
  for (int k = static_cast<int>(OpKind::Memalign); k < kOpKinds; ++k) a += by_kind[k];
  return a;
}

TraceStats trace_stats(const std::string& path, const ReadOptions& opt) {
  TraceReader reader(path, opt);
  Pass p;
  TraceReader::Batch b;
  while (reader.next(b))
    for (std::size_t i = 0; i < b.ops.size(); ++i) p.op(b.first + i, b.ops[i], b.sizes[i]);
  TraceStats& st = p.st;
  for (auto o : p.born)
    if (o != Pass::kDead) ++st.never_freed;
  for (auto c : st.by_kind) st.ops += c;
  st.object_slots = reader.objects();
  st.threads = reader.threads();
  st.distinct_sizes = p.sizes.size();
  st.lifetime_mean = st.freed ? static_cast<double>(p.life_sum) / static_cast<double>(st.freed) : 0.0;
  st.lifetime_median_le = bucket_quantile(p.life_log2, st.freed, 0.5);
  st.lifetime_p90_le = bucket_quantile(p.life_log2, st.freed, 0.9);
  std::sort(p.sites.begin(), p.sites.end(), [](const SiteCount& a, const SiteCount& b) {
    return a.allocs != b.allocs ? a.allocs > b.allocs : a.site < b.site;
  });
  for (const SiteCount& s : p.sites) {
    if (s.allocs == 0 || st.top_sites.size() == 10) break;
    st.top_sites.push_back(s);
    if (s.site < reader.sites().size()) st.top_sites.back().where = reader.sites()[s.site];
  }
  st.counters = reader.counters();
  st.meta = reader.meta();
  for (const auto& [k, v] : st.counters)
    if (k == "unmatched_frees") st.unmatched_frees = v;
  st.truncated = reader.truncated();
  return st;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string site_label(std::uint32_t site, const CallSite& where) {
  if (site == 0) return "(unknown)";
  char off[32];
  std::snprintf(off, sizeof off, "0x%llx", static_cast<unsigned long long>(where.offset));
  std::string t = where.module.empty() ? "" : where.module + ":";
  if (!where.symbol.empty()) t += "(" + where.symbol + ")";
  return t + "[" + off + "]";
}

void print_stats_text(std::ostream& os, const TraceStats& s) {
  for (const auto& [k, v] : s.meta) os << k << ": " << v << '\n';
  os << "ops: " << s.ops << '\n';
  for (int k = 0; k < kOpKinds; ++k)
    if (s.by_kind[k] != 0 || k <= static_cast<int>(OpKind::Free))
      os << "  " << op_kind_name(static_cast<OpKind>(k)) << ": " << s.by_kind[k] << '\n';
  os << "objects: " << s.objects << " (" << s.object_slots << " slots)\n"
     << "peak live: " << s.peak_live_bytes << " bytes, " << s.peak_live_objects << " objects\n"
     << "requested: " << s.total_requested << " bytes, sizes " << s.size_min << ".." << s.size_max << ", "
     << s.distinct_sizes << " distinct\n"
     << "size histogram (log2 buckets, size <= bound):\n";
  for (std::size_t b = 0; b < s.size_log2.size(); ++b)
    if (s.size_log2[b] != 0) os << "  <= " << (b == 0 ? 1 : std::uint64_t{1} << b) << ": " << s.size_log2[b] << '\n';
  os << "lifetime (ops): " << s.freed << " freed, mean " << s.lifetime_mean << ", median <= " << s.lifetime_median_le
     << ", p90 <= " << s.lifetime_p90_le << ", max " << s.lifetime_max << "; " << s.never_freed << " never freed\n"
     << "threads: " << s.threads << '\n'
     << "top call sites (allocations, bytes):\n";
  for (const SiteCount& t : s.top_sites)
    os << "  " << t.allocs << "  " << t.bytes << "  " << site_label(t.site, t.where) << '\n';
  os << "unmatched frees: " << s.unmatched_frees << '\n';
  for (const auto& [k, v] : s.counters)
    if (k != "unmatched_frees" && v != 0) os << k << ": " << v << '\n';
  if (s.truncated) os << "warning: trace truncated (no end record); counts cover the ops before the cut\n";
}

void print_stats_json(std::ostream& os, const TraceStats& s) {
  os << "{\"ops\":{\"malloc\":" << s.by_kind[0] << ",\"calloc\":" << s.by_kind[1] << ",\"realloc\":" << s.by_kind[2]
     << ",\"free\":" << s.by_kind[3] << ",\"aligned\":" << s.aligned() << ",\"total\":" << s.ops;
  for (int k = static_cast<int>(OpKind::Memalign); k < kOpKinds; ++k)
    os << ",\"" << op_kind_name(static_cast<OpKind>(k)) << "\":" << s.by_kind[k];
  os << "},\"objects\":" << s.objects << ",\"object_slots\":" << s.object_slots
     << ",\"peak_live_bytes\":" << s.peak_live_bytes << ",\"peak_live_objects\":" << s.peak_live_objects
     << ",\"distinct_sizes\":" << s.distinct_sizes << ",\"total_requested_bytes\":" << s.total_requested
     << ",\"size_min\":" << s.size_min << ",\"size_max\":" << s.size_max << ",\"size_histogram\":[";
  bool first = true;
  for (std::size_t b = 0; b < s.size_log2.size(); ++b) {
    if (s.size_log2[b] == 0) continue;
    os << (first ? "" : ",") << "{\"le\":" << (b == 0 ? 1 : std::uint64_t{1} << b) << ",\"count\":" << s.size_log2[b] << "}";
    first = false;
  }
  os << "],\"lifetime\":{\"freed\":" << s.freed << ",\"never_freed\":" << s.never_freed
     << ",\"mean_ops\":" << s.lifetime_mean << ",\"max_ops\":" << s.lifetime_max
     << ",\"median_ops_le\":" << s.lifetime_median_le << ",\"p90_ops_le\":" << s.lifetime_p90_le
     << "},\"threads\":" << s.threads << ",\"top_sites\":[";
  first = true;
  for (const SiteCount& t : s.top_sites) {
    os << (first ? "" : ",") << "{\"site\":" << t.site << ",\"module\":" << json_string(t.where.module)
       << ",\"offset\":" << t.where.offset << ",\"symbol\":" << json_string(t.where.symbol)
       << ",\"allocs\":" << t.allocs << ",\"bytes\":" << t.bytes << "}";
    first = false;
  }
  os << "],\"unmatched_frees\":" << s.unmatched_frees << ",\"counters\":{";
  first = true;
  for (const auto& [k, v] : s.counters) {
    os << (first ? "" : ",") << json_string(k) << ":" << v;
    first = false;
  }
  os << "},\"meta\":{";
  first = true;
  for (const auto& [k, v] : s.meta) {
    os << (first ? "" : ",") << json_string(k) << ":" << json_string(v);
    first = false;
  }
  os << "},\"truncated\":" << (s.truncated ? "true" : "false") << "}\n";
}

}  // namespace evo
