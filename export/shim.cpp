// shim.cpp — the malloc family over the exported design (part of every export).
//
// Exports (default visibility; everything else in the library is hidden):
//   malloc free calloc realloc reallocarray memalign posix_memalign aligned_alloc
//   valloc pvalloc malloc_usable_size, operator new/delete (all forms), and for tests
//   and tools evoalloc_stats, evoalloc_design, evoalloc_threads.
// Semantics follow glibc: failures return NULL with errno = ENOMEM (posix_memalign
// returns the error code instead), realloc(p, 0) frees p and returns NULL,
// posix_memalign/memalign/aligned_alloc reject alignments that are not powers of
// two with EINVAL, pvalloc rounds the size up to whole pages, reallocarray
// detects overflow. Alignments <= 16 are the design's default alignment.
//
// Thread models (chosen at build time: EVOALLOC_THREADS=lock|tlh|tcache in the export's
// CMake project, which defines EVOALLOC_THREADS_TLH for tlh and EVOALLOC_THREADS_TCACHE
// for tcache; the default is lock):
//
// * lock (default): one global instance behind one mutex. While the process has one
//   thread (glibc's __libc_single_threaded, which pthread_create clears before the
//   second thread starts and which glibc's own malloc consults the same way) the
//   mutex is not taken at all: the single thread cannot race with anybody, and no
//   other thread can appear while it is inside the allocator. Fork: pthread_atfork
//   takes the lock before fork and releases it in both parent and child. (A program
//   that starts threads with a raw clone(CLONE_VM) bypasses the flag, as it bypasses
//   glibc's malloc locking.)
//
// * tlh (thread-local heaps): each thread gets its own instance of the design on its
//   first call; when a thread exits (pthread key destructor) its heap goes to a pool
//   and the next new thread adopts it, so the number of heaps is the largest number
//   of threads alive at once and memory stays bounded. Every instance owns one
//   MemorySource reservation (a contiguous address range): the export compiles
//   memory_source.cpp with mmap renamed to evo_export_source_mmap (source_hook.cpp),
//   which reports each reservation, so the heap that owns a block is found by
//   address in a small global table (at most 1024 heaps, append-only, read without
//   any lock: entries are published with a release store of the count).
//   A heap is its owner's alone: a free of a block owned by another thread's heap (a
//   *remote free*) never touches that heap. It goes into the freeing thread's
//   RemoteBatch for that owner (up to kRemoteBatch = 64 blocks of one heap), and a
//   full batch, or one that a block of another heap displaces, is pushed onto the owner's
//   RemoteFreeQueue in one claim (core/remote_queue.hpp: a lock-free ring of 64
//   batches, and when it is full a lock-free stack of batch nodes; nothing is
//   written into the blocks, so no minimum block size, and nothing waits for the
//   owner), which the owner drains into its heap at its next malloc. A thread's
//   exit hooks hand its batch over; a fork child loses the batches of the threads
//   that do not exist in it (31 blocks each at most, never reused). A pooled heap
//   (its thread exited) keeps its queued blocks until a new thread adopts it and
//   allocates. realloc of a remote block = allocate in the caller's heap + copy +
//   remote free; malloc_usable_size works for any block.
//   So when the family's usable_size may run beside other calls on the heap (slab,
//   superblock: Traits::concurrent_usable_size, the one thing another thread asks of
//   a heap: the size of a remote block it reallocates), the owner takes no lock at
//   all: its malloc and free are the design's, plus one check of its queue. (Until
//   2026-12-06 every call took the heap's HeapLock, an atomic exchange: a full
//   barrier that held the producer of xmalloc-test at each malloc behind its own
//   stores to fresh blocks, 0.25x mimalloc; docs/benchmarks.md.) For the other
//   families every call on a heap takes its HeapLock (core/heap_lock.hpp: one
//   atomic exchange to take, one store to release, inlined), and a remote
//   usable_size takes it too.
//   Threads past 1023 heaps (or past the point where a new heap cannot be built:
//   address space or memory exhausted), and calls a thread makes after its heap went
//   back to the pool (later TLS destructors), use the *common heap*: one more heap,
//   owned by no thread, made when first needed, every call on it under its lock.
//   While the process has one thread (__libc_single_threaded) no lock is taken.
//   Fork: prepare takes the table lock, every heap's lock and the node pool's lock;
//   the parent releases them; the child resets them, drains and resets the queues of
//   its own heap, the pooled ones and the locking ones, returns the locking heaps of
//   the threads that do not exist in the child to the pool, and abandons their
//   lock-free heaps (their owner may have been inside a call: never adopted again,
//   frees of their blocks are queued and never reused).
//
// * tcache (per-thread caches over one shared heap, as glibc's tcache and tcmalloc):
//   the design's front=tcache:B cache (core/layers/front.hpp) runs in every thread,
//   each with its own lists, over ONE instance of the rest of the design
//   (evo_export::BackHeap) behind one HeapLock. malloc pops the calling thread's list
//   and free pushes the block on the calling thread's list, whoever allocated it (no
//   owner, no remote free); only a refill or a flush of B/2 blocks takes the lock,
//   once a batch. A flush whose class has room in the transfer cache
//   (core/layers/transfer.hpp: per class a few whole batches, each class behind a
//   lock of its own) leaves its batch there instead, and a refill takes such a
//   batch whole before it asks the heap, so a producer/consumer pair of threads
//   passes blocks in batches of B/2 without the heap's lock or metadata. free finds
//   a block's size without the lock when the family says its usable_size may run
//   beside other calls (slab, superblock: Traits::concurrent_usable_size), else
//   under it. A thread's first call adopts a cache (from the pool of exited
//   threads' caches, else a new one; at most 1024); its exit hook gives every
//   cached block back to the heap (one batch) and pools the cache. Threads past
//   1024 caches, and calls after the exit hook, go to the shared heap under its
//   lock. No lock at all while the process has one thread.
//   Fork: prepare takes the table lock, the heap lock and the transfer cache's
//   locks; the child resets them and
//   abandons the other threads' caches (one may have been half-way through a push),
//   with the blocks they held. The threaded replay runs the same composition
//   (evaluate/replay_threaded.cpp, model tcache).
//
// Fast path (lock model, one thread): malloc inlines the design's try_allocate
// when its class has one (simple::Slab: a leaf that pops its class's free list, or
// a front cache's pop) and tail-calls the rest, so the common call builds no stack
// frame. Under tcache, malloc and operator new inline the thread cache's pop
// (FrontCache::try_allocate) and free its push (FrontCache::deallocate_block), the
// rest out of line; the shared heap sits at a static address (no pointer to load
// on every free). With the front cache's prefetches of that day this took a slab
// design on larson (1 thread, 2026-12-05) from 28-37 to 35-42 M ops/s;
// docs/benchmarks.md.
//
// Bootstrap: the first call (from any thread, before or after main) builds the
// global state. Calls made while an instance is being built, or re-entrant calls
// made from inside the allocator (by the thread holding the lock; in tlh by a thread
// inside its heap, building a heap, or registering its exit hook), are served from a
// 1 GiB bootstrap arena, mapped on first use (bump allocation, 16-byte header holding the size,
// frees ignored); the design itself never calls malloc after init.
//
// Statistics: EVOALLOC_STATS=1 in the environment prints one line to stderr at
// exit: design name, footprint, peak footprint, allocations, frees, OS calls and
// bootstrap bytes; under tlh the counters are summed over every heap (peak = the sum
// of the heaps' peaks, an upper bound of the process's peak; a remote free counts
// once its batch is handed over, see tlh above; the footprints add the queues'
// overflow nodes) and ", heaps N" ends the line;
// under tcache allocs and frees are summed over the threads' caches, the footprints
// add the resident pages of the caches' pointer stacks (front=tcache:B:array) and of
// the transfer cache's slots, and ", caches N" (caches ever made) ends the line.
// (EVOALLOC_STATS is read once, at initialisation, when the library also keeps a
// duplicate of stderr: the line appears even for programs, such as coreutils, that
// close stderr before exit.)
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/single_threaded.h>

#include <atomic>
#include <new>

#include "core/heap_lock.hpp"
#include "core/remote_queue.hpp"
#include "evoalloc_runtime.hpp"
#ifdef EVO_EXPORT_ROUTE
#include "site_map.hpp"
#if defined(EVOALLOC_THREADS_TLH) || defined(EVOALLOC_THREADS_TCACHE)
#error "a routing design (route ...) builds under EVOALLOC_THREADS=lock only, for now"
#endif
#endif

#define EVO_API extern "C" __attribute__((visibility("default")))
#define EVO_CXX __attribute__((visibility("default")))

#ifdef EVOALLOC_THREADS_TLH
/// Set by the shim: called with every fresh reservation the design's MemorySource
/// makes (source_hook.cpp).
extern "C" void (*evo_export_on_reserve)(void* base, size_t len);
#endif

namespace {

#define EVO_TLS __thread __attribute__((tls_model("initial-exec")))

/// True while the process has one thread (see "Thread models" above).
inline bool single_threaded() { return __libc_single_threaded != 0; }

// ---- bootstrap arena ----
// 1 GiB of address space mapped on first use (MAP_NORESERVE: only the pages bump
// allocation reaches are ever touched). Under tlh every heap's instance object is
// built here (heaps are pooled, so the arena holds one per heap ever alive at
// once: ~35-40 KiB each, 1024 heaps at most).
constexpr std::size_t kBootBytes = std::size_t{1} << 30;
std::atomic<char*> g_boot{nullptr};
std::atomic<std::size_t> g_boot_used{0};
// The arena's base for is_boot: a kernel-half address until the arena exists, so that
// one unsigned comparison says "not in the arena" for every user-space pointer.
constexpr std::uintptr_t kNoBoot = std::uintptr_t{0xFFFF8} << 44;
std::atomic<std::uintptr_t> g_boot_lo{kNoBoot};


char* boot_base() {
  char* b = g_boot.load(std::memory_order_acquire);
  if (b != nullptr) return b;
  void* p = ::mmap(nullptr, kBootBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  if (!g_boot.compare_exchange_strong(b, static_cast<char*>(p), std::memory_order_acq_rel)) {
    ::munmap(p, kBootBytes);  // another thread mapped it first
    return b;
  }
  g_boot_lo.store(reinterpret_cast<std::uintptr_t>(p), std::memory_order_release);
  return static_cast<char*>(p);
}

inline bool is_boot(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) - g_boot_lo.load(std::memory_order_relaxed) < kBootBytes;
}

void* boot_alloc(std::size_t size, std::size_t align) {
  if (align < 16) align = 16;
  if (size > kBootBytes) return nullptr;
  char* const base = boot_base();
  if (base == nullptr) return nullptr;
  std::size_t cur = g_boot_used.load(std::memory_order_relaxed);
  for (;;) {
    std::size_t start = (cur + 16 + align - 1) & ~(align - 1);  // room for the header
    std::size_t end = start + ((size + 15) & ~std::size_t{15});
    if (end > kBootBytes) return nullptr;
    if (g_boot_used.compare_exchange_weak(cur, end, std::memory_order_relaxed)) {
      std::memcpy(base + start - 16, &size, sizeof size);
      return base + start;
    }
  }
}

std::size_t boot_size(const void* p) {
  std::size_t n;
  std::memcpy(&n, static_cast<const char*>(p) - 16, sizeof n);
  return n;
}

void write_err(const char* s) {
  ssize_t r = ::write(2, s, strlen(s));
  (void)r;
}

[[noreturn]] void die_init(const std::string& err) {
  write_err("evoalloc export ");
  write_err(evo_export::kName);
  write_err(": cannot create the allocator: ");
  write_err(err.c_str());
  write_err("\n");
  abort();
}

bool g_stats = false;
int g_stats_fd = 2;  // a duplicate of stderr taken at init (programs may close fd 2 before exit)

bool stats_env() {
  const char* st = getenv("EVOALLOC_STATS");
  return st != nullptr && st[0] != '\0' && st[0] != '0';
}

/// Reads EVOALLOC_STATS and, when set, keeps its own copy of stderr: coreutils and
/// others close fd 2 at exit, before the library's destructor prints the line.
void stats_init() {
  g_stats = stats_env();
  if (g_stats) {
    int fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    g_stats_fd = fd >= 0 ? fd : 2;
  }
}

/// `heaps` >= 0 ends the line with ", <label> <heaps>" (tlh: heaps; tcache: caches);
/// `tail`, when given, is appended (a routing design's per-class counts).
void print_stats_line(const evo::AllocStats& s, long heaps, const char* label, const char* tail = nullptr) {
  char buf[512];
  int n = snprintf(buf, sizeof buf,
                   "evoalloc %s: footprint %llu bytes, peak %llu bytes, allocs %llu, frees %llu, os_calls %llu, "
                   "bootstrap %llu bytes",
                   evo_export::kName, (unsigned long long)s.footprint, (unsigned long long)s.peak_footprint,
                   (unsigned long long)s.allocs, (unsigned long long)s.frees, (unsigned long long)s.os_calls,
                   (unsigned long long)g_boot_used.load());
  if (n > 0 && heaps >= 0 && static_cast<std::size_t>(n) < sizeof buf)
    n += snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ", %s %ld", label, heaps);
  if (n > 0 && tail != nullptr && static_cast<std::size_t>(n) < sizeof buf)
    n += snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), "%s", tail);  if (n > 0 && static_cast<std::size_t>(n) < sizeof buf - 1) buf[n++] = '\n';
  if (n > 0) {
    ssize_t r = ::write(g_stats_fd, buf,
                        static_cast<std::size_t>(n) < sizeof buf ? static_cast<std::size_t>(n) : sizeof buf - 1);
    (void)r;
  }
}

[[maybe_unused]] void add_stats(evo::AllocStats& sum, const evo::AllocStats& s) {  // tlh sums its heaps
  sum.footprint += s.footprint, sum.peak_footprint += s.peak_footprint, sum.live_requested += s.live_requested;
  sum.allocs += s.allocs, sum.frees += s.frees, sum.os_calls += s.os_calls;
}

/// At exit another thread may still hold a lock (and never release it): wait for it
/// only briefly, then read the counters unlocked (they are plain integers).
inline bool try_lock(pthread_mutex_t* m) { return pthread_mutex_trylock(m) == 0; }
inline bool try_lock(evo::HeapLock* m) { return m->try_lock(); }

template <typename Lock>
bool lock_briefly(Lock* m) {
  for (int i = 0; i < 1000; ++i) {
    if (try_lock(m)) return true;
    usleep(100);
  }
  return false;
}

inline bool pow2(std::size_t a) { return a != 0 && (a & (a - 1)) == 0; }

#if defined(EVOALLOC_THREADS_TLH) || defined(EVOALLOC_THREADS_TCACHE)
// ======== what the per-thread models (tcache, tlh) share ========
// One initialisation (the model's model_init, a pthread key whose destructor runs a
// thread's exit hook, the fork handlers), and the per-thread re-entrancy flag.

std::atomic<bool> g_ready{false};
pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_key_t g_key;    // its destructor gives a thread's heap (tlh) or cache (tcache) to the pool
EVO_TLS bool t_busy;    // inside init, adoption or a heap: re-entrant calls go to the bootstrap arena
EVO_TLS bool t_exited;  // the thread's exit hook ran: later calls no longer use its own heap/cache

// Each model defines these.
void model_init();  // its part of the initialisation (t_busy set, under g_init_lock)
void on_thread_exit(void* v);
void atfork_prepare();
void atfork_parent();
void atfork_child();

void init_slow() {
  pthread_mutex_lock(&g_init_lock);
  if (!g_ready.load(std::memory_order_acquire)) {
    t_busy = true;  // the model's init, pthread_key_create and pthread_atfork may call malloc
    stats_init();
    model_init();
    if (pthread_key_create(&g_key, &on_thread_exit) != 0) die_init("pthread_key_create failed");
    pthread_atfork(&atfork_prepare, &atfork_parent, &atfork_child);
    g_ready.store(true, std::memory_order_release);
    t_busy = false;
  }
  pthread_mutex_unlock(&g_init_lock);
}

/// True when the call must be served by the bootstrap arena.
inline bool use_boot() {
  if (t_busy) return true;
  if (!g_ready.load(std::memory_order_acquire)) [[unlikely]] init_slow();
  return false;
}
#endif

#if defined(EVOALLOC_THREADS_TCACHE)
// ======== thread model "tcache": the front cache in every thread, one shared heap ========

#ifndef EVO_EXPORT_FRONT
#error "EVOALLOC_THREADS=tcache runs the design's front=tcache:B cache in every thread: this design has front=none"
#endif

constexpr const char* kThreadModel = "tcache";
constexpr const char* kCountLabel = "caches";  // the stats line's count
constexpr std::size_t kMaxCaches = 1024;

// The shared heap: the design without its front cache, at a static address (every
// free reads its metadata through usable_size: an address known at link time is
// no pointer to load first). Built by model_init, never destroyed (frees may come
// after exit handlers).
alignas(64) char g_heap_storage[sizeof(evo_export::BackHeap)];
evo_export::BackHeap* g_heap = nullptr;  // set once built (stats, readiness)
inline evo_export::BackHeap& back_heap() {
  return *std::launder(reinterpret_cast<evo_export::BackHeap*>(g_heap_storage));
}

/// The shared heap as a FrontCache back end.
struct SharedHeap {
  void* allocate(std::size_t n, std::size_t a) { return back_heap().allocate(n, a); }
  void deallocate(void* p) { back_heap().deallocate(p); }
  void* reallocate(void* p, std::size_t n) { return back_heap().reallocate(p, n); }
  std::size_t usable_size(const void* p) const { return back_heap().usable_size(p); }
  std::size_t good_size(std::size_t n) const { return back_heap().good_size(n); }
  void stats(evo::AllocStats* out) const { *out = back_heap().stats(); }
  bool validate(evo::ValidateLevel l, std::string* e) const { return back_heap().validate(l, e); }
};
using Back = evo::SharedBack<SharedHeap>;
using Cache = evo::FrontCache<Back>;

/// One thread's cache, on cache lines of its own; pooled when its thread exits.
struct alignas(64) Slot {
  Cache cache;
  Slot* next_free = nullptr;  // pool link (under g_table_lock)
  bool owned = false;         // adopted by a live thread (under g_table_lock)
  Slot(Back b, std::size_t align) : cache(b, evo_export::kFrontBound, align, nullptr) {}
};

// Every free reads the heap object (usable_size, without the lock); refills and
// flushes write the lock from every thread. So the lock has a cache line to itself
// (a struct of one line), and the heap object starts a line of its own: a lock
// beside it cost a miss per free (false sharing).
struct alignas(64) LockLine {
  evo::HeapLock lock;
};
static_assert(sizeof(LockLine) == 64);
SharedHeap g_shared;  // no state: the handle SharedBack holds
LockLine g_lock_line;
evo::HeapLock& g_lock = g_lock_line.lock;  // the shared heap's lock, taken per batch (core/heap_lock.hpp)
evo::TransferCache g_transfer;  // batches passed between the caches (core/layers/transfer.hpp); storage never unmapped
std::size_t g_align = 16;
alignas(Slot) char g_slot_storage[kMaxCaches * sizeof(Slot)];  // caches are never destroyed
Slot* g_slots[kMaxCaches];                                     // [0, g_nslots) published, append-only
std::atomic<std::size_t> g_nslots{0};
pthread_mutex_t g_table_lock = PTHREAD_MUTEX_INITIALIZER;  // cache creation, the pool
Slot* g_pool = nullptr;                                     // caches of exited threads
// Calls made with no cache (past kMaxCaches threads, or after the thread's exit hook).
std::atomic<std::uint64_t> g_direct_allocs{0}, g_direct_frees{0};

EVO_TLS Cache* t_cache;  // this thread's cache (adopted on its first call)

/// The shared heap behind its lock, for calls made with no cache.
Back direct() { return Back(&g_shared, &g_lock, evo_export::BackHeap::concurrent_usable_size(), &g_transfer); }

std::size_t design_align() {
  for (std::size_t i = 0; i < evo_export::kParamCount; ++i)
    if (::strcmp(evo_export::kParams[i].key, "align") == 0) return ::strtoul(evo_export::kParams[i].value, nullptr, 10);
  return 16;
}

void on_thread_exit(void* v) {
  auto* s = static_cast<Slot*>(v);
  t_busy = true;
  s->cache.flush_all();  // every cached block back to the shared heap (one batch)
  t_cache = nullptr;
  t_exited = true;
  pthread_mutex_lock(&g_table_lock);
  s->owned = false;
  s->next_free = g_pool;
  g_pool = s;
  pthread_mutex_unlock(&g_table_lock);
  t_busy = false;
}

void atfork_prepare() {
  pthread_mutex_lock(&g_table_lock);
  g_lock.lock();
  g_transfer.lock_all();
}
void atfork_parent() {
  g_transfer.unlock_all();
  g_lock.unlock();
  pthread_mutex_unlock(&g_table_lock);
}
void atfork_child() {
  // Only this thread exists in the child. The other threads' caches may have been
  // half-way through a push or pop (no lock guards a cache): they are abandoned,
  // with the blocks they held (at most their bounds' worth), never reused. The
  // transfer cache's batches are whole (prepare held its locks) and stay usable.
  g_transfer.reset_locks();
  g_lock.reset();
  pthread_mutex_init(&g_table_lock, nullptr);
}

void model_init() {
  auto* h = new (g_heap_storage) evo_export::BackHeap();
  std::string err;
  if (!h->init(&err)) die_init(err);
  g_heap = h;
  g_align = design_align();
}

/// This thread's cache, adopted from the pool or made; nullptr past kMaxCaches
/// threads or after the thread's exit hook (the call then goes to the shared heap).
[[gnu::noinline]] Cache* adopt_cache() {
  if (t_exited) return nullptr;
  t_busy = true;
  pthread_mutex_lock(&g_table_lock);
  Slot* s = g_pool;
  if (s != nullptr) {
    g_pool = s->next_free;
  } else if (std::size_t n = g_nslots.load(std::memory_order_relaxed); n < kMaxCaches) {
    s = new (g_slot_storage + n * sizeof(Slot)) Slot(direct(), g_align);
    std::string err;
    if (!s->cache.init(&err)) die_init(err);
    g_slots[n] = s;
    g_nslots.store(n + 1, std::memory_order_release);
  }
  if (s != nullptr) s->owned = true;
  pthread_mutex_unlock(&g_table_lock);
  if (s != nullptr) pthread_setspecific(g_key, s);
  t_cache = s != nullptr ? &s->cache : nullptr;
  t_busy = false;
  return t_cache;
}

[[gnu::noinline]] void* alloc_slow(std::size_t size, std::size_t align) {
  if (use_boot()) return boot_alloc(size, align);
  void* p;
  if (Cache* c = adopt_cache()) {
    p = c->allocate(size, align);
  } else {
    p = direct().allocate(size, align);
    if (p != nullptr) g_direct_allocs.fetch_add(1, std::memory_order_relaxed);
  }
  if (p == nullptr) errno = ENOMEM;
  return p;
}

/// The rest of malloc's path past the cache's inline pop: a refill, a size the
/// cache does not hold, an alignment past the default, no cache yet.
[[gnu::noinline]] void* alloc_rest(std::size_t size, std::size_t align) {
  if (Cache* c = t_cache) [[likely]] {
    void* p = c->allocate(size, align);
    if (p == nullptr) [[unlikely]] errno = ENOMEM;
    return p;
  }
  return alloc_slow(size, align);
}

/// The thread's cache's pop (inlined: no call, no stack frame), or nullptr for
/// anything else (do_alloc's and operator new's fast path).
inline void* alloc_fast(std::size_t size, std::size_t align) {
  if (Cache* c = t_cache; c != nullptr && align <= 16) [[likely]]  // every design aligns to >= 16
    return c->try_allocate(size);
  return nullptr;
}

/// malloc's path: alloc_fast, else a tail call to the rest.
inline void* do_alloc(std::size_t size, std::size_t align) {
  if (void* p = alloc_fast(size, align)) [[likely]]
    return p;
  return alloc_rest(size, align);
}

[[gnu::noinline]] void free_slow(void* p) {
  if (t_busy || !g_ready.load(std::memory_order_acquire)) return;  // re-entrant: not a heap block
  if (Cache* c = adopt_cache()) return c->deallocate(p);
  direct().deallocate(p);
  g_direct_frees.fetch_add(1, std::memory_order_relaxed);
}

/// free's path: the block goes to the calling thread's cache, whoever allocated it
/// (the cache's push inlined, its slow path out of line).
inline void do_free(void* p) {
  if (p == nullptr || is_boot(p)) return;
  if (Cache* c = t_cache) [[likely]]
    return c->deallocate_block(p);
  free_slow(p);
}

std::size_t do_usable(const void* p) {
  if (p == nullptr) return 0;
  if (is_boot(p)) return boot_size(p);
  if (use_boot()) return 0;
  return direct().usable_size(p);
}

void* realloc_heap(void* p, std::size_t size) {
  Cache* c = t_cache != nullptr ? t_cache : adopt_cache();
  void* q;
  if (c != nullptr) {
    q = c->reallocate(p, size);
  } else {
    Back b = direct();
    q = b.reallocate(p, size);
  }
  if (q == nullptr && size != 0) errno = ENOMEM;
  return q;
}

evo::AllocStats total_stats(bool wait, long* heaps) {
  evo::AllocStats s;
  *heaps = static_cast<long>(g_nslots.load(std::memory_order_acquire));  // printed as ", caches N"
  if (g_heap == nullptr || !g_ready.load()) return s;
  bool locked = true;
  if (wait) g_lock.lock();
  else locked = lock_briefly(&g_lock);
  s = g_heap->stats();
  if (locked) g_lock.unlock();
  // The program's calls: every cache's counts (their owners' plain counters, read
  // without their owners' help: exact once the threads are done) and the direct ones.
  s.allocs = g_direct_allocs.load(std::memory_order_relaxed);
  s.frees = g_direct_frees.load(std::memory_order_relaxed);
  const std::size_t n = g_nslots.load(std::memory_order_acquire);
  // The caches' pointer stacks (front=tcache:B:array) are memory the library holds
  // beside the heap: their resident pages count in the footprint (and, as they stay
  // resident once touched, in the peak).
  for (std::size_t i = 0; i < n; ++i) {
    s.allocs += g_slots[i]->cache.allocs(), s.frees += g_slots[i]->cache.frees();
    const std::uint64_t slots = g_slots[i]->cache.slots_resident();
    s.footprint += slots;
    s.peak_footprint += slots;
  }
  const std::uint64_t transfer_slots = g_transfer.resident();  // and the transfer cache's
  s.footprint += transfer_slots;
  s.peak_footprint += transfer_slots;
  return s;
}

#elif !defined(EVOALLOC_THREADS_TLH)
// ======== thread model "lock": one global instance behind one mutex ========

constexpr const char* kThreadModel = "lock";
constexpr const char* kCountLabel = "";  // one heap: no count

alignas(evo_export::Heap) char g_heap_storage[sizeof(evo_export::Heap)];
evo_export::Heap* g_heap = nullptr;  // never destroyed: frees may come after exit handlers
/// The heap object at its static address (the fast path's one load less than g_heap).
inline evo_export::Heap& heap() { return *std::launder(reinterpret_cast<evo_export::Heap*>(g_heap_storage)); }
std::atomic<bool> g_ready{false};
std::atomic<bool> g_initializing{false};
pthread_t g_init_owner;
pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
EVO_TLS bool t_inside;  // this thread holds g_lock (re-entrant calls go to the bootstrap arena)

void atfork_prepare() { pthread_mutex_lock(&g_lock); }
void atfork_parent() { pthread_mutex_unlock(&g_lock); }
void atfork_child() { pthread_mutex_unlock(&g_lock); }

void init_slow() {
  pthread_mutex_lock(&g_init_lock);
  if (!g_ready.load(std::memory_order_acquire)) {
    g_init_owner = pthread_self();
    g_initializing.store(true, std::memory_order_release);
    stats_init();
    auto* h = new (g_heap_storage) evo_export::Heap();
    std::string err;
    if (!h->init(&err)) die_init(err);
    g_heap = h;
    pthread_atfork(&atfork_prepare, &atfork_parent, &atfork_child);
    g_ready.store(true, std::memory_order_release);
    g_initializing.store(false, std::memory_order_release);
  }
  pthread_mutex_unlock(&g_init_lock);
}

/// The fast path: the heap is built and the process has one thread (no lock needed).
inline bool fast_path() { return g_ready.load(std::memory_order_acquire) && single_threaded(); }

/// True when the call must be served by the bootstrap arena (init in progress on
/// this thread, or re-entry from inside the allocator on the thread holding the lock).
inline bool use_boot() {
  if (!g_ready.load(std::memory_order_acquire)) [[unlikely]] {
    if (g_initializing.load(std::memory_order_acquire) && pthread_equal(g_init_owner, pthread_self())) return true;
    init_slow();
  }
  return t_inside;
}

/// Holds g_lock, unless the process has one thread.
struct Guard {
  bool locked = !single_threaded();
  Guard() {
    if (locked) pthread_mutex_lock(&g_lock);
    t_inside = true;
  }
  ~Guard() {
    t_inside = false;
    if (locked) pthread_mutex_unlock(&g_lock);
  }
};

[[gnu::noinline]] void* alloc_slow(std::size_t size, std::size_t align) {
  if (use_boot()) return boot_alloc(size, align);
  void* p;
  {
    Guard g;
    p = g_heap->allocate(size, align);
  }
  if (p == nullptr) errno = ENOMEM;
  return p;
}

/// The unlocked path past the design's inline fast path.
[[gnu::noinline]] void* alloc_unlocked(std::size_t size, std::size_t align) {
  void* p = heap().allocate(size, align);
  if (p == nullptr) [[unlikely]] errno = ENOMEM;
  return p;
}

/// The design's inline fast path (one thread, the default alignment), or nullptr
/// (operator new's fast path).
inline void* alloc_fast(std::size_t size, std::size_t align) {
  if (fast_path() && align <= 16) [[likely]]  // every design's default alignment is at least 16
    return heap().try_allocate(size);
  return nullptr;
}

/// malloc's path: the design's inline fast path (a leaf: no stack frame, no saved
/// register), else a tail call to the rest. Both give what heap().allocate gives.
inline void* do_alloc(std::size_t size, std::size_t align) {
  if (fast_path()) [[likely]] {
    if (align <= 16)  // every design's default alignment is at least 16
      if (void* p = heap().try_allocate(size)) [[likely]] return p;
    return alloc_unlocked(size, align);
  }
  return alloc_slow(size, align);
}

[[gnu::noinline]] void free_slow(void* p) {
  if (use_boot()) return;  // re-entrant free from inside the allocator: cannot happen for its own blocks
  Guard g;
  g_heap->deallocate(p);
}

/// free's path. It tests only the thread count, not g_ready: a block that is neither
/// null nor the bootstrap arena's was handed out by the built heap, so the heap is
/// built (and, single-threaded, seen built by this thread).
inline void do_free(void* p) {
  if (p == nullptr || is_boot(p)) return;
  if (single_threaded()) [[likely]] {
    heap().deallocate(p);
    return;
  }
  free_slow(p);
}

std::size_t do_usable(const void* p) {
  if (p == nullptr) return 0;
  if (is_boot(p)) return boot_size(p);
  if (use_boot()) return 0;
  Guard g;
  return g_heap->usable_size(p);
}

void* realloc_heap(void* p, std::size_t size) {
  void* q;
  {
    Guard g;
    q = g_heap->reallocate(p, size);
  }
  if (q == nullptr && size != 0) errno = ENOMEM;
  return q;
}

evo::AllocStats total_stats(bool wait, long* heaps) {
  evo::AllocStats s;
  *heaps = -1;  // not printed: one heap
  if (g_heap == nullptr || !g_ready.load()) return s;
  if (wait) {
    Guard g;
    return g_heap->stats();
  }
  bool locked = lock_briefly(&g_lock);
  s = g_heap->stats();
  if (locked) pthread_mutex_unlock(&g_lock);
  return s;
}

#else
// ======== thread model "tlh": thread-local heaps with remote frees ========

constexpr const char* kThreadModel = "tlh";
constexpr const char* kCountLabel = "heaps";  // the stats line's count
constexpr std::size_t kMaxHeaps = 1024;

// The family's usable_size may run beside the owner's calls (slab, superblock): a
// heap is then its owner's alone and its owner takes no lock (see the top of the file).
constexpr bool kOwnerLocks = !evo_export::Heap::concurrent_usable_size();

// Overflow nodes of every heap's queue (core/remote_queue.hpp); never unmapped.
evo::RemoteNodePool g_nodes;

struct alignas(64) Tlh {
  evo_export::Heap heap;
  evo::HeapLock lock;             // see HeapGuard (core/heap_lock.hpp)
  evo::HeapRemoteQueue remote{&g_nodes};  // blocks other threads freed, drained by the owner (core/remote_queue.hpp)
  std::uintptr_t lo = 0, hi = 0;  // the instance's MemorySource reservation [lo, hi)
  Tlh* next_free = nullptr;       // pool link (under g_table_lock)
  bool owned = false;             // adopted by a live thread (under g_table_lock)
  bool common = false;            // the common heap: never owned, every call takes its lock
  /// Calls on this heap take its lock (HeapGuard): the common heap's, or every heap's
  /// when the family's usable_size may not run beside its owner's calls.
  bool locking() const { return kOwnerLocks || common; }
};

alignas(Tlh) char g_tlh_storage[kMaxHeaps * sizeof(Tlh)];  // heaps are never destroyed
Tlh* g_table[kMaxHeaps];                // [0, g_nheaps) published, append-only
std::atomic<std::size_t> g_nheaps{0};
pthread_mutex_t g_table_lock = PTHREAD_MUTEX_INITIALIZER;  // heap creation, the pool
Tlh* g_pool = nullptr;                  // heaps of exited threads
Tlh* g_common = nullptr;                // the common heap, made when first needed (under g_table_lock)
// The reservations reported while one heap is being built (under g_table_lock).
std::uintptr_t g_res_lo = 0, g_res_hi = 0;
int g_res_count = 0;

EVO_TLS Tlh* t_heap;     // this thread's heap (adopted on its first call)
EVO_TLS evo::RemoteBatch<Tlh> t_remote;  // blocks of other heaps this thread freed, not yet handed over
EVO_TLS bool t_batch_hooked;  // g_batch_key set for this thread: its exit flushes t_remote
EVO_TLS bool t_batch_done;    // g_batch_key's destructor ran: remote frees are handed over at once
pthread_key_t g_batch_key;
EVO_TLS bool t_building; // this thread is building a heap (new_heap)

/// Frees into `h` the blocks other threads queued for it (by its owner; a locking
/// heap's under its lock).
[[gnu::noinline]] void drain_remote(Tlh* h) {
  h->remote.drain([h](void* q) { h->heap.deallocate(q); });
}

void on_reserve(void* base, size_t len) {
  if (!t_building) return;  // another MemorySource (e.g. a DesignResource in the program)
  ++g_res_count;
  g_res_lo = reinterpret_cast<std::uintptr_t>(base);
  g_res_hi = g_res_lo + len;
}

/// Hands n blocks of heap h, freed by this thread, over to h's owner (queued: never
/// waits, never touches h's heap).
void hand_over(Tlh* h, void* const* ps, std::size_t n) { h->remote.push_batch(ps, n); }

void on_thread_exit(void* v) {
  auto* h = static_cast<Tlh*>(v);
  t_remote.flush(hand_over);  // this thread's last remote frees reach their owners
  t_exited = true;
  t_heap = nullptr;
  pthread_mutex_lock(&g_table_lock);
  h->owned = false;
  h->next_free = g_pool;
  g_pool = h;
  pthread_mutex_unlock(&g_table_lock);
}

void atfork_prepare() {
  pthread_mutex_lock(&g_table_lock);
  std::size_t n = g_nheaps.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < n; ++i) g_table[i]->lock.lock();  // the locking heaps' calls are done
  g_nodes.lock();
}
void atfork_parent() {
  g_nodes.unlock();
  std::size_t n = g_nheaps.load(std::memory_order_acquire);
  for (std::size_t i = n; i-- > 0;) g_table[i]->lock.unlock();
  pthread_mutex_unlock(&g_table_lock);
}
void atfork_child() {
  g_nodes.reset_lock();
  std::size_t n = g_nheaps.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < n; ++i) {
    Tlh* h = g_table[i];
    h->lock.reset();
    const bool orphan = h->owned && h != t_heap;  // its thread does not exist in the child
    if (orphan && !h->locking()) {
      // Its owner may have been half-way through a call (it takes no lock): the heap
      // is abandoned, never drained nor adopted; frees of its blocks queue (leaked).
      h->owned = false;
      continue;
    }
    drain_remote(h);  // one thread now: no lock needed
    h->remote.reset();
    if (orphan) {  // a locking heap: whole (prepare held its lock), so pooled
      h->owned = false;
      h->next_free = g_pool;
      g_pool = h;
    }
  }
  pthread_mutex_init(&g_table_lock, nullptr);
}

/// g_batch_key's destructor: the thread's last remote frees reach their owners.
void on_batch_exit(void*) {
  t_remote.flush(hand_over);
  t_batch_done = true;
}

void model_init() {
  evo_export_on_reserve = &on_reserve;
  if (pthread_key_create(&g_batch_key, &on_batch_exit) != 0) die_init("pthread_key_create failed");
}

bool g_heaps_exhausted = false;  // a heap could not be built: later threads share (under g_table_lock)

/// A new heap in the table (under g_table_lock, t_busy set); nullptr when the
/// table is full or a heap cannot be built (address space or memory exhausted:
/// the caller then uses the common heap; only the first heap failing is fatal).
/// The table's last entry is kept for the common heap.
Tlh* new_heap(bool common) {
  std::size_t n = g_nheaps.load(std::memory_order_relaxed);
  if (!common && (n + 1 >= kMaxHeaps || (g_heaps_exhausted && n != 0))) return nullptr;
  auto* h = new (g_tlh_storage + n * sizeof(Tlh)) Tlh();
  g_res_lo = g_res_hi = 0;
  g_res_count = 0;
  std::string err;
  t_building = true;
  bool ok = h->heap.init(&err);
  t_building = false;
  if (!ok) {
    if (n == 0) die_init(err);
    g_heaps_exhausted = true;
    return nullptr;
  }
  if (g_res_count != 1)
    die_init("thread-local heaps need the design to reserve exactly one address range (it reserved " +
             std::to_string(g_res_count) + ")");
  h->lo = g_res_lo, h->hi = g_res_hi;
  h->common = common;
  g_table[n] = h;
  g_nheaps.store(n + 1, std::memory_order_release);
  return h;
}

/// This thread's heap: adopted from the pool or made, else (the table full, no
/// memory for a heap, or the thread past its exit hook) the common heap; nullptr
/// when not even that can be made (the call fails with ENOMEM).
[[gnu::noinline]] Tlh* adopt_heap() {
  t_busy = true;
  pthread_mutex_lock(&g_table_lock);
  Tlh* h = nullptr;
  if (!t_exited) {
    if (g_pool != nullptr) {
      h = g_pool;
      g_pool = h->next_free;
    } else {
      h = new_heap(false);
    }
    if (h != nullptr) h->owned = true;
  }
  const bool own = h != nullptr;
  if (!own) {
    if (g_common == nullptr) g_common = new_heap(true);
    h = g_common;
  }
  pthread_mutex_unlock(&g_table_lock);
  if (own) pthread_setspecific(g_key, h);
  t_heap = h;
  t_busy = false;
  return h;
}

inline Tlh* my_heap() {
  Tlh* h = t_heap;
  return h != nullptr ? h : adopt_heap();
}

inline bool owns(const Tlh* h, std::uintptr_t a) { return a - h->lo < h->hi - h->lo; }

/// The heap whose reservation holds p (nullptr: no heap does).
inline Tlh* owner_of(const void* p) {
  auto a = reinterpret_cast<std::uintptr_t>(p);
  Tlh* h = t_heap;
  if (h != nullptr && owns(h, a)) [[likely]] return h;
  std::size_t n = g_nheaps.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < n; ++i)
    if (owns(g_table[i], a)) return g_table[i];
  return nullptr;
}

/// Holds a locking heap's lock (Tlh::locking; not taken while the process has one
/// thread), and marks the thread as inside the allocator.
struct HeapGuard {
  Tlh* h;
  bool locked;
  explicit HeapGuard(Tlh* x) : h(x), locked(x->locking() && !single_threaded()) {
    if (locked) h->lock.lock();
    t_busy = true;
  }
  ~HeapGuard() {
    t_busy = false;
    if (locked) h->lock.unlock();
  }
};

/// A block of heap h (not this thread's) freed: into this thread's batch for h
/// (core/remote_queue.hpp), handed over when full or when a block of another heap
/// comes, and by the thread's exit hooks (its heap's, and g_batch_key's, which a
/// thread that frees without ever allocating needs); past either hook, handed over
/// at once (nothing would flush it).
void free_remote(Tlh* h, void* p) {
  if (t_exited || t_batch_done) [[unlikely]] return hand_over(h, &p, 1);
  if (!t_batch_hooked) [[unlikely]] {  // a thread that only frees has no heap, so no heap exit hook
    t_batch_hooked = true;
    pthread_setspecific(g_batch_key, &t_remote);
  }
  t_remote.add(h, p, hand_over);
}

/// No inline fast path under tlh.
inline void* alloc_fast(std::size_t, std::size_t) { return nullptr; }

void* do_alloc(std::size_t size, std::size_t align) {
  if (use_boot()) return boot_alloc(size, align);
  Tlh* h = my_heap();
  if (h == nullptr) [[unlikely]] {
    errno = ENOMEM;
    return nullptr;
  }
  void* p;
  {
    HeapGuard g(h);
    if (h->remote.maybe_nonempty()) [[unlikely]] drain_remote(h);
    p = h->heap.allocate(size, align);
  }
  if (p == nullptr) errno = ENOMEM;
  return p;
}

void do_free(void* p) {
  if (p == nullptr || is_boot(p)) return;
  if (use_boot()) return;
  Tlh* h = owner_of(p);  // t_heap, or a remote heap
  if (h == nullptr) return;  // not a block of this allocator
  if (h != t_heap) return free_remote(h, p);
  HeapGuard g(h);
  h->heap.deallocate(p);
}

std::size_t do_usable(const void* p) {
  if (p == nullptr) return 0;
  if (is_boot(p)) return boot_size(p);
  if (use_boot()) return 0;
  Tlh* h = owner_of(p);
  if (h == nullptr) return 0;
  HeapGuard g(h);
  return h->heap.usable_size(p);
}

void* realloc_heap(void* p, std::size_t size) {
  if (p == nullptr) return do_alloc(size, 16);
  Tlh* o = owner_of(p);
  if (o == nullptr) {  // not a block of this allocator
    errno = ENOMEM;
    return nullptr;
  }
  Tlh* me = my_heap();
  if (me == nullptr) [[unlikely]] {
    errno = ENOMEM;
    return nullptr;
  }
  void* q;
  if (o == me) {
    HeapGuard g(me);
    q = me->heap.reallocate(p, size);
  } else {  // remote block: allocate here, copy, remote free
    if (size == 0) {
      free_remote(o, p);
      return nullptr;
    }
    std::size_t old;
    {
      HeapGuard g(o);
      old = o->heap.usable_size(p);
    }
    {
      HeapGuard g(me);
      q = me->heap.allocate(size, 16);
    }
    if (q != nullptr) {
      std::memcpy(q, p, old < size ? old : size);
      free_remote(o, p);
    }
  }
  if (q == nullptr && size != 0) errno = ENOMEM;
  return q;
}

evo::AllocStats total_stats(bool wait, long* heaps) {
  evo::AllocStats sum;
  // The calling thread's batch of remote frees counts as frees (other live threads'
  // batches, at most kRemoteBatch - 1 blocks each, do not).
  t_remote.flush(hand_over);
  std::size_t n = g_nheaps.load(std::memory_order_acquire);
  *heaps = static_cast<long>(n);
  for (std::size_t i = 0; i < n; ++i) {
    Tlh* h = g_table[i];
    // A locking heap's counters are read under its lock (at exit only if it is free
    // soon: the exit line never waits); a heap its owner alone touches, without its
    // owner's help (exact once the threads are done, as tcache's caches).
    bool locked = false;
    if (h->locking()) {
      if (wait) h->lock.lock(), locked = true;
      else locked = lock_briefly(&h->lock);
    }
    evo::AllocStats s = h->heap.stats();
    s.frees += h->remote.queued();  // handed over, not yet drained: freed
    add_stats(sum, s);
    if (locked) h->lock.unlock();
  }
  // The queues' overflow nodes are memory the library holds beside the heaps.
  const std::uint64_t nodes = g_nodes.mapped_bytes();
  sum.footprint += nodes;
  sum.peak_footprint += nodes;
  return sum;
}

#endif  // thread models

bool any_heap() {
#if defined(EVOALLOC_THREADS_TLH) && !defined(EVOALLOC_THREADS_TCACHE)
  return g_nheaps.load(std::memory_order_acquire) > 0;
#else
  return g_heap != nullptr && g_ready.load();
#endif
}

void* do_realloc(void* p, std::size_t size) {
  if (p != nullptr && is_boot(p)) {  // move a bootstrap block into the heap
    if (size == 0) return nullptr;
    void* q = do_alloc(size, 16);
    if (q != nullptr) {
      std::size_t old = boot_size(p);
      std::memcpy(q, p, old < size ? old : size);
    }
    return q;
  }
  if (use_boot()) {
    if (p != nullptr) return nullptr;  // re-entrant realloc of a heap block: refused (never happens)
    return boot_alloc(size, 16);
  }
  return realloc_heap(p, size);
}

void* aligned(std::size_t align, std::size_t size) {
  if (!pow2(align)) {
    errno = EINVAL;
    return nullptr;
  }
  return do_alloc(size, align);
}

__attribute__((destructor)) void print_stats() {
  if (!g_stats || !any_heap()) return;
  long heaps = 0;
  evo::AllocStats s = total_stats(false, &heaps);
#if defined(EVO_EXPORT_ROUTE) && !defined(EVOALLOC_THREADS_TLH) && !defined(EVOALLOC_THREADS_TCACHE)
  // ", route short N long N rest N": the allocations each class received
  char tail[128];
  const evo::Router* r = heap().router();
  snprintf(tail, sizeof tail, ", route short %llu long %llu rest %llu",
           (unsigned long long)r->class_allocs(evo::RouteClass::Short),
           (unsigned long long)r->class_allocs(evo::RouteClass::Long),
           (unsigned long long)r->class_allocs(evo::RouteClass::Rest));
  print_stats_line(s, heaps, kCountLabel, tail);
#else
  print_stats_line(s, heaps, kCountLabel);
#endif
}

/// operator new past its fast path: malloc's path, and the new_handler loop.
[[gnu::noinline]] void* new_slow(std::size_t size, std::size_t align) {
  for (;;) {
    void* p = do_alloc(size, align);
    if (p != nullptr) return p;
    std::new_handler h = std::get_new_handler();
    if (h == nullptr) throw std::bad_alloc();
    h();
  }
}

/// operator new: the model's inline fast path (a leaf), else a tail call to new_slow.
inline void* new_or_throw(std::size_t size, std::size_t align) {
#ifdef EVO_EXPORT_ROUTE
  evo::route_site = evo_export::kRouteNewSite;  // see "operator new/delete" below
#endif
  if (void* p = alloc_fast(size, align)) [[likely]]
    return p;
  return new_slow(size, align);
}

void* new_nothrow(std::size_t size, std::size_t align) noexcept {
  try {
    return new_or_throw(size, align);
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

// ---- the C API ----
// A routing design (EVO_EXPORT_ROUTE) learns each allocating call's site from its
// caller's return address (site_map.hpp); other designs pay nothing.
#ifdef EVO_EXPORT_ROUTE
[[gnu::noinline]] static void set_site_slow(const void* ra) { evo::route_site = evo_export::route_site_of(ra); }
#define EVO_SITE()                                                             \
  do {                                                                         \
    const void* evo_ra = __builtin_return_address(0);                          \
    std::uint32_t evo_v;                                                       \
    if (evo_export::route_site_last(evo_ra, &evo_v)) evo::route_site = evo_v; \
    else set_site_slow(evo_ra);                                                \
  } while (0)
#else
#define EVO_SITE() ((void)0)
#endif
EVO_API void* malloc(size_t size) {
  EVO_SITE();
  return do_alloc(size, 16);
}
EVO_API void free(void* p) { do_free(p); }
EVO_API void cfree(void* p) { do_free(p); }
EVO_API void* calloc(size_t n, size_t size) {
  EVO_SITE();
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  void* p = do_alloc(total, 16);
  if (p != nullptr) memset(p, 0, total);
  return p;
}
EVO_API void* realloc(void* p, size_t size) {
  EVO_SITE();
  return do_realloc(p, size);
}
EVO_API void* reallocarray(void* p, size_t n, size_t size) {
  EVO_SITE();
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return do_realloc(p, total);
}
EVO_API void* memalign(size_t align, size_t size) {
  EVO_SITE();
  // glibc rounds a non-power-of-two alignment up to the next power of two.
  if (align != 0 && !pow2(align)) {
    size_t a = 1;
    while (a < align && a != 0) a <<= 1;
    if (a == 0) {
      errno = EINVAL;
      return nullptr;
    }
    align = a;
  }
  return do_alloc(size, align < 16 ? 16 : align);
}
EVO_API int posix_memalign(void** out, size_t align, size_t size) {
  if (!pow2(align) || align % sizeof(void*) != 0) return EINVAL;
  EVO_SITE();
  int saved = errno;
  void* p = do_alloc(size, align);
  if (p == nullptr) {
    errno = saved;
    return ENOMEM;
  }
  *out = p;
  return 0;
}
EVO_API void* aligned_alloc(size_t align, size_t size) {
  EVO_SITE();
  return aligned(align, size);
}
EVO_API void* valloc(size_t size) {
  EVO_SITE();
  return do_alloc(size, evo::kPageSize);
}
EVO_API void* pvalloc(size_t size) {
  EVO_SITE();
  size_t rounded = (size + evo::kPageSize - 1) & ~(evo::kPageSize - 1);
  if (rounded < size) {
    errno = ENOMEM;
    return nullptr;
  }
  return do_alloc(rounded == 0 ? evo::kPageSize : rounded, evo::kPageSize);
}
EVO_API size_t malloc_usable_size(void* p) { return do_usable(p); }

// ---- operator new/delete, every form ----
// operator new routes every call like the trace's libstdc++ site in operator new (a
// trace recorded through malloc saw every new from that one call of malloc, so it
// names no site of the program): design.hpp's kRouteNewSite.
EVO_CXX void* operator new(std::size_t n) { return new_or_throw(n, 16); }
EVO_CXX void* operator new[](std::size_t n) { return new_or_throw(n, 16); }
EVO_CXX void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return new_nothrow(n, 16); }
EVO_CXX void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return new_nothrow(n, 16); }
EVO_CXX void* operator new(std::size_t n, std::align_val_t a) { return new_or_throw(n, static_cast<std::size_t>(a)); }
EVO_CXX void* operator new[](std::size_t n, std::align_val_t a) { return new_or_throw(n, static_cast<std::size_t>(a)); }
EVO_CXX void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return new_nothrow(n, static_cast<std::size_t>(a));
}
EVO_CXX void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return new_nothrow(n, static_cast<std::size_t>(a));
}
EVO_CXX void operator delete(void* p) noexcept { do_free(p); }
EVO_CXX void operator delete[](void* p) noexcept { do_free(p); }
EVO_CXX void operator delete(void* p, std::size_t) noexcept { do_free(p); }
EVO_CXX void operator delete[](void* p, std::size_t) noexcept { do_free(p); }
EVO_CXX void operator delete(void* p, const std::nothrow_t&) noexcept { do_free(p); }
EVO_CXX void operator delete[](void* p, const std::nothrow_t&) noexcept { do_free(p); }
EVO_CXX void operator delete(void* p, std::align_val_t) noexcept { do_free(p); }
EVO_CXX void operator delete[](void* p, std::align_val_t) noexcept { do_free(p); }
EVO_CXX void operator delete(void* p, std::size_t, std::align_val_t) noexcept { do_free(p); }
EVO_CXX void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { do_free(p); }
EVO_CXX void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { do_free(p); }
EVO_CXX void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { do_free(p); }

// ---- introspection (for tests and tools) ----
/// Fills out[0..5] with footprint, peak footprint, live requested, allocs, frees,
/// os_calls (zeros before the first allocation; under tlh summed over every heap).
EVO_API void evoalloc_stats(uint64_t out[6]) {
  evo::AllocStats s;
  long heaps = 0;
  if (any_heap()) s = total_stats(true, &heaps);
  out[0] = s.footprint, out[1] = s.peak_footprint, out[2] = s.live_requested;
  out[3] = s.allocs, out[4] = s.frees, out[5] = s.os_calls;
}
/// The design's canonical sentence.
EVO_API const char* evoalloc_design(void) { return evo_export::kSentence; }
/// The thread model the library was built with: "lock", "tlh" or "tcache".
EVO_API const char* evoalloc_threads(void) { return kThreadModel; }
