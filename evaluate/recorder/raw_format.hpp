// evaluate/recorder/raw_format.hpp — the recorder's raw per-process file.
//
// Written by libevoalloc_recorder.so (evaluate/recorder/recorder.cpp) and read by
// evaluate/record.cpp, which turns it into a trace (evaluate/trace.hpp). Plain
// structs, native byte order (the file never leaves the machine that wrote it).
//
//   RawFileHeader                       once, at open
//   { RawBlockHeader, payload }...      appended with one write() each (O_APPEND),
//                                       so blocks of different threads never interleave
// Block kinds:
//   kRawEvents   payload = count x RawEvent: one thread's buffer, in that thread's order
//   kRawMaps     payload = `count` bytes of /proc/self/maps text (for call sites)
//   kRawEnd      no payload: the process ended normally (exit); absent after
//                _exit from a path we do not see, abort, a signal, or exec
// A file cut anywhere (abort, kill) is readable up to its last whole block.
// Events carry a global sequence number (one atomic counter per process); merging
// all threads' events by seq gives the process's order of requests. seq is taken
// before the real call for free and after it for allocations, so an address freed
// by one thread and reused by another is always freed first in seq order.
#pragma once

#include <cstdint>

namespace evo::raw {

inline constexpr char kFileMagic[8] = {'E', 'V', 'O', 'R', 'A', 'W', '0', '1'};
inline constexpr std::uint32_t kBlockMagic = 0x4b4c4252;  // "RBLK"

enum BlockKind : std::uint32_t { kRawEvents = 1, kRawMaps = 2, kRawEnd = 3 };

struct RawFileHeader {
  char magic[8];
  std::uint32_t pid;
  std::uint32_t ppid;
  std::uint64_t start_ns;  ///< CLOCK_REALTIME at open
};

struct RawBlockHeader {
  std::uint32_t magic;   ///< kBlockMagic
  std::uint32_t kind;    ///< BlockKind
  std::uint32_t thread;  ///< recorder thread number (events)
  std::uint32_t count;   ///< events, or payload bytes for kRawMaps
};

/// One call. kind is an evo::OpKind value.
///   alloc kinds: ptr = result (0 = failed), size = requested (calloc: n*s)
///   Free:        old = freed pointer (0 = free(NULL))
///   Realloc:     old = old pointer (0 = realloc(NULL,n)), ptr = result, size = new size
struct RawEvent {
  std::uint64_t seq;
  std::uint64_t ptr;
  std::uint64_t old;
  std::uint64_t size;
  std::uint64_t caller;  ///< return address into the caller
  std::uint8_t kind;
  std::uint8_t align_log2;
  std::uint16_t pad;
  std::uint32_t pad2;
};
static_assert(sizeof(RawEvent) == 48);

}  // namespace evo::raw
