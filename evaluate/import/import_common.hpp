// evaluate/import/import_common.hpp — what the log importers share.
//
// Internal helper of the importers (mtrace, record_allocs, heaptrack): each of them
// is a line parser writing into a Sink; this header holds the rest, written once:
//   - Sink: where imported call sites, ops and meta go, either a TraceWriter
//     (WriterSink) or an in-memory Trace (TraceSink);
//   - Objects: live addresses -> dense object slots (freed slots reused, most
//     recently freed first); emit_alloc / emit_free: an allocation or a free
//     written to the sink with its slot and its counts;
//   - next_field: the next space-separated field of a line;
//   - base_name, put_counters (the counters every import writes, names in
//     evaluate/trace.hpp);
//   - import_to_file / import_to_trace: run a parser into a trace file (written
//     under OUT.tmp, renamed at the end, removed when the parser throws) or into
//     memory, with the meta "source" = "FORMAT:BASENAME(IN)" first and the
//     counters last.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "evaluate/import/mtrace.hpp"
#include "evaluate/trace.hpp"

namespace evo::import_detail {

/// Where imported call sites, ops, meta and counters go.
struct Sink {
  virtual ~Sink() = default;
  /// Adds a call site; returns its id (1, 2, ...; 0 is the unknown site).
  virtual std::uint32_t site(const CallSite& s) = 0;
  virtual void op(OpKind k, std::uint32_t object, std::uint64_t size, std::uint8_t align_log2, std::uint16_t thread,
                  std::uint32_t site) = 0;
  virtual void meta(const std::string& key, std::string_view value) = 0;
  virtual void counter(const char* name, std::uint64_t value) = 0;
};

/// Writes through a TraceWriter.
struct WriterSink final : Sink {
  TraceWriter& w;
  explicit WriterSink(TraceWriter& w) : w(w) {}
  std::uint32_t site(const CallSite& s) override { return w.add_site(s); }
  void op(OpKind k, std::uint32_t object, std::uint64_t size, std::uint8_t align_log2, std::uint16_t thread,
          std::uint32_t site) override {
    w.op(k, object, size, align_log2, thread, site);
  }
  void meta(const std::string& key, std::string_view value) override { w.meta(key, value); }
  void counter(const char* name, std::uint64_t value) override { w.counter(name, value); }
};

/// Builds an in-memory Trace (sites[0], the unknown site, added first).
struct TraceSink final : Sink {
  Trace& t;
  explicit TraceSink(Trace& t) : t(t) {
    if (t.sites.empty()) t.sites.push_back(CallSite{});
  }
  std::uint32_t site(const CallSite& s) override {
    t.sites.push_back(s);
    return static_cast<std::uint32_t>(t.sites.size() - 1);
  }
  void op(OpKind k, std::uint32_t object, std::uint64_t size, std::uint8_t align_log2, std::uint16_t thread,
          std::uint32_t site) override {
    t.push(k, object, size, align_log2, thread, site);
  }
  void meta(const std::string& key, std::string_view value) override { t.meta.emplace_back(key, std::string(value)); }
  void counter(const char* name, std::uint64_t value) override { t.counters.emplace_back(name, value); }
};

/// Live addresses -> object slots. A new object takes the most recently freed
/// slot, else the next unused one, so the number of slots stays near the peak
/// number of live objects.
class Objects {
 public:
  /// Binds `addr` to a new object; returns its slot. A still-live object at
  /// `addr` (a missed free) is forgotten, its slot leaked, and `reuse` counted.
  std::uint32_t allocate(std::uint64_t addr, std::uint64_t& reuse) { return bind(addr, new_id(), reuse); }
  /// The object live at `addr` in `id`; false when there is none.
  bool find(std::uint64_t addr, std::uint32_t& id) const {
    auto it = live_.find(addr);
    if (it == live_.end()) return false;
    id = it->second;
    return true;
  }
  /// Ends the object live at `addr` (its slot is freed) and returns it in `id`;
  /// false, and nothing done, when there is none.
  bool release(std::uint64_t addr, std::uint32_t& id) {
    auto it = live_.find(addr);
    if (it == live_.end()) return false;
    id = it->second;
    live_.erase(it);
    free_ids_.push_back(id);
    return true;
  }
  /// Object `id`, live at `from`, now lives at `to` (realloc that moved the
  /// block); a still-live object at `to` is forgotten as in allocate().
  void move(std::uint64_t from, std::uint64_t to, std::uint32_t id, std::uint64_t& reuse) {
    if (from == to) return;
    live_.erase(from);
    bind(to, id, reuse);
  }
  /// Object slots used (max slot + 1).
  std::uint32_t slots() const { return next_id_; }

 private:
  std::uint32_t new_id() {
    if (!free_ids_.empty()) {
      std::uint32_t id = free_ids_.back();
      free_ids_.pop_back();
      return id;
    }
    return next_id_++;
  }
  std::uint32_t bind(std::uint64_t addr, std::uint32_t id, std::uint64_t& reuse) {
    auto [it, fresh] = live_.try_emplace(addr, id);
    if (!fresh) {
      ++reuse;  // missed free: the old object's slot is leaked
      it->second = id;
    }
    return id;
  }

  std::unordered_map<std::uint64_t, std::uint32_t> live_;
  std::vector<std::uint32_t> free_ids_;
  std::uint32_t next_id_ = 0;
};

/// Emits an allocation of kind `k` at `addr` on a new object (Objects::allocate;
/// address_reuse, allocs and ops counted); returns the object.
inline std::uint32_t emit_alloc(Sink& sink, Objects& objects, ImportStats& st, OpKind k, std::uint64_t addr,
                                std::uint64_t size, std::uint8_t align_log2, std::uint16_t thread,
                                std::uint32_t site) {
  const std::uint32_t id = objects.allocate(addr, st.address_reuse);
  sink.op(k, id, size, align_log2, thread, site);
  ++st.allocs;
  ++st.ops;
  return id;
}

/// Emits the Free of the object live at `addr` (its slot freed; frees and ops
/// counted); an address with no live object is counted in unmatched_frees instead.
inline void emit_free(Sink& sink, Objects& objects, ImportStats& st, std::uint64_t addr, std::uint16_t thread,
                      std::uint32_t site) {
  std::uint32_t id;
  if (!objects.release(addr, id)) {
    ++st.unmatched_frees;
    return;
  }
  sink.op(OpKind::Free, id, 0, 0, thread, site);
  ++st.frees;
  ++st.ops;
}

/// The next field of `s` separated by spaces ("" at the end); `s` keeps the rest
/// (from the space after the field).
inline std::string_view next_field(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  std::size_t e = s.find(' ');
  std::string_view f = s.substr(0, e);
  s.remove_prefix(e == std::string_view::npos ? s.size() : e);
  return f;
}

/// `p` without its folders.
std::string base_name(const std::string& p);

/// Writes the counters every import has, in this order: unmatched_frees,
/// free_null, realloc_null, realloc_zero, failed_allocs, address_reuse.
/// realloc_null and realloc_zero are 0 for the formats that cannot tell them.
void put_counters(Sink& sink, const ImportStats& st, std::uint64_t realloc_null = 0, std::uint64_t realloc_zero = 0);

/// What a parser run gives back: its statistics and, for the formats that can
/// tell them, the realloc(NULL, n) and realloc(p, 0) counts.
template <class Stats>
struct Parsed {
  Stats stats;
  std::uint64_t realloc_null = 0, realloc_zero = 0;
};

/// Renames `tmp` to `out`; std::runtime_error "<out>: cannot rename from <tmp>: ...".
void rename_into_place(const std::string& tmp, const std::string& out);

/// Imports `in` into the trace file `out` (zstd level `level`): `parse(Sink&)`
/// returns Parsed<Stats>. Written to OUT.tmp first, so a failed import never
/// leaves a half file (the temporary is removed, the error passed on).
template <class Stats, class Parse>
Stats import_to_file(const std::string& in, const std::string& out, int level, const char* format, Parse parse) {
  const std::string tmp = out + ".tmp";
  Stats st;
  try {
    TraceWriter w(tmp, false, level);
    WriterSink sink(w);
    sink.meta("source", std::string(format) + ":" + base_name(in));
    Parsed<Stats> r = parse(static_cast<Sink&>(sink));
    st = r.stats;
    put_counters(sink, st, r.realloc_null, r.realloc_zero);
    w.close();
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  rename_into_place(tmp, out);
  return st;
}

/// Imports `in` into memory: `parse(Sink&)` returns Parsed<Stats>; the
/// statistics go to `*stats` when it is not null.
template <class Stats, class Parse>
Trace import_to_trace(const std::string& in, Stats* stats, const char* format, Parse parse) {
  Trace t;
  TraceSink sink(t);
  sink.meta("source", std::string(format) + ":" + base_name(in));
  Parsed<Stats> r = parse(static_cast<Sink&>(sink));
  put_counters(sink, r.stats, r.realloc_null, r.realloc_zero);
  t.objects = std::max(t.objects, r.stats.objects);
  t.finish();
  if (stats != nullptr) *stats = r.stats;
  return t;
}

}  // namespace evo::import_detail
