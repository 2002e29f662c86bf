// evaluate/trace.cpp — trace file writer and readers (format: see trace.hpp).
#include "evaluate/trace.hpp"

#include <sys/stat.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace evo {

namespace {

constexpr std::size_t kBatchOps = 65536;          // ops per 'O' record / zstd frame
constexpr std::uint64_t kMaxRecord = 64u << 20;   // larger records are corrupt
constexpr std::uint64_t kMaxString = 1u << 20;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what);
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_str(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}
void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

/// Bounds-checked decoding cursor over one record's payload.
struct Cursor {
  const unsigned char* p;
  const unsigned char* end;
  bool ok = true;
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end) {
        ok = false;
        return 0;
      }
      unsigned char b = *p++;
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok = false;
    return 0;
  }
  std::uint8_t byte() {
    if (p == end) {
      ok = false;
      return 0;
    }
    return *p++;
  }
  std::string str() {
    std::uint64_t n = varint();
    if (!ok || n > kMaxString || n > static_cast<std::uint64_t>(end - p)) {
      ok = false;
      return {};
    }
    std::string s(reinterpret_cast<const char*>(p), n);
    p += n;
    return s;
  }
};

}  // namespace

const char* op_kind_name(OpKind k) {
  static const char* const names[kOpKinds] = {"malloc", "calloc", "realloc", "free", "memalign",
                                              "posix_memalign", "aligned_alloc", "valloc", "pvalloc"};
  auto i = static_cast<unsigned>(k);
  return i < kOpKinds ? names[i] : "?";
}

// ---------------------------------------------------------------- Trace

std::string Trace::meta_value(std::string_view key) const {
  for (const auto& [k, v] : meta)
    if (k == key) return v;
  return {};
}

std::uint64_t Trace::counter(std::string_view name) const {
  for (const auto& [k, v] : counters)
    if (k == name) return v;
  return 0;
}

void Trace::add_counter(std::string_view name, std::uint64_t n) {
  for (auto& [k, v] : counters)
    if (k == name) {
      v += n;
      return;
    }
  counters.emplace_back(std::string(name), n);
}

std::uint64_t Trace::big_size(std::size_t index) const {
  auto it = std::lower_bound(big_sizes.begin(), big_sizes.end(), index,
                             [](const BigSize& b, std::uint64_t i) { return b.op < i; });
  return (it != big_sizes.end() && it->op == index) ? it->size : kBigSize;
}

void Trace::push(OpKind kind, std::uint32_t object, std::uint64_t size, std::uint8_t align_log2,
                 std::uint16_t thread, std::uint32_t site) {
  Op op{kind, align_log2, thread, site, object, 0};
  if (size >= kBigSize) {
    op.size = kBigSize;
    big_sizes.push_back({ops.size(), size});
  } else {
    op.size = static_cast<std::uint32_t>(size);
  }
  ops.push_back(op);
  objects = std::max(objects, object + 1);
  threads = std::max<std::uint32_t>(threads, thread + 1u);
}

void Trace::finish() {
  if (sites.empty()) sites.push_back(CallSite{});
  peak_live = compute_peak_live(*this);
}

LivePeak live_peak(const Trace& t, std::uint64_t limit) {
  std::vector<std::uint64_t> live_size(t.objects, 0);
  std::uint64_t live = 0;
  LivePeak peak;
  const std::size_t n = limit == 0 ? t.ops.size() : std::min<std::size_t>(limit, t.ops.size());
  for (std::size_t i = 0; i < n; ++i) {
    const Op& op = t.ops[i];
    std::uint64_t& slot = live_size[op.object];
    live -= slot;
    slot = op.kind == OpKind::Free ? 0 : t.size_of(i);
    live += slot;
    if (live > peak.bytes) peak = {live, i + 1};
  }
  return peak;
}

std::uint64_t compute_peak_live(const Trace& t, std::uint64_t limit) { return live_peak(t, limit).bytes; }

std::vector<SizeCount> size_histogram(const Trace& t) {
  std::unordered_map<std::uint64_t, std::uint64_t> counts;
  for (std::size_t i = 0; i < t.ops.size(); ++i)
    if (t.ops[i].kind != OpKind::Free) ++counts[t.size_of(i)];
  std::vector<SizeCount> out;
  out.reserve(counts.size());
  for (auto [s, c] : counts) out.push_back({s, c});
  std::sort(out.begin(), out.end(), [](const SizeCount& a, const SizeCount& b) { return a.size < b.size; });
  return out;
}

// ---------------------------------------------------------------- writer

struct TraceWriter::Impl {
  std::string path;
  std::FILE* f = nullptr;
  ZSTD_CCtx* cctx = nullptr;
  bool timestamps = false;
  std::string records;  // encoded records not yet compressed (sites, meta)
  std::string ops;      // encoded ops of the current batch
  std::size_t batch = 0;
  std::uint64_t last_time = 0;
  std::uint32_t objects = 0, threads = 0, nsites = 0;
  std::vector<std::pair<std::string, std::uint64_t>> counters;
  std::vector<char> out;

  void write_raw(const void* p, std::size_t n) {
    if (std::fwrite(p, 1, n, f) != n) fail(path, std::string("write failed: ") + std::strerror(errno));
  }
  void compress(const std::string& data, bool end_frame) {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    const ZSTD_EndDirective mode = end_frame ? ZSTD_e_end : ZSTD_e_continue;
    for (;;) {
      ZSTD_outBuffer o{out.data(), out.size(), 0};
      std::size_t r = ZSTD_compressStream2(cctx, &o, &in, mode);
      if (ZSTD_isError(r)) fail(path, std::string("zstd: ") + ZSTD_getErrorName(r));
      write_raw(out.data(), o.pos);
      if (end_frame ? r == 0 : in.pos == in.size) break;
    }
  }
  void record(char tag, const std::string& payload) {
    records.push_back(tag);
    put_varint(records, payload.size());
    records.append(payload);
  }
  void flush_batch(bool end_frame) {
    if (batch > 0) {
      std::string head;
      put_varint(head, batch);
      record('O', head + ops);
      ops.clear();
      batch = 0;
    }
    if (!records.empty() || end_frame) {
      compress(records, end_frame);
      records.clear();
    }
  }
};

TraceWriter::TraceWriter(const std::string& path, bool timestamps, int level) : impl_(std::make_unique<Impl>()) {
  Impl& w = *impl_;
  w.path = path;
  w.timestamps = timestamps;
  w.f = std::fopen(path.c_str(), "wb");
  if (w.f == nullptr) fail(path, std::string("cannot create: ") + std::strerror(errno));
  w.cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(w.cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(w.cctx, ZSTD_c_checksumFlag, 1);
  w.out.resize(ZSTD_CStreamOutSize());
  std::string head(kTraceMagic, 8);
  put_u32(head, kTraceVersion);
  put_u32(head, timestamps ? 1u : 0u);
  w.write_raw(head.data(), head.size());
  add_site(CallSite{});  // site 0: unknown
}

TraceWriter::~TraceWriter() {
  if (impl_->cctx != nullptr) ZSTD_freeCCtx(impl_->cctx);
  if (impl_->f != nullptr) std::fclose(impl_->f);
}

void TraceWriter::meta(std::string_view key, std::string_view value) {
  std::string p;
  put_str(p, key);
  put_str(p, value);
  impl_->record('M', p);
}

std::uint32_t TraceWriter::add_site(const CallSite& site) {
  std::string p;
  put_varint(p, impl_->nsites);
  put_varint(p, site.offset);
  put_str(p, site.module);
  put_str(p, site.symbol);
  // Sites must precede the ops that use them: the pending batch only uses older sites.
  impl_->record('S', p);
  return impl_->nsites++;
}

void TraceWriter::op(OpKind kind, std::uint32_t object, std::uint64_t size, std::uint8_t align_log2,
                     std::uint16_t thread, std::uint32_t site, std::uint64_t time_ns) {
  Impl& w = *impl_;
  std::string& o = w.ops;
  o.push_back(static_cast<char>(kind));
  o.push_back(static_cast<char>(align_log2));
  put_varint(o, thread);
  put_varint(o, site);
  put_varint(o, object);
  put_varint(o, size);
  if (w.timestamps) {
    put_varint(o, time_ns >= w.last_time ? time_ns - w.last_time : 0);
    w.last_time = std::max(w.last_time, time_ns);
  }
  w.objects = std::max(w.objects, object + 1);
  w.threads = std::max<std::uint32_t>(w.threads, thread + 1u);
  ++nops_;
  if (++w.batch == kBatchOps) w.flush_batch(true);
}

void TraceWriter::counter(std::string_view name, std::uint64_t value) {
  for (auto& [k, v] : impl_->counters)
    if (k == name) {
      v = value;
      return;
    }
  impl_->counters.emplace_back(std::string(name), value);
}

void TraceWriter::close() {
  Impl& w = *impl_;
  if (w.f == nullptr) return;
  w.flush_batch(false);
  std::string p;
  put_varint(p, nops_);
  put_varint(p, w.objects);
  put_varint(p, w.threads);
  put_varint(p, w.counters.size());
  for (const auto& [k, v] : w.counters) {
    put_str(p, k);
    put_varint(p, v);
  }
  w.record('E', p);
  w.flush_batch(true);
  if (std::fflush(w.f) != 0 || std::ferror(w.f)) fail(w.path, "write failed");
  if (std::fclose(w.f) != 0) {
    w.f = nullptr;
    fail(w.path, std::string("close failed: ") + std::strerror(errno));
  }
  w.f = nullptr;
}

void write_trace(const std::string& path, const Trace& t, int level) {
  TraceWriter w(path, !t.timestamps.empty(), level);
  for (const auto& [k, v] : t.meta) w.meta(k, v);
  for (std::size_t i = 1; i < t.sites.size(); ++i) w.add_site(t.sites[i]);
  const bool ts = !t.timestamps.empty();
  for (std::size_t i = 0; i < t.ops.size(); ++i) {
    const Op& op = t.ops[i];
    w.op(op.kind, op.object, t.size_of(i), op.align_log2, op.thread, op.site, ts ? t.timestamps[i] : 0);
  }
  for (const auto& [k, v] : t.counters) w.counter(k, v);
  w.close();
}

// ---------------------------------------------------------------- reader

struct TraceReader::Impl {
  std::string path;
  ReadOptions opt;
  std::FILE* f = nullptr;
  ZSTD_DCtx* dctx = nullptr;
  std::vector<char> in;
  ZSTD_inBuffer inbuf{nullptr, 0, 0};
  std::uint64_t file_pos = 16;    // compressed bytes consumed so far (file offset)
  std::uint64_t stream_pos = 0;   // decompressed offset of buf[0]
  std::size_t frame_hint = 1;     // ZSTD_decompressStream's last return (0 = frame done)
  bool file_eof = false;
  std::vector<unsigned char> buf; // decompressed bytes not yet parsed: [pos, size)
  std::size_t pos = 0;
  bool timestamps = false;
  bool ended = false;
  bool truncated = false;
  std::uint64_t nops = 0, last_time = 0;
  std::uint32_t objects = 0, threads = 0;
  std::uint64_t end_ops = 0, end_objects = 0, end_threads = 0;
  std::vector<CallSite> sites;
  std::vector<std::pair<std::string, std::string>> meta;
  std::vector<std::pair<std::string, std::uint64_t>> counters;

  [[noreturn]] void corrupt(const std::string& what) const {
    fail(path, "corrupt at decompressed byte " + std::to_string(stream_pos + pos) + ": " + what);
  }

  /// Decompresses more data into buf. Returns false at the end of the file.
  bool fill() {
    if (pos > 0 && pos == buf.size()) {
      stream_pos += buf.size();
      buf.clear();
      pos = 0;
    } else if (pos > (1u << 20)) {
      stream_pos += pos;
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(pos));
      pos = 0;
    }
    for (;;) {
      if (inbuf.pos == inbuf.size) {
        if (file_eof) return false;
        std::size_t n = std::fread(in.data(), 1, in.size(), f);
        if (n == 0) {
          if (std::ferror(f)) fail(path, std::string("read failed: ") + std::strerror(errno));
          file_eof = true;
          return false;
        }
        inbuf = {in.data(), n, 0};
      }
      std::size_t old = buf.size();
      const std::size_t chunk = ZSTD_DStreamOutSize();
      buf.resize(old + chunk);
      ZSTD_outBuffer o{buf.data() + old, chunk, 0};
      std::size_t before = inbuf.pos;
      std::size_t r = ZSTD_decompressStream(dctx, &o, &inbuf);
      file_pos += inbuf.pos - before;
      buf.resize(old + o.pos);
      if (ZSTD_isError(r))
        fail(path, "corrupt at byte " + std::to_string(file_pos) + ": zstd: " + ZSTD_getErrorName(r));
      frame_hint = r;
      if (o.pos > 0) return true;
    }
  }

  /// Makes n bytes available at buf[pos..]; false if the stream ends first.
  bool need(std::size_t n) {
    while (buf.size() - pos < n)
      if (!fill()) return false;
    return true;
  }

  void stop_truncated(const std::string& why) {
    if (!opt.allow_truncated) fail(path, "truncated: " + why + " after " + std::to_string(nops) + " ops");
    truncated = true;
    ended = true;
  }

  /// Reads the next record. Returns false at the end (or truncation).
  bool next_record(char& tag, Cursor& cur) {
    if (ended) return false;
    if (!need(1)) {
      stop_truncated(file_pos == 16 && stream_pos == 0 ? "no data after the header" : "no end record");
      return false;
    }
    // varint length: up to 10 bytes
    need(11);
    Cursor head{buf.data() + pos, buf.data() + buf.size()};
    tag = static_cast<char>(head.byte());
    std::uint64_t len = head.varint();
    if (!head.ok) {
      stop_truncated("stream ends inside a record header");
      return false;
    }
    if (tag != 'M' && tag != 'S' && tag != 'O' && tag != 'E')
      corrupt("unknown record tag " + std::to_string(static_cast<unsigned char>(tag)));
    if (len > kMaxRecord) corrupt("record length " + std::to_string(len) + " too large");
    std::size_t hdr = static_cast<std::size_t>(head.p - (buf.data() + pos));
    if (!need(hdr + len)) {
      stop_truncated("stream ends inside a record");
      return false;
    }
    pos += hdr;
    cur = Cursor{buf.data() + pos, buf.data() + pos + len};
    pos += len;
    return true;
  }

  void handle_end(Cursor& c) {
    end_ops = c.varint();
    end_objects = c.varint();
    end_threads = c.varint();
    std::uint64_t n = c.varint();
    if (!c.ok || n > 1024) corrupt("bad end record");
    for (std::uint64_t i = 0; i < n && c.ok; ++i) {
      std::string k = c.str();
      std::uint64_t v = c.varint();
      counters.emplace_back(std::move(k), v);
    }
    if (!c.ok || c.p != c.end) corrupt("bad end record");
    if (end_ops != nops) corrupt("end record says " + std::to_string(end_ops) + " ops, found " + std::to_string(nops));
    if (end_objects != objects || end_threads != threads) corrupt("end record disagrees with the ops (objects/threads)");
    // Nothing may follow the end record.
    if (need(1)) corrupt("data after the end record");
    if (frame_hint != 0) stop_truncated("last zstd frame incomplete");
    ended = true;
  }
};

TraceReader::TraceReader(const std::string& path, const ReadOptions& opt) : impl_(std::make_unique<Impl>()) {
  Impl& r = *impl_;
  r.path = path;
  r.opt = opt;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail(path, "is a directory, expected a trace file");
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  r.f = std::fopen(path.c_str(), "rb");
  if (r.f == nullptr) fail(path, std::string("cannot open: ") + std::strerror(errno));
  unsigned char head[16];
  std::size_t n = std::fread(head, 1, sizeof head, r.f);
  if (n == 0) fail(path, "empty file, expected an evoalloc trace (magic \"EVOTRACE\")");
  if (n < 8 || std::memcmp(head, kTraceMagic, 8) != 0) {
    std::string got;
    for (std::size_t i = 0; i < std::min<std::size_t>(n, 8); ++i)
      got += (head[i] >= 32 && head[i] < 127) ? static_cast<char>(head[i]) : '?';
    fail(path, "bad magic \"" + got + "\", expected \"EVOTRACE\" (not an evoalloc trace)");
  }
  if (n < 16) fail(path, "truncated header (" + std::to_string(n) + " of 16 bytes)");
  auto u32 = [&](int o) {
    return static_cast<std::uint32_t>(head[o]) | static_cast<std::uint32_t>(head[o + 1]) << 8 |
           static_cast<std::uint32_t>(head[o + 2]) << 16 | static_cast<std::uint32_t>(head[o + 3]) << 24;
  };
  std::uint32_t version = u32(8), flags = u32(12);
  if (version != kTraceVersion)
    fail(path, "version " + std::to_string(version) + " unsupported (this build reads version " +
                   std::to_string(kTraceVersion) + ")");
  if ((flags & ~1u) != 0) fail(path, "corrupt header: unknown flags " + std::to_string(flags));
  r.timestamps = (flags & 1u) != 0;
  r.dctx = ZSTD_createDCtx();
  r.in.resize(ZSTD_DStreamInSize());
}

TraceReader::~TraceReader() {
  if (impl_->dctx != nullptr) ZSTD_freeDCtx(impl_->dctx);
  if (impl_->f != nullptr) std::fclose(impl_->f);
}

bool TraceReader::next(Batch& out) {
  Impl& r = *impl_;
  char tag = 0;
  Cursor c{nullptr, nullptr};
  while (r.next_record(tag, c)) {
    switch (tag) {
      case 'M': {
        std::string k = c.str();
        std::string v = c.str();
        if (!c.ok || c.p != c.end) r.corrupt("bad meta record");
        r.meta.emplace_back(std::move(k), std::move(v));
        break;
      }
      case 'S': {
        std::uint64_t id = c.varint();
        CallSite s;
        s.offset = c.varint();
        s.module = c.str();
        s.symbol = c.str();
        if (!c.ok || c.p != c.end) r.corrupt("bad site record");
        if (id != r.sites.size()) r.corrupt("site id " + std::to_string(id) + " out of order");
        r.sites.push_back(std::move(s));
        break;
      }
      case 'E':
        r.handle_end(c);
        return false;
      case 'O': {
        std::uint64_t n = c.varint();
        if (!c.ok || n == 0 || n > kMaxRecord / 6) r.corrupt("bad ops record count");
        out.first = r.nops;
        out.ops.resize(n);
        out.sizes.resize(n);
        out.times.clear();
        if (r.timestamps) out.times.resize(n);
        for (std::uint64_t i = 0; i < n; ++i) {
          std::uint8_t kind = c.byte();
          std::uint8_t align = c.byte();
          std::uint64_t thread = c.varint(), site = c.varint(), object = c.varint(), size = c.varint();
          if (r.timestamps) {
            r.last_time += c.varint();
            out.times[i] = r.last_time;
          }
          if (!c.ok) r.corrupt("ops record ends early");
          if (kind >= kOpKinds) r.corrupt("op " + std::to_string(r.nops + i) + ": bad kind " + std::to_string(kind));
          if (align > 40) r.corrupt("op " + std::to_string(r.nops + i) + ": bad alignment 2^" + std::to_string(align));
          if (thread > UINT16_MAX) r.corrupt("op " + std::to_string(r.nops + i) + ": thread id too large");
          if (site >= r.sites.size()) r.corrupt("op " + std::to_string(r.nops + i) + ": unknown call site " + std::to_string(site));
          if (object >= UINT32_MAX) r.corrupt("op " + std::to_string(r.nops + i) + ": object id too large");
          Op& op = out.ops[i];
          op.kind = static_cast<OpKind>(kind);
          op.align_log2 = align;
          op.thread = static_cast<std::uint16_t>(thread);
          op.site = static_cast<std::uint32_t>(site);
          op.object = static_cast<std::uint32_t>(object);
          op.size = size >= kBigSize ? kBigSize : static_cast<std::uint32_t>(size);
          out.sizes[i] = size;
          r.objects = std::max<std::uint32_t>(r.objects, op.object + 1);
          r.threads = std::max<std::uint32_t>(r.threads, op.thread + 1u);
        }
        if (c.p != c.end) r.corrupt("ops record has trailing bytes");
        r.nops += n;
        return true;
      }
    }
  }
  return false;
}

const std::vector<CallSite>& TraceReader::sites() const { return impl_->sites; }
const std::vector<std::pair<std::string, std::string>>& TraceReader::meta() const { return impl_->meta; }
const std::vector<std::pair<std::string, std::uint64_t>>& TraceReader::counters() const { return impl_->counters; }
std::uint32_t TraceReader::objects() const { return impl_->objects; }
std::uint32_t TraceReader::threads() const { return impl_->threads; }
bool TraceReader::timestamps() const { return impl_->timestamps; }
bool TraceReader::truncated() const { return impl_->truncated; }
const std::string& TraceReader::path() const { return impl_->path; }

Trace read_trace(const std::string& path, const ReadOptions& opt) {
  Trace t;
  TraceReader::Batch b;
  // Large files: count the ops first so the op array is allocated once, exactly
  // (growing by doubling would need up to 3x its size at the moment of a copy).
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && st.st_size > (32 << 20)) {
    TraceReader counter(path, opt);
    std::uint64_t n = 0, ts = 0;
    while (counter.next(b)) {
      n += b.ops.size();
      ts += b.times.size();
    }
    t.ops.reserve(n);
    t.timestamps.reserve(ts);
  }
  TraceReader reader(path, opt);
  while (reader.next(b)) {
    for (std::size_t i = 0; i < b.ops.size(); ++i)
      if (b.ops[i].size == kBigSize) t.big_sizes.push_back({b.first + i, b.sizes[i]});
    t.ops.insert(t.ops.end(), b.ops.begin(), b.ops.end());
    if (reader.timestamps()) t.timestamps.insert(t.timestamps.end(), b.times.begin(), b.times.end());
  }
  t.sites = reader.sites();
  t.meta = reader.meta();
  t.counters = reader.counters();
  t.objects = reader.objects();
  t.threads = reader.threads();
  t.truncated = reader.truncated();
  if (t.ops.capacity() > t.ops.size() + t.ops.size() / 4) t.ops.shrink_to_fit();
  t.finish();
  return t;
}

}  // namespace evo
