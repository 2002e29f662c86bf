// site_map.hpp — the call site of an allocating call in the exported library, for
// routing designs (core/route/router.hpp; part of every export, used by shim.cpp when
// design.hpp defines EVO_EXPORT_ROUTE).
//
//   route_site_of(ra)  ra: the caller's return address (__builtin_return_address(0)
//                      in malloc, calloc, realloc, ...). Returns the value the shim
//                      stores in evo::route_site: 1 + the site's class (1 short,
//                      2 long) when design.hpp's kRouteSites lists the site, else 0
//                      (the rest class).
//
// A site is named as the recorder names it (evaluate/recorder/recorder.cpp): the
// module is the file of the mapping of /proc/self/maps that holds the address, the
// offset is address - mapping start + the mapping's file offset. For a PIE program
// or a shared library that is also the offset glibc's mtrace writes; a module is
// matched by its file name without the folder, so the program may be started from
// another path than when it was traced. Offsets are those of the same binary: a
// rebuilt program has other offsets (its sites then go to the rest class).
//
// Cost: the calling thread's last address is one compare (a thread-local pair); any
// address seen before is one hash and one or two loads (a table of kCacheSlots
// words, lock-free: each holds the address and 1 + its value). The first
// call from an address resolves it: a binary search of the snapshot of the
// process's executable mappings and of kRouteSites, under a spin lock. The snapshot
// is read once, and again when an address lies in no mapping of it (a module loaded
// since, by dlopen). Allocation-free: /proc/self/maps is read with open/read into a
// static buffer. A full cache (more distinct call sites than slots) only means that
// the extra addresses are resolved on every call.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "design.hpp"

namespace evo_export {

namespace site_map_detail {

constexpr std::size_t kCacheBits = 14;
constexpr std::size_t kCacheSlots = std::size_t{1} << kCacheBits;
constexpr std::size_t kProbe = 8;
constexpr std::size_t kMaxMaps = 4096;
constexpr std::size_t kNameBytes = 1 << 17;

// entry: address | (1 + value) << 56; 0 = empty. User addresses are below 2^56.
inline std::atomic<std::uint64_t> g_cache[kCacheSlots];

struct Mapping {
  std::uintptr_t start, end, file_off;
  std::uint32_t name, name_len;  // the file name (no folder) in g_names
};
inline Mapping g_maps[kMaxMaps];
inline std::size_t g_nmaps = 0;
inline char g_names[kNameBytes];
inline std::size_t g_names_used = 0;
inline std::atomic_flag g_lock = ATOMIC_FLAG_INIT;
inline char g_buf[1 << 16];

inline std::uintptr_t hex(const char*& p, const char* end) {
  std::uintptr_t v = 0;
  for (; p < end; ++p) {
    const char c = *p;
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) break;
    v = v * 16 + static_cast<std::uintptr_t>(d);
  }
  return v;
}

/// One line of /proc/self/maps: "start-end perms offset dev inode   path". Keeps
/// executable mappings of files.
inline void parse_line(const char* p, const char* end) {
  if (g_nmaps == kMaxMaps) return;
  Mapping m{};
  m.start = hex(p, end);
  if (p < end && *p == '-') ++p;
  m.end = hex(p, end);
  if (p < end && *p == ' ') ++p;
  if (end - p < 4 || p[2] != 'x') return;
  p += 4;
  while (p < end && *p == ' ') ++p;
  m.file_off = hex(p, end);
  for (int field = 0; field < 2; ++field) {  // dev, inode
    while (p < end && *p == ' ') ++p;
    while (p < end && *p != ' ') ++p;
  }
  while (p < end && *p == ' ') ++p;
  if (p == end || *p != '/') return;  // anonymous, [vdso], ...
  const char* base = p;
  for (const char* q = p; q < end; ++q)
    if (*q == '/') base = q + 1;
  const std::size_t len = static_cast<std::size_t>(end - base);
  if (g_names_used + len > kNameBytes) return;
  std::memcpy(g_names + g_names_used, base, len);
  m.name = static_cast<std::uint32_t>(g_names_used);
  m.name_len = static_cast<std::uint32_t>(len);
  g_names_used += len;
  g_maps[g_nmaps++] = m;
}

/// Reads the executable file mappings of the process (sorted by address, as the
/// kernel lists them).
inline void read_maps() {
  g_nmaps = 0;
  g_names_used = 0;
  const int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::size_t have = 0;
  for (;;) {
    const ssize_t n = ::read(fd, g_buf + have, sizeof g_buf - have);
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
    std::size_t line = 0;
    for (std::size_t i = 0; i < have; ++i) {
      if (g_buf[i] != '\n') continue;
      parse_line(g_buf + line, g_buf + i);
      line = i + 1;
    }
    std::memmove(g_buf, g_buf + line, have - line);
    have -= line;
    if (have == sizeof g_buf) have = 0;  // a line longer than the buffer: dropped
  }
  ::close(fd);
}

inline const Mapping* find_mapping(std::uintptr_t a) {
  std::size_t lo = 0, hi = g_nmaps;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    if (g_maps[mid].end <= a) lo = mid + 1;
    else hi = mid;
  }
  return lo < g_nmaps && g_maps[lo].start <= a ? &g_maps[lo] : nullptr;
}

/// -1, 0, 1 as (module, offset) compares with the site.
inline int compare(const char* mod, std::size_t len, std::uint64_t off, const RouteSite& s) {
  const int c = std::strncmp(mod, s.module, len);
  if (c != 0) return c;
  if (s.module[len] != '\0') return -1;  // mod is a prefix of the site's module
  return off < s.offset ? -1 : off > s.offset ? 1 : 0;
}

/// 1 + the class of the site of address a, or 0.
inline std::uint32_t resolve(std::uintptr_t a) {
  while (g_lock.test_and_set(std::memory_order_acquire)) {
  }
  const Mapping* m = find_mapping(a);
  if (m == nullptr) {
    read_maps();
    m = find_mapping(a);
  }
  std::uint32_t v = 0;
  if (m != nullptr) {
    const char* mod = g_names + m->name;
    const std::uint64_t off = a - m->start + m->file_off;
    std::size_t lo = 0, hi = kRouteSiteCount;
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      if (compare(mod, m->name_len, off, kRouteSites[mid]) > 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo < kRouteSiteCount && compare(mod, m->name_len, off, kRouteSites[lo]) == 0)
      v = 1u + kRouteSites[lo].cls;
  }
  g_lock.clear(std::memory_order_release);
  return v;
}

/// The cache, then resolve().
inline std::uint32_t route_site_lookup(std::uintptr_t a) {
  const std::size_t h = static_cast<std::size_t>((a * 0x9E3779B97F4A7C15ull) >> (64 - kCacheBits));
  for (std::size_t i = 0; i < kProbe; ++i) {
    std::atomic<std::uint64_t>& slot = g_cache[(h + i) & (kCacheSlots - 1)];
    const std::uint64_t e = slot.load(std::memory_order_relaxed);
    if ((e & ((std::uint64_t{1} << 56) - 1)) == a && e != 0) return static_cast<std::uint32_t>(e >> 56) - 1;
    if (e == 0) {
      const std::uint32_t v = resolve(a);
      std::uint64_t expected = 0;
      slot.compare_exchange_strong(expected, a | (std::uint64_t{v + 1} << 56), std::memory_order_relaxed);
      return v;
    }
  }
  return resolve(a);
}

// The calling thread's last answer: a loop that allocates from one site asks again
// and again for the same address.
inline __thread std::uintptr_t t_last_ra __attribute__((tls_model("initial-exec"))) = 0;
inline __thread std::uint32_t t_last_value __attribute__((tls_model("initial-exec"))) = 0;

}  // namespace site_map_detail

/// The thread's last answer when `ra` is the thread's last address (true), else false.
[[gnu::always_inline]] inline bool route_site_last(const void* ra, std::uint32_t* value) {
  using namespace site_map_detail;
  if (reinterpret_cast<std::uintptr_t>(ra) != t_last_ra) return false;
  *value = t_last_value;
  return true;
}

/// See the header comment. Out of line: the shim calls it only when route_site_last
/// says no, so malloc's common path saves no registers.
[[gnu::noinline]] inline std::uint32_t route_site_of(const void* ra) {
  using namespace site_map_detail;
  const auto a = reinterpret_cast<std::uintptr_t>(ra);
  if (a == t_last_ra) return t_last_value;
  const std::uint32_t v = route_site_lookup(a);
  t_last_ra = a;
  t_last_value = v;
  return v;
}

}  // namespace evo_export
