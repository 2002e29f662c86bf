// evaluate/recorder/recorder.cpp — libevoalloc_recorder.so, the LD_PRELOAD recorder.
//
// Interposes malloc, free, calloc, realloc, reallocarray, memalign, posix_memalign,
// aligned_alloc, valloc, pvalloc (recorded) and malloc_usable_size (passed through,
// not recorded: a trace models requests, not the program's use of slack). Each
// call goes to the next definition (glibc, or another preloaded allocator) found
// with dlsym(RTLD_NEXT) and is logged into the calling thread's buffer; a full
// buffer is appended to the process's raw file with one write() (raw_format.hpp).
// Enabled only when EVOALLOC_RECORD_DIR names a directory; the file is
// DIR/rec-<pid>-<ns>.raw. `evoalloc record` sets this up and converts the files.
//
// Design choices:
//  * dlsym recursion: dlsym may call malloc/calloc before the real functions are
//    known; those calls are served from a static bootstrap arena (never freed,
//    never recorded).
//  * threads: one buffer per thread (mmap'ed, found through an initial-exec TLS
//    pointer), one atomic sequence counter, no lock on the hot path. A thread's
//    buffer is flushed when full and when the thread exits (pthread key
//    destructor), then reused by later threads. A per-buffer flag serialises
//    flushes: a runtime may join a thread before its key destructors run
//    (python3 does), so that thread's exit flush can meet the process's exit
//    flush of the same buffer; each event reaches the file once.
//  * reentrancy: a thread-local flag skips recording while the recorder itself
//    runs (flush, init), so nothing the recorder calls is recorded.
//  * exit: a destructor flushes every buffer, writes /proc/self/maps (for call
//    sites) and an end block, then stops recording (calls made later, by other
//    libraries' destructors, are not recorded; threads still allocating while
//    the process exits may lose their last events). _exit/_Exit called by the
//    program are interposed to do the same. abort, signals and exec lose what is
//    still buffered (up to kBufEvents per thread); the file stays readable up to
//    the last whole block (call sites then stay unresolved: absolute addresses).
//  * fork: the child gets its own file (new pid) and starts with empty buffers
//    (what the parent had buffered is the parent's, and the parent writes it);
//    frees in the child of blocks allocated before fork are unmatched frees there.
//  * call sites: __builtin_return_address(0), resolved to module + offset after
//    the run from the /proc/self/maps snapshot written at exit (no dladdr, so no
//    loader lock, inside malloc). Modules unloaded before exit stay unresolved
//    (absolute addresses); no symbols are looked up.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "evaluate/recorder/raw_format.hpp"

#define EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using evo::raw::RawEvent;

// OpKind values (evaluate/trace.hpp); not included to keep this library free of
// the project's other code.
enum : std::uint8_t { kMalloc, kCalloc, kRealloc, kFree, kMemalign, kPosixMemalign, kAlignedAlloc, kValloc, kPvalloc };

constexpr std::uint32_t kBufEvents = 8192;  // 384 KiB per thread

struct ThreadBuf {
  RawEvent ev[kBufEvents];
  // Events written so far. Only the owner thread appends (a plain store with
  // release order); a flush by another thread (at exit) reads it with acquire.
  std::atomic<std::uint32_t> n;
  std::uint32_t thread;
  std::atomic<int> in_use;
  // Held while the buffer is written out: the owner (buffer full, thread exit)
  // and finish() (process exit) may both flush one buffer, and a buffer must
  // reach the file once.
  std::atomic<int> flushing;
  ThreadBuf* next;
};

// ---- real functions ----
using malloc_t = void* (*)(std::size_t);
using free_t = void (*)(void*);
using calloc_t = void* (*)(std::size_t, std::size_t);
using realloc_t = void* (*)(void*, std::size_t);
using memalign_t = void* (*)(std::size_t, std::size_t);
using posix_memalign_t = int (*)(void**, std::size_t, std::size_t);
using valloc_t = void* (*)(std::size_t);
using usable_t = std::size_t (*)(void*);
using exit_t = void (*)(int);

malloc_t real_malloc;
free_t real_free;
calloc_t real_calloc;
realloc_t real_realloc;
memalign_t real_memalign;
posix_memalign_t real_posix_memalign;
memalign_t real_aligned_alloc;
valloc_t real_valloc;
valloc_t real_pvalloc;
usable_t real_usable;
exit_t real__exit;
exit_t real__Exit;

std::atomic<int> g_resolving{0};
std::atomic<bool> g_resolved{false};

// ---- bootstrap arena (for dlsym's own allocations) ----
alignas(64) char g_boot[1 << 16];
std::atomic<std::size_t> g_boot_used{0};

bool is_boot(const void* p) {
  return p >= static_cast<const void*>(g_boot) && p < static_cast<const void*>(g_boot + sizeof g_boot);
}
void* boot_alloc(std::size_t size, std::size_t align = 16) {
  if (align < 16) align = 16;
  std::size_t need = (size + 16 + align - 1) & ~(align - 1);
  std::size_t at = g_boot_used.fetch_add(need + align);
  if (at + need + align > sizeof g_boot) return nullptr;
  std::uintptr_t base = reinterpret_cast<std::uintptr_t>(g_boot + at + 16);
  base = (base + align - 1) & ~(align - 1);
  reinterpret_cast<std::size_t*>(base)[-1] = size;
  return reinterpret_cast<void*>(base);
}
std::size_t boot_size(const void* p) { return static_cast<const std::size_t*>(p)[-1]; }

// ---- recording state ----
__thread ThreadBuf* tl_buf __attribute__((tls_model("initial-exec")));
__thread int tl_busy __attribute__((tls_model("initial-exec")));

std::atomic<ThreadBuf*> g_bufs{nullptr};
std::atomic<std::uint64_t> g_seq{0};
std::atomic<std::uint32_t> g_threads{0};
std::atomic<bool> g_on{false};  // recording (file open, not finished)
int g_fd = -1;
char g_dir[512];
pthread_key_t g_key;

struct Busy {
  Busy() { ++tl_busy; }
  ~Busy() { --tl_busy; }
};

/// The next definition of `name` after this library. Versioned lookup first: a
/// preloaded libc_malloc_debug.so defines its malloc family only as non-default
/// versions (malloc@GLIBC_2.2.5), which programs bind to but plain dlsym skips.
void* next_symbol(const char* name, const char* version) {
#if defined(__x86_64__)
  if (void* p = dlvsym(RTLD_NEXT, name, version)) return p;
#else
  (void)version;
#endif
  return dlsym(RTLD_NEXT, name);
}

void resolve() {
  if (g_resolved.load(std::memory_order_acquire)) return;
  g_resolving.store(1);
  real_malloc = reinterpret_cast<malloc_t>(next_symbol("malloc", "GLIBC_2.2.5"));
  real_free = reinterpret_cast<free_t>(next_symbol("free", "GLIBC_2.2.5"));
  real_calloc = reinterpret_cast<calloc_t>(next_symbol("calloc", "GLIBC_2.2.5"));
  real_realloc = reinterpret_cast<realloc_t>(next_symbol("realloc", "GLIBC_2.2.5"));
  real_memalign = reinterpret_cast<memalign_t>(next_symbol("memalign", "GLIBC_2.2.5"));
  real_posix_memalign = reinterpret_cast<posix_memalign_t>(next_symbol("posix_memalign", "GLIBC_2.2.5"));
  real_aligned_alloc = reinterpret_cast<memalign_t>(next_symbol("aligned_alloc", "GLIBC_2.16"));
  real_valloc = reinterpret_cast<valloc_t>(next_symbol("valloc", "GLIBC_2.2.5"));
  real_pvalloc = reinterpret_cast<valloc_t>(next_symbol("pvalloc", "GLIBC_2.2.5"));
  real_usable = reinterpret_cast<usable_t>(next_symbol("malloc_usable_size", "GLIBC_2.2.5"));
  real__exit = reinterpret_cast<exit_t>(next_symbol("_exit", "GLIBC_2.2.5"));
  real__Exit = reinterpret_cast<exit_t>(next_symbol("_Exit", "GLIBC_2.2.5"));
  g_resolved.store(true, std::memory_order_release);
  g_resolving.store(0);
}

/// True while dlsym runs: allocations then come from the bootstrap arena.
inline bool bootstrapping() {
  if (g_resolved.load(std::memory_order_acquire)) [[likely]] return false;
  if (g_resolving.load() != 0) return true;
  resolve();
  return false;
}

void write_all(int fd, const iovec* iov, int n) {
  // One writev per block keeps blocks whole under O_APPEND; retry on short writes.
  iovec v[2];
  for (int i = 0; i < n; ++i) v[i] = iov[i];
  int first = 0;
  while (first < n) {
    ssize_t w = writev(fd, v + first, n - first);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    std::size_t left = static_cast<std::size_t>(w);
    while (first < n && left >= v[first].iov_len) left -= v[first++].iov_len;
    if (first < n) {
      v[first].iov_base = static_cast<char*>(v[first].iov_base) + left;
      v[first].iov_len -= left;
    }
  }
}

struct FlushLock {
  explicit FlushLock(ThreadBuf* b) : b(b) {
    while (b->flushing.exchange(1, std::memory_order_acquire) != 0) sched_yield();
  }
  ~FlushLock() { b->flushing.store(0, std::memory_order_release); }
  ThreadBuf* b;
};

/// Appends b's events to the file and empties b. `final` is finish()'s flush at
/// exit. Any other flush (the owner's buffer is full, or its thread ends) once
/// recording is off leaves the events where they are: finish() turns recording
/// off before it flushes every buffer, so it writes them, and no events block
/// follows the end block. A thread that ends while the process exits (its
/// runtime joined it before its pthread key destructors ran) thus reaches the
/// file once, not once per flusher, and not zero times.
void flush(ThreadBuf* b, bool final = false) {
  FlushLock lock(b);
  if (!final && !g_on.load()) return;
  const std::uint32_t n = b->n.load(std::memory_order_acquire);
  if (n != 0 && g_fd >= 0) {
    evo::raw::RawBlockHeader h{evo::raw::kBlockMagic, evo::raw::kRawEvents, b->thread, n};
    iovec iov[2] = {{&h, sizeof h}, {b->ev, n * sizeof(RawEvent)}};
    write_all(g_fd, iov, 2);
  }
  b->n.store(0, std::memory_order_relaxed);
}

std::uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

void open_file() {
  std::uint64_t t = now_ns();
  char path[600];
  std::snprintf(path, sizeof path, "%s/rec-%d-%llu.raw", g_dir, static_cast<int>(getpid()),
                static_cast<unsigned long long>(t));
  g_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (g_fd < 0) return;
  evo::raw::RawFileHeader fh{};
  std::memcpy(fh.magic, evo::raw::kFileMagic, 8);
  fh.pid = static_cast<std::uint32_t>(getpid());
  fh.ppid = static_cast<std::uint32_t>(getppid());
  fh.start_ns = t;
  iovec iov[1] = {{&fh, sizeof fh}};
  write_all(g_fd, iov, 1);
}

void write_maps() {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  static char text[1 << 20];
  std::size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, text + n, sizeof text - n);
    if (r <= 0) break;
    n += static_cast<std::size_t>(r);
    if (n == sizeof text) break;
  }
  close(fd);
  evo::raw::RawBlockHeader h{evo::raw::kBlockMagic, evo::raw::kRawMaps, 0, static_cast<std::uint32_t>(n)};
  iovec iov[2] = {{&h, sizeof h}, {text, n}};
  write_all(g_fd, iov, 2);
}

void release_buf(void* p) {
  Busy busy;
  auto* b = static_cast<ThreadBuf*>(p);
  flush(b);
  if (tl_buf == b) tl_buf = nullptr;
  b->in_use.store(0, std::memory_order_release);
}

ThreadBuf* acquire_buf() {
  for (ThreadBuf* b = g_bufs.load(std::memory_order_acquire); b != nullptr; b = b->next) {
    int expect = 0;
    // A free buffer still holding events (its thread ended after recording
    // stopped) waits for finish(); it is not reused.
    if (b->in_use.load(std::memory_order_relaxed) == 0 && b->n.load(std::memory_order_acquire) == 0 &&
        b->in_use.compare_exchange_strong(expect, 1)) {
      b->thread = g_threads.fetch_add(1);
      return b;
    }
  }
  void* m = mmap(nullptr, sizeof(ThreadBuf), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  auto* b = static_cast<ThreadBuf*>(m);  // zero-filled: n == 0, not flushing
  b->thread = g_threads.fetch_add(1);
  b->in_use.store(1);
  ThreadBuf* head = g_bufs.load();
  do b->next = head;
  while (!g_bufs.compare_exchange_weak(head, b));
  return b;
}

/// The calling thread's buffer, or nullptr when this call must not be recorded.
inline ThreadBuf* buffer() {
  if (tl_busy != 0 || !g_on.load(std::memory_order_relaxed)) [[unlikely]] return nullptr;
  ThreadBuf* b = tl_buf;
  if (b == nullptr) [[unlikely]] {
    Busy busy;
    b = acquire_buf();
    if (b == nullptr) return nullptr;
    tl_buf = b;
    pthread_setspecific(g_key, b);
  }
  return b;
}

inline void record_event(ThreadBuf* b, std::uint64_t seq, std::uint8_t kind, const void* ptr, const void* old,
                std::uint64_t size, const void* caller, std::uint8_t align_log2 = 0) {
  const std::uint32_t n = b->n.load(std::memory_order_relaxed);
  if (n == kBufEvents) [[unlikely]] return;  // full, and recording stopped before it could be flushed
  RawEvent& e = b->ev[n];
  e.seq = seq;
  e.ptr = reinterpret_cast<std::uintptr_t>(ptr);
  e.old = reinterpret_cast<std::uintptr_t>(old);
  e.size = size;
  e.caller = reinterpret_cast<std::uintptr_t>(caller);
  e.kind = kind;
  e.align_log2 = align_log2;
  e.pad = 0;
  e.pad2 = 0;
  b->n.store(n + 1, std::memory_order_release);
  if (n + 1 == kBufEvents) [[unlikely]] {
    Busy busy;
    flush(b);
  }
}

inline std::uint64_t next_seq() { return g_seq.fetch_add(1, std::memory_order_relaxed); }

std::uint8_t log2_of(std::size_t a) {
  std::uint8_t l = 0;
  while ((std::size_t{1} << l) < a && l < 63) ++l;
  return l;
}

/// `p`, the block the real allocating function returned: recorded as an op of
/// `kind` for `size` bytes at `caller` when this thread records.
inline void* recorded(void* p, std::uint8_t kind, std::size_t size, const void* caller, std::uint8_t align_log2 = 0) {
  if (ThreadBuf* b = buffer()) record_event(b, next_seq(), kind, p, nullptr, size, caller, align_log2);
  return p;
}

void finish() {
  if (!g_on.exchange(false)) return;
  Busy busy;
  for (ThreadBuf* b = g_bufs.load(); b != nullptr; b = b->next) flush(b, true);
  write_maps();
  evo::raw::RawBlockHeader h{evo::raw::kBlockMagic, evo::raw::kRawEnd, 0, 0};
  iovec iov[1] = {{&h, sizeof h}};
  write_all(g_fd, iov, 1);
  close(g_fd);
  g_fd = -1;
}

void at_fork_child() {
  // The parent owns (and will write) everything buffered before fork.
  // A lock held by a parent thread at fork has no owner here.
  for (ThreadBuf* b = g_bufs.load(); b != nullptr; b = b->next) {
    b->n.store(0);
    b->flushing.store(0);
    if (b != tl_buf) b->in_use.store(0);
  }
  if (g_fd >= 0) {
    close(g_fd);
    g_fd = -1;
    Busy busy;
    open_file();
    if (g_fd < 0) g_on.store(false);
  }
}

__attribute__((constructor(101))) void recorder_init() {
  Busy busy;
  resolve();
  const char* dir = std::getenv("EVOALLOC_RECORD_DIR");
  if (dir == nullptr || *dir == '\0' || std::strlen(dir) >= sizeof g_dir) return;
  std::strcpy(g_dir, dir);
  if (pthread_key_create(&g_key, release_buf) != 0) return;
  pthread_atfork(nullptr, nullptr, at_fork_child);
  open_file();
  if (g_fd >= 0) g_on.store(true);
}

__attribute__((destructor(101))) void recorder_fini() { finish(); }

}  // namespace

// ---------------------------------------------------------------- the interposed API

EXPORT void* malloc(std::size_t size) {
  if (bootstrapping()) [[unlikely]] return boot_alloc(size);
  return recorded(real_malloc(size), kMalloc, size, __builtin_return_address(0));
}

EXPORT void free(void* p) {
  if (p != nullptr && is_boot(p)) [[unlikely]] return;
  if (ThreadBuf* b = buffer()) record_event(b, next_seq(), kFree, nullptr, p, 0, __builtin_return_address(0));
  if (bootstrapping()) [[unlikely]] return;
  real_free(p);
}

EXPORT void* calloc(std::size_t n, std::size_t s) {
  if (bootstrapping()) [[unlikely]] {
    std::size_t t;
    if (__builtin_mul_overflow(n, s, &t)) return nullptr;
    void* p = boot_alloc(t);
    if (p != nullptr) std::memset(p, 0, t);  // the arena is zero already; stay explicit
    return p;
  }
  return recorded(real_calloc(n, s), kCalloc, n * s, __builtin_return_address(0));
}

EXPORT void* realloc(void* old, std::size_t size) {
  if (bootstrapping() || (old != nullptr && is_boot(old))) [[unlikely]] {
    void* p = bootstrapping() ? boot_alloc(size) : malloc(size);
    if (p != nullptr && old != nullptr) {
      std::size_t keep = boot_size(old) < size ? boot_size(old) : size;
      std::memcpy(p, old, keep);
    }
    return p;
  }
  void* p = real_realloc(old, size);
  if (ThreadBuf* b = buffer()) record_event(b, next_seq(), kRealloc, p, old, size, __builtin_return_address(0));
  return p;
}

EXPORT void* reallocarray(void* old, std::size_t n, std::size_t s) {
  std::size_t t;
  if (__builtin_mul_overflow(n, s, &t)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (bootstrapping() || (old != nullptr && is_boot(old))) [[unlikely]] return realloc(old, t);
  void* p = real_realloc(old, t);
  if (ThreadBuf* b = buffer()) record_event(b, next_seq(), kRealloc, p, old, t, __builtin_return_address(0));
  return p;
}

EXPORT void* memalign(std::size_t align, std::size_t size) {
  if (bootstrapping()) [[unlikely]] return boot_alloc(size, align);
  return recorded(real_memalign(align, size), kMemalign, size, __builtin_return_address(0), log2_of(align));
}

EXPORT int posix_memalign(void** out, std::size_t align, std::size_t size) {
  if (bootstrapping()) [[unlikely]] {
    *out = boot_alloc(size, align);
    return *out != nullptr ? 0 : ENOMEM;
  }
  int r = real_posix_memalign(out, align, size);
  if (ThreadBuf* b = buffer())
    record_event(b, next_seq(), kPosixMemalign, r == 0 ? *out : nullptr, nullptr, size, __builtin_return_address(0),
        log2_of(align));
  return r;
}

EXPORT void* aligned_alloc(std::size_t align, std::size_t size) {
  if (bootstrapping()) [[unlikely]] return boot_alloc(size, align);
  return recorded(real_aligned_alloc(align, size), kAlignedAlloc, size, __builtin_return_address(0), log2_of(align));
}

EXPORT void* valloc(std::size_t size) {
  if (bootstrapping()) [[unlikely]] return boot_alloc(size, 4096);
  return recorded(real_valloc(size), kValloc, size, __builtin_return_address(0), 12);
}

EXPORT void* pvalloc(std::size_t size) {
  if (bootstrapping()) [[unlikely]] return boot_alloc(size, 4096);
  return recorded(real_pvalloc(size), kPvalloc, size, __builtin_return_address(0), 12);
}

EXPORT std::size_t malloc_usable_size(void* p) {
  if (p == nullptr) return 0;
  if (is_boot(p)) return boot_size(p);
  if (bootstrapping()) [[unlikely]] return 0;
  return real_usable(p);
}

EXPORT void _exit(int status) {
  finish();
  resolve();
  real__exit(status);
  __builtin_unreachable();
}

EXPORT void _Exit(int status) {
  finish();
  resolve();
  real__Exit(status);
  __builtin_unreachable();
}
