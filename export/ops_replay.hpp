// ops_replay.hpp — the request list of the fidelity check, and the one loop that
// replays it (part of every export; also included by tests/export/).
//
// File format (little-endian, written by tests/export/test_fidelity.cpp from a
// real trace prefix, read by replay_driver.cpp):
//   bytes 0..7   magic "EVOOPS1\0"
//   u64          number of records N
//   u64          number of object slots S (every slot < S)
//   N records of 24 bytes: u8 kind (0 malloc, 1 calloc, 2 realloc, 3 free),
//                          u8 site (the route_site value of a routing design's call,
//                          core/route/router.hpp: 0 rest, 1 short, 2 long; 0 for
//                          other designs), u8[2] zero, u32 slot, u64 size (bytes),
//                          u64 align (a power of two; <= 16 = default)
// Replay semantics are those of evaluate/replay.hpp: calloc zeroes, realloc of an
// empty slot allocates, realloc to 0 frees, free of an empty slot is skipped.
// Result: every block address returned (malloc/calloc/realloc that succeed), in
// order, as a byte offset from the first block returned in the same region; and the
// failed count. Regions: a heap H with region_of(p) (a routing design: the class of
// the sub-design holding p, each in its own reservation) keeps one first block per
// region; otherwise there is one region. H with route(site) is told each op's site
// before the op.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace evo_export {

struct OpRecord {
  std::uint8_t kind;
  std::uint8_t site;
  std::uint8_t pad[2];
  std::uint32_t slot;
  std::uint64_t size;
  std::uint64_t align;
};
static_assert(sizeof(OpRecord) == 24);

inline constexpr char kOpsMagic[8] = {'E', 'V', 'O', 'O', 'P', 'S', '1', '\0'};

struct OpList {
  std::vector<OpRecord> ops;
  std::uint64_t slots = 0;
};

inline bool write_ops(const std::string& path, const OpList& l) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  std::uint64_t n = l.ops.size();
  bool ok = std::fwrite(kOpsMagic, 8, 1, f) == 1 && std::fwrite(&n, 8, 1, f) == 1 && std::fwrite(&l.slots, 8, 1, f) == 1 &&
            (n == 0 || std::fwrite(l.ops.data(), sizeof(OpRecord), n, f) == n);
  return std::fclose(f) == 0 && ok;
}

/// Reads an op file; false + one line in *err on a bad file.
inline bool read_ops(const std::string& path, OpList& l, std::string* err) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    *err = path + ": cannot open";
    return false;
  }
  char magic[8];
  std::uint64_t n = 0;
  bool ok = std::fread(magic, 8, 1, f) == 1 && std::memcmp(magic, kOpsMagic, 8) == 0 && std::fread(&n, 8, 1, f) == 1 &&
            std::fread(&l.slots, 8, 1, f) == 1 && n < (std::uint64_t{1} << 32);
  if (ok) {
    l.ops.resize(n);
    ok = n == 0 || std::fread(l.ops.data(), sizeof(OpRecord), n, f) == n;
  }
  std::fclose(f);
  if (ok)
    for (const OpRecord& r : l.ops) ok = ok && r.kind <= 3 && r.slot < l.slots;
  if (!ok) *err = path + ": not an EVOOPS1 op file (bad magic, truncated, or a slot/kind out of range)";
  return ok;
}

struct ReplayOut {
  std::vector<std::int64_t> offsets;  ///< every block returned, relative to the first
  std::uint64_t failed = 0;
};

/// Replays `l` through H (allocate(size, align), deallocate, reallocate), leaving
/// the blocks still live at the end allocated (the caller reads stats, then destroys).
template <class H>
ReplayOut replay_ops(const OpList& l, H& h) {
  ReplayOut out;
  out.offsets.reserve(l.ops.size());
  std::vector<void*> slot(l.slots, nullptr);
  const char* first[4] = {};
  auto record = [&](void* p) {
    unsigned region = 0;
    if constexpr (requires(const H& x) { x.region_of(p); }) region = h.region_of(p) & 3u;
    if (first[region] == nullptr) first[region] = static_cast<const char*>(p);
    out.offsets.push_back(static_cast<const char*>(p) - first[region]);
  };
  for (const OpRecord& r : l.ops) {
    void*& s = slot[r.slot];
    if constexpr (requires(H& x) { x.route(r.site); }) h.route(r.site);
    switch (r.kind) {
      case 0:
      case 1: {
        void* p = h.allocate(r.size, r.align < 16 ? 16 : r.align);
        if (p == nullptr) {
          ++out.failed;
          break;
        }
        if (r.kind == 1) std::memset(p, 0, r.size);
        else if (r.size > 0) *static_cast<char*>(p) = 1;  // the program's first touch
        s = p;
        record(p);
        break;
      }
      case 2: {
        if (r.size == 0) {
          if (s != nullptr) h.reallocate(s, 0);
          s = nullptr;
          break;
        }
        void* p = s == nullptr ? h.allocate(r.size, 16) : h.reallocate(s, r.size);
        if (p == nullptr) {
          ++out.failed;
          break;
        }
        s = p;
        record(p);
        break;
      }
      case 3:
        if (s != nullptr) h.deallocate(s);
        s = nullptr;
        break;
    }
  }
  return out;
}

}  // namespace evo_export
