// evaluate/trace.hpp — the malloc trace: in-memory form, file format, writer, readers.
//
// ============================== In memory ==============================
// A Trace is a flat array of 16-byte Ops that replay walks front to back. Every
// allocated block carries a dense *object id* (a slot number): replay keeps one
// pointer per slot in a plain array, never a hash map.
//   * ids are slots, reused: when an object is freed its id becomes free and the
//     next allocation may take it (the importers and the recorder reuse the most
//     recently freed id), so `objects` (the number of slots) stays near the peak
//     number of live objects, far below the number of allocations. At most one
//     live object per id at a time.
//   * realloc keeps the object's id (its slot receives the new pointer);
//     realloc(NULL, n) is a Realloc on an empty slot (= malloc), realloc(p, 0) is a
//     Realloc of size 0 (glibc: frees p, returns NULL; the slot becomes empty).
//   * calloc(n, s) is stored with size n*s.
//   * align_log2 is 0 for the plain kinds (default alignment) and log2(alignment)
//     for Memalign/PosixMemalign/AlignedAlloc/Valloc/Pvalloc (Valloc/Pvalloc: 12).
//   * sizes are bytes. Sizes >= 4 GiB - 1 store kBigSize in Op::size and the real
//     size in Trace::big_sizes (sorted by op index); always read sizes through
//     Trace::size_of().
//   * thread is a dense thread index (0 = first thread seen), site an index into
//     Trace::sites (site 0 is always "unknown").
//   * free(NULL), frees of unknown pointers and failed allocations are not ops: the
//     producer counts them in Trace::counters (see the counter names below).
// A Trace is immutable once built and may be shared read-only across threads.
//
// ============================== File format (version 1) ==============================
// All integers little endian. A file is a 16-byte plain header followed by a zstd
// stream made of one or more independent zstd frames (each with its checksum):
//
//   offset 0   8 bytes  magic "EVOTRACE"
//   offset 8   u32      format version (kTraceVersion = 1)
//   offset 12  u32      flags: bit 0 = ops carry timestamps; other bits must be 0
//   offset 16  zstd frames
//
// The decompressed stream is a sequence of records `tag:u8 length:varint payload`
// (varint = unsigned LEB128; str = varint length + bytes, no NUL):
//   'M' meta    str key, str value            (program, source, command, ...)
//   'S' site    varint id (== number of sites so far), varint offset, str module,
//               str symbol                    (module + offset; symbol may be "")
//   'O' ops     varint count, then count ops:
//                 u8 kind (OpKind), u8 align_log2, varint thread, varint site,
//                 varint object, varint size, [varint time delta ns if flag bit 0]
//               (timestamps are deltas from the previous op's time; first from 0)
//   'E' end     varint ops, varint objects, varint threads, varint n,
//               n x (str counter name, varint value)
// Sites are written before the first op that uses them. 'E' is the last record;
// a stream without it is *truncated* (a cut-short recording): read_trace rejects
// it unless ReadOptions::allow_truncated, which keeps every whole op record
// before the cut. The writer ends a zstd frame after every ops record, so a file
// cut anywhere decodes up to the last complete frame.
//
// Counters (Trace::counters, names are stable, all default to 0):
//   unmatched_frees   frees/reallocs of pointers the trace never allocated (dropped)
//   free_null         free(NULL) calls (dropped)
//   realloc_null      realloc(NULL, n) (kept as Realloc on an empty slot / malloc)
//   realloc_zero      realloc(p, 0) (kept as Realloc size 0, or Free for mtrace)
//   failed_allocs     allocations that returned NULL in the recorded run (dropped)
//   address_reuse     an allocation returned an address still live in the trace
//                     (a missed free; the old object is forgotten)
//
// Errors: every reader throws std::runtime_error with one line
//   "<path>: <what is wrong>" (cannot open, not a regular file, empty file,
//   bad magic "...", version N unsupported, truncated, corrupt at byte X: ...).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/registry.hpp"

namespace evo {

inline constexpr char kTraceMagic[8] = {'E', 'V', 'O', 'T', 'R', 'A', 'C', 'E'};
inline constexpr std::uint32_t kTraceVersion = 1;

enum class OpKind : std::uint8_t { Malloc, Calloc, Realloc, Free, Memalign, PosixMemalign, AlignedAlloc, Valloc, Pvalloc };
inline constexpr int kOpKinds = 9;
/// "malloc", "calloc", ..., "pvalloc".
const char* op_kind_name(OpKind k);
/// True for the kinds that take an explicit alignment.
inline bool is_aligned_kind(OpKind k) { return k >= OpKind::Memalign; }
/// True for the kinds that create an object (everything but Free and Realloc).
inline bool is_alloc_kind(OpKind k) { return k != OpKind::Free && k != OpKind::Realloc; }

/// One request. 16 bytes.
struct Op {
  OpKind kind;
  std::uint8_t align_log2;  ///< 0 = default alignment; else log2(alignment)
  std::uint16_t thread;     ///< dense thread index
  std::uint32_t site;       ///< index into Trace::sites
  std::uint32_t object;     ///< dense object id (slot)
  std::uint32_t size;       ///< bytes; kBigSize = see Trace::big_sizes
};
/// The alignment an op asks for, in bytes: 16 (the default) or 1 << align_log2.
inline std::size_t alignment_of(const Op& op) { return op.align_log2 == 0 ? 16 : std::size_t{1} << op.align_log2; }
static_assert(sizeof(Op) == 16);
inline constexpr std::uint32_t kBigSize = UINT32_MAX;

/// Where an allocation was called from: module path + offset in it (or an
/// absolute address when module is empty), and a symbol when known.
struct CallSite {
  std::string module;
  std::uint64_t offset = 0;
  std::string symbol;
  bool operator==(const CallSite&) const = default;
};

/// Size of one op whose size does not fit in 32 bits.
struct BigSize {
  std::uint64_t op;    ///< index in Trace::ops
  std::uint64_t size;  ///< bytes
};

struct Trace {
  std::vector<Op> ops;
  std::vector<CallSite> sites;         ///< sites[0] is the unknown site
  std::uint32_t objects = 0;           ///< number of object slots (max id + 1)
  std::uint32_t threads = 0;           ///< number of threads (max thread + 1)
  std::vector<std::uint64_t> timestamps;  ///< empty, or one per op: ns since the start
  std::vector<BigSize> big_sizes;      ///< sorted by op index
  std::vector<std::pair<std::string, std::string>> meta;        ///< program, source, ...
  std::vector<std::pair<std::string, std::uint64_t>> counters;  ///< see the counter names above
  /// Peak of the sum of requested sizes of live objects (bytes). Filled by
  /// read_trace and finish(); 0 means "not computed".
  std::uint64_t peak_live = 0;
  /// True when read with allow_truncated and the file had no end record.
  bool truncated = false;

  std::uint64_t size_of(std::size_t index) const {
    const Op& op = ops[index];
    return op.size != kBigSize ? op.size : big_size(index);
  }
  std::uint64_t size_of(const Op& op) const {
    return op.size != kBigSize ? op.size : big_size(static_cast<std::size_t>(&op - ops.data()));
  }
  /// Value of a meta key ("" when absent) / a counter (0 when absent).
  std::string meta_value(std::string_view key) const;
  std::uint64_t counter(std::string_view name) const;
  void add_counter(std::string_view name, std::uint64_t n);

  /// Appends one op (handles big sizes, grows objects/threads). For building
  /// traces in code (tests, importers). Call finish() when done.
  void push(OpKind kind, std::uint32_t object, std::uint64_t size, std::uint8_t align_log2 = 0,
            std::uint16_t thread = 0, std::uint32_t site = 0);
  /// Ensures sites[0] exists and computes peak_live.
  void finish();

 private:
  std::uint64_t big_size(std::size_t index) const;
};

/// The peak of the requested bytes live at once over the trace's first `limit` ops
/// (limit 0 = all ops): the bytes, and the number of ops after which they are first
/// reached (0 for no ops).
struct LivePeak {
  std::uint64_t bytes = 0;
  std::uint64_t at = 0;
};
LivePeak live_peak(const Trace& t, std::uint64_t limit = 0);

/// Sum of requested sizes live at once, maximum over the trace's first `limit`
/// ops (bytes; limit 0 = all ops): live_peak(t, limit).bytes.
std::uint64_t compute_peak_live(const Trace& t, std::uint64_t limit = 0);

/// Distinct request sizes of the allocating ops (malloc, calloc, realloc, aligned)
/// with their counts, sorted by size. Used by class schemes fitted to the trace.
std::vector<SizeCount> size_histogram(const Trace& t);

struct ReadOptions {
  /// Accept a stream cut short (no end record): keep every op before the cut.
  bool allow_truncated = false;
};

/// Reads a whole trace into memory. Throws std::runtime_error (see above).
Trace read_trace(const std::string& path, const ReadOptions& opt = {});

/// Writes a whole in-memory trace (uses TraceWriter).
void write_trace(const std::string& path, const Trace& t, int level = 19);

/// Streaming writer: memory use is bounded (one batch of ops) whatever the trace
/// length. Object ids and thread ids are the caller's (dense); objects/threads are
/// the maxima seen + 1. Throws std::runtime_error on I/O failure. close() writes
/// the end record; a writer destroyed without close() leaves a truncated file.
class TraceWriter {
 public:
  TraceWriter(const std::string& path, bool timestamps = false, int level = 3);
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  void meta(std::string_view key, std::string_view value);
  /// Adds a call site; returns its id (1, 2, ...; 0 is the unknown site, written
  /// automatically).
  std::uint32_t add_site(const CallSite& site);
  void op(OpKind kind, std::uint32_t object, std::uint64_t size, std::uint8_t align_log2 = 0,
          std::uint16_t thread = 0, std::uint32_t site = 0, std::uint64_t time_ns = 0);
  void counter(std::string_view name, std::uint64_t value);
  /// Flushes, writes the end record, closes the file.
  void close();
  std::uint64_t ops() const { return nops_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint64_t nops_ = 0;
};

/// Streaming reader: decodes one ops record at a time, so a trace of any length
/// can be summarised in bounded memory (`trace info`). Sites and meta are
/// collected as they appear (complete once next() returned false).
class TraceReader {
 public:
  explicit TraceReader(const std::string& path, const ReadOptions& opt = {});
  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  /// One decoded ops record. sizes[i] is the full 64-bit size of ops[i]
  /// (ops[i].size may be kBigSize); times is empty unless the trace has timestamps.
  struct Batch {
    std::uint64_t first = 0;  ///< index of ops[0] in the whole trace
    std::vector<Op> ops;
    std::vector<std::uint64_t> sizes;
    std::vector<std::uint64_t> times;
  };
  /// Fills `out` with the next batch; false at the end of the trace.
  bool next(Batch& out);

  const std::vector<CallSite>& sites() const;
  const std::vector<std::pair<std::string, std::string>>& meta() const;
  /// Valid after next() returned false.
  const std::vector<std::pair<std::string, std::uint64_t>>& counters() const;
  std::uint32_t objects() const;  ///< max object id + 1 seen so far
  std::uint32_t threads() const;  ///< max thread + 1 seen so far
  bool timestamps() const;
  bool truncated() const;         ///< the stream ended without an end record
  const std::string& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace evo
