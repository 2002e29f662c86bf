// Tests of evaluate/trace: the file format round trip, the streaming reader and
// writer, and every kind of bad input (one-line errors, never a crash).
#include <doctest/doctest.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "evaluate/trace.hpp"
#include "tests/common/cli_helpers.hpp"

using namespace evo;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) { return test::scratch_file("trace", name); }

std::string read_bytes(const fs::path& p) { return test::slurp(p); }
void write_bytes(const fs::path& p, const std::string& b) { test::write_file(p, b); }

/// The error message read_trace gives for `p` ("" if it reads fine).
std::string read_error(const fs::path& p, ReadOptions opt = {}) {
  return test::error_message([&] { read_trace(p.string(), opt); });
}

/// A trace with every op kind, three threads, sites, a >4 GiB size, timestamps.
Trace sample_trace() {
  Trace t;
  t.sites = {CallSite{}, CallSite{"/usr/bin/prog", 0x1234, ""}, CallSite{"/lib/libc.so.6", 0x758cc, "_IO_file_doallocate+8c"},
             CallSite{"", 0x7f0000001000, ""}};
  t.meta = {{"program", "prog --flag"}, {"source", "test"}};
  t.push(OpKind::Malloc, 0, 24, 0, 0, 1);
  t.push(OpKind::Calloc, 1, 400, 0, 1, 2);
  t.push(OpKind::Realloc, 0, 100000, 0, 0, 1);
  t.push(OpKind::Memalign, 2, 64, 6, 2, 3);
  t.push(OpKind::PosixMemalign, 3, 128, 7, 2, 3);
  t.push(OpKind::AlignedAlloc, 4, 4096, 12, 1, 0);
  t.push(OpKind::Valloc, 5, 10, 12, 0, 0);
  t.push(OpKind::Pvalloc, 6, 5000, 12, 0, 0);
  t.push(OpKind::Malloc, 7, 5ull << 30, 0, 1, 1);  // 5 GiB: side table
  t.push(OpKind::Free, 1, 0, 0, 1, 2);
  t.push(OpKind::Realloc, 8, 32, 0, 2, 0);  // realloc(NULL, 32): empty slot
  t.push(OpKind::Realloc, 0, 0, 0, 0, 1);   // realloc(p, 0)
  t.push(OpKind::Free, 7, 0, 0, 1, 1);
  for (std::size_t i = 0; i < t.ops.size(); ++i) t.timestamps.push_back(1000 + 10 * i * i);
  t.counters = {{"unmatched_frees", 3}, {"free_null", 2}};
  t.finish();
  return t;
}

void check_same(const Trace& a, const Trace& b) {
  REQUIRE(a.ops.size() == b.ops.size());
  for (std::size_t i = 0; i < a.ops.size(); ++i) {
    CAPTURE(i);
    CHECK(a.ops[i].kind == b.ops[i].kind);
    CHECK(a.ops[i].align_log2 == b.ops[i].align_log2);
    CHECK(a.ops[i].thread == b.ops[i].thread);
    CHECK(a.ops[i].site == b.ops[i].site);
    CHECK(a.ops[i].object == b.ops[i].object);
    CHECK(a.size_of(i) == b.size_of(i));
  }
  CHECK(a.sites == b.sites);
  CHECK(a.objects == b.objects);
  CHECK(a.threads == b.threads);
  CHECK(a.timestamps == b.timestamps);
  CHECK(a.meta == b.meta);
  CHECK(a.counters == b.counters);
  CHECK(a.peak_live == b.peak_live);
}

}  // namespace

TEST_CASE("Op is 16 bytes and op kinds have names") {
  CHECK(sizeof(Op) == 16);
  CHECK(std::string(op_kind_name(OpKind::PosixMemalign)) == "posix_memalign");
  CHECK(is_aligned_kind(OpKind::Valloc));
  CHECK_FALSE(is_aligned_kind(OpKind::Calloc));
}

TEST_CASE("round trip: every op kind, call sites, threads, big sizes, timestamps, counters") {
  Trace t = sample_trace();
  CHECK(t.objects == 9);
  CHECK(t.threads == 3);
  CHECK(t.size_of(8) == (5ull << 30));
  CHECK(t.ops[8].size == kBigSize);
  // live: 24 -> 100000 (obj 0) + 400 + 64 + 128 + 4096 + 10 + 5000 + 5 GiB
  CHECK(t.peak_live == 100000 + 400 + 64 + 128 + 4096 + 10 + 5000 + (5ull << 30));
  for (int level : {1, 19}) {
    fs::path p = scratch("rt" + std::to_string(level) + ".trace");
    write_trace(p.string(), t, level);
    Trace back = read_trace(p.string());
    check_same(t, back);
    CHECK_FALSE(back.truncated);
    CHECK(back.meta_value("program") == "prog --flag");
    CHECK(back.counter("unmatched_frees") == 3);
    CHECK(back.counter("nonexistent") == 0);
  }
}

TEST_CASE("streaming writer and reader: many frames, bounded batches") {
  fs::path p = scratch("big.trace");
  const std::uint32_t n = 200000;  // > 3 batches of 65536
  {
    TraceWriter w(p.string());
    w.meta("program", "synthetic");
    std::uint32_t s1 = w.add_site(CallSite{"/bin/x", 16, "f"});
    CHECK(s1 == 1);
    for (std::uint32_t i = 0; i < n; ++i) {
      if (i == 100000) CHECK(w.add_site(CallSite{"/bin/x", 32, "g"}) == 2);  // a site mid-stream
      if (i % 2 == 0) w.op(OpKind::Malloc, (i / 2) % 1000, 16 + i % 100, 0, static_cast<std::uint16_t>(i % 4), i >= 100000 ? 2 : 1);
      else w.op(OpKind::Free, (i / 2) % 1000, 0, 0, static_cast<std::uint16_t>(i % 4), 0);
    }
    w.counter("unmatched_frees", 7);
    CHECK(w.ops() == n);
    w.close();
  }
  TraceReader r(p.string());
  TraceReader::Batch b;
  std::uint64_t total = 0, batches = 0, mallocs = 0;
  while (r.next(b)) {
    CHECK(b.first == total);
    CHECK(b.ops.size() <= 65536);
    CHECK(b.sizes.size() == b.ops.size());
    CHECK(b.times.empty());
    for (const Op& op : b.ops) mallocs += op.kind == OpKind::Malloc;
    total += b.ops.size();
    ++batches;
  }
  CHECK(total == n);
  CHECK(batches >= 4);
  CHECK(mallocs == n / 2);
  CHECK(r.objects() == 1000);
  CHECK(r.threads() == 4);
  CHECK(r.sites().size() == 3);
  CHECK(r.counters().size() == 1);
  CHECK_FALSE(r.truncated());

  Trace t = read_trace(p.string());
  CHECK(t.ops.size() == n);
  CHECK(t.ops[150000].site == 2);
  auto hist = size_histogram(t);
  CHECK(hist.size() == 50);  // even i: sizes 16 + (0, 2, ..., 98)
  std::uint64_t count = 0;
  for (const SizeCount& sc : hist) count += sc.count;
  CHECK(count == n / 2);
  CHECK(hist.front().size == 16);
  CHECK(hist.back().size == 16 + 98);
}

TEST_CASE("bad input: missing, directory, empty, magic, version, flags") {
  CHECK(read_error(scratch("does-not-exist.trace")).find("cannot open") != std::string::npos);
  CHECK(read_error(fs::temp_directory_path()).find("is a directory") != std::string::npos);
  fs::path e = scratch("empty.trace");
  write_bytes(e, "");
  CHECK(read_error(e).find("empty file") != std::string::npos);

  fs::path good = scratch("good.trace");
  write_trace(good.string(), sample_trace());
  const std::string bytes = read_bytes(good);

  fs::path m = scratch("magic.trace");
  write_bytes(m, "#!/bin/sh\necho not a trace\n");
  std::string err = read_error(m);
  CHECK(err.find("bad magic \"#!/bin/s\"") != std::string::npos);
  CHECK(err.find(m.string()) == 0);

  std::string v = bytes;
  v[8] = 7;
  write_bytes(m, v);
  CHECK(read_error(m).find("version 7 unsupported") != std::string::npos);

  std::string f = bytes;
  f[13] = 1;
  write_bytes(m, f);
  CHECK(read_error(m).find("unknown flags") != std::string::npos);

  write_bytes(m, bytes.substr(0, 12));
  CHECK(read_error(m).find("truncated header") != std::string::npos);
  write_bytes(m, bytes.substr(0, 16));
  CHECK(read_error(m).find("truncated") != std::string::npos);
}

TEST_CASE("bad input: every truncation point and flipped bytes give a one-line error") {
  fs::path good = scratch("good2.trace");
  write_trace(good.string(), sample_trace());
  const std::string bytes = read_bytes(good);
  fs::path bad = scratch("bad.trace");
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    write_bytes(bad, bytes.substr(0, cut));
    std::string err = read_error(bad);
    CHECK(!err.empty());
    CHECK(err.find('\n') == std::string::npos);
    CHECK(err.find(bad.string() + ": ") == 0);
  }
  int detected = 0, total = 0;
  for (std::size_t at = 16; at < bytes.size(); ++at) {
    for (unsigned char mask : {0x01, 0x80, 0xff}) {
      std::string b = bytes;
      b[at] = static_cast<char>(b[at] ^ mask);
      write_bytes(bad, b);
      std::string err = read_error(bad);
      ++total;
      detected += !err.empty();
      CHECK(err.find('\n') == std::string::npos);
    }
  }
  // zstd's frame checksum and the structural checks catch (nearly) every flip; a
  // flip in an unused frame-header bit may decode to the same data.
  CHECK(detected >= total * 95 / 100);
}

TEST_CASE("a cut-short trace is readable up to the cut with allow_truncated") {
  fs::path p = scratch("cut.trace");
  {
    TraceWriter w(p.string());
    for (std::uint32_t i = 0; i < 150000; ++i) w.op(OpKind::Malloc, i, 8);
    // no close(): the writer is destroyed as if the process died
  }
  CHECK(read_error(p).find("truncated") != std::string::npos);
  ReadOptions ro;
  ro.allow_truncated = true;
  Trace t = read_trace(p.string(), ro);
  CHECK(t.truncated);
  CHECK(t.ops.size() == 131072);  // two whole frames of 65536 ops
  CHECK(t.ops.back().object == 131071);

  // Cut in the middle of the third frame of a finished file.
  fs::path q = scratch("cut2.trace");
  {
    TraceWriter w(q.string());
    for (std::uint32_t i = 0; i < 150000; ++i) w.op(OpKind::Malloc, i, 8);
    w.close();
  }
  std::string b = read_bytes(q);
  write_bytes(q, b.substr(0, b.size() - 10));
  Trace u = read_trace(q.string(), ro);
  CHECK(u.truncated);
  CHECK(u.ops.size() >= 131072);
  CHECK(u.ops.size() < 150000);
}

TEST_CASE("Trace::push and finish compute objects, threads, peak live") {
  Trace t;
  t.push(OpKind::Malloc, 0, 100);
  t.push(OpKind::Malloc, 3, 50, 0, 5);
  t.push(OpKind::Free, 0, 0);
  t.push(OpKind::Realloc, 3, 500);
  t.push(OpKind::Realloc, 3, 0);
  t.finish();
  CHECK(t.objects == 4);
  CHECK(t.threads == 6);
  CHECK(t.sites.size() == 1);
  CHECK(t.peak_live == 500);
  CHECK(compute_peak_live(t, 2) == 150);
}
