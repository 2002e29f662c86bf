// shim.cpp — the malloc family over the exported design (part of every export).
//
// Exports (default visibility; everything else in the library is hidden):
//   malloc free calloc realloc reallocarray memalign posix_memalign aligned_alloc
//   valloc pvalloc malloc_usable_size, operator new/delete (all forms).
// Semantics follow glibc: failures return NULL with errno = ENOMEM (posix_memalign
// returns the error code instead), realloc(p, 0) frees p and returns NULL,
// posix_memalign/memalign/aligned_alloc reject alignments that are not powers of
// two with EINVAL, pvalloc rounds the size up to whole pages, reallocarray
// detects overflow. Alignments <= 16 are the design's default alignment.
//
// Threads: one global instance behind one lock (EVOALLOC_THREADS_LOCK, the default
// and the only model built today). Fork: pthread_atfork takes the lock before fork
// and releases it in both parent and child, so the child inherits a consistent heap.
//
// Bootstrap: the first call (from any thread, before or after main) builds the
// instance. Calls made while the instance is being built, or re-entrant calls made
// from inside the allocator by the thread holding the lock, are served from a
// 16 MiB static bootstrap arena (bump allocation, 16-byte header holding the size,
// frees ignored); the design itself never calls malloc after init.
//
// Statistics: EVOALLOC_STATS=1 in the environment prints one line to stderr at
// exit: design name, footprint, peak footprint, allocations, frees, OS calls and
// bootstrap bytes. (EVOALLOC_STATS is read once, at initialisation.)
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <new>

#include "evoalloc_runtime.hpp"

#define EVO_API extern "C" __attribute__((visibility("default")))
#define EVO_CXX __attribute__((visibility("default")))

namespace {

// ---- bootstrap arena ----
constexpr std::size_t kBootBytes = std::size_t{16} << 20;
alignas(64) char g_boot[kBootBytes];
std::atomic<std::size_t> g_boot_used{0};

bool is_boot(const void* p) {
  auto a = static_cast<const char*>(p);
  return a >= g_boot && a < g_boot + kBootBytes;
}

void* boot_alloc(std::size_t size, std::size_t align) {
  if (align < 16) align = 16;
  if (size > kBootBytes) return nullptr;
  std::size_t cur = g_boot_used.load(std::memory_order_relaxed);
  for (;;) {
    std::size_t start = (cur + 16 + align - 1) & ~(align - 1);  // room for the header
    std::size_t end = start + ((size + 15) & ~std::size_t{15});
    if (end > kBootBytes) return nullptr;
    if (g_boot_used.compare_exchange_weak(cur, end, std::memory_order_relaxed)) {
      std::memcpy(g_boot + start - 16, &size, sizeof size);
      return g_boot + start;
    }
  }
}

std::size_t boot_size(const void* p) {
  std::size_t n;
  std::memcpy(&n, static_cast<const char*>(p) - 16, sizeof n);
  return n;
}

// ---- the global instance ----
alignas(evo_export::Heap) char g_heap_storage[sizeof(evo_export::Heap)];
evo_export::Heap* g_heap = nullptr;  // never destroyed: frees may come after exit handlers
std::atomic<bool> g_ready{false};
std::atomic<bool> g_initializing{false};
pthread_t g_init_owner;
pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
std::atomic<pthread_t> g_lock_owner{};  // thread holding g_lock (0 when free)
bool g_stats = false;

void write_err(const char* s) {
  ssize_t r = ::write(2, s, strlen(s));
  (void)r;
}

void atfork_prepare() { pthread_mutex_lock(&g_lock); }
void atfork_parent() { pthread_mutex_unlock(&g_lock); }
void atfork_child() { pthread_mutex_unlock(&g_lock); }

void init_slow() {
  pthread_mutex_lock(&g_init_lock);
  if (!g_ready.load(std::memory_order_acquire)) {
    g_init_owner = pthread_self();
    g_initializing.store(true, std::memory_order_release);
    const char* st = getenv("EVOALLOC_STATS");
    g_stats = st != nullptr && st[0] != '\0' && st[0] != '0';
    auto* h = new (g_heap_storage) evo_export::Heap();
    std::string err;
    if (!h->init(&err)) {
      write_err("evoalloc export ");
      write_err(evo_export::kName);
      write_err(": cannot create the allocator: ");
      write_err(err.c_str());
      write_err("\n");
      abort();
    }
    g_heap = h;
    pthread_atfork(&atfork_prepare, &atfork_parent, &atfork_child);
    g_ready.store(true, std::memory_order_release);
    g_initializing.store(false, std::memory_order_release);
  }
  pthread_mutex_unlock(&g_init_lock);
}

/// True when the call must be served by the bootstrap arena (init in progress on
/// this thread, or re-entry from inside the allocator on the thread holding the lock).
inline bool use_boot() {
  if (!g_ready.load(std::memory_order_acquire)) [[unlikely]] {
    if (g_initializing.load(std::memory_order_acquire) && pthread_equal(g_init_owner, pthread_self())) return true;
    init_slow();
  }
  return pthread_equal(g_lock_owner.load(std::memory_order_relaxed), pthread_self());
}

struct Guard {
  Guard() {
    pthread_mutex_lock(&g_lock);
    g_lock_owner.store(pthread_self(), std::memory_order_relaxed);
  }
  ~Guard() {
    g_lock_owner.store(pthread_t{}, std::memory_order_relaxed);
    pthread_mutex_unlock(&g_lock);
  }
};

inline bool pow2(std::size_t a) { return a != 0 && (a & (a - 1)) == 0; }

void* do_alloc(std::size_t size, std::size_t align) {
  if (use_boot()) return boot_alloc(size, align);
  void* p;
  {
    Guard g;
    p = g_heap->allocate(size, align);
  }
  if (p == nullptr) errno = ENOMEM;
  return p;
}

void do_free(void* p) {
  if (p == nullptr || is_boot(p)) return;
  if (use_boot()) return;  // re-entrant free from inside the allocator: cannot happen for its own blocks
  Guard g;
  g_heap->deallocate(p);
}

std::size_t do_usable(const void* p) {
  if (p == nullptr) return 0;
  if (is_boot(p)) return boot_size(p);
  if (use_boot()) return 0;
  Guard g;
  return g_heap->usable_size(p);
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
  void* q;
  {
    Guard g;
    q = g_heap->reallocate(p, size);
  }
  if (q == nullptr && size != 0) errno = ENOMEM;
  return q;
}

void* aligned(std::size_t align, std::size_t size) {
  if (!pow2(align)) {
    errno = EINVAL;
    return nullptr;
  }
  return do_alloc(size, align);
}

__attribute__((destructor)) void print_stats() {
  if (!g_stats || g_heap == nullptr) return;
  // At exit another thread may still hold the lock (and never release it): wait
  // for it only briefly, then read the counters unlocked (they are plain integers).
  evo::AllocStats s;
  bool locked = false;
  for (int i = 0; i < 1000 && !(locked = pthread_mutex_trylock(&g_lock) == 0); ++i) usleep(100);
  s = g_heap->stats();
  if (locked) pthread_mutex_unlock(&g_lock);
  char buf[512];
  int n = snprintf(buf, sizeof buf,
                   "evoalloc %s: footprint %llu bytes, peak %llu bytes, allocs %llu, frees %llu, os_calls %llu, "
                   "bootstrap %llu bytes\n",
                   evo_export::kName, (unsigned long long)s.footprint, (unsigned long long)s.peak_footprint,
                   (unsigned long long)s.allocs, (unsigned long long)s.frees, (unsigned long long)s.os_calls,
                   (unsigned long long)g_boot_used.load());
  if (n > 0) {
    ssize_t r = ::write(2, buf, static_cast<std::size_t>(n) < sizeof buf ? static_cast<std::size_t>(n) : sizeof buf - 1);
    (void)r;
  }
}

void* new_or_throw(std::size_t size, std::size_t align) {
  for (;;) {
    void* p = do_alloc(size, align);
    if (p != nullptr) return p;
    std::new_handler h = std::get_new_handler();
    if (h == nullptr) throw std::bad_alloc();
    h();
  }
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
EVO_API void* malloc(size_t size) { return do_alloc(size, 16); }
EVO_API void free(void* p) { do_free(p); }
EVO_API void cfree(void* p) { do_free(p); }
EVO_API void* calloc(size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  void* p = do_alloc(total, 16);
  if (p != nullptr) memset(p, 0, total);
  return p;
}
EVO_API void* realloc(void* p, size_t size) { return do_realloc(p, size); }
EVO_API void* reallocarray(void* p, size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return do_realloc(p, total);
}
EVO_API void* memalign(size_t align, size_t size) {
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
  int saved = errno;
  void* p = do_alloc(size, align);
  if (p == nullptr) {
    errno = saved;
    return ENOMEM;
  }
  *out = p;
  return 0;
}
EVO_API void* aligned_alloc(size_t align, size_t size) { return aligned(align, size); }
EVO_API void* valloc(size_t size) { return do_alloc(size, evo::kPageSize); }
EVO_API void* pvalloc(size_t size) {
  size_t rounded = (size + evo::kPageSize - 1) & ~(evo::kPageSize - 1);
  if (rounded < size) {
    errno = ENOMEM;
    return nullptr;
  }
  return do_alloc(rounded == 0 ? evo::kPageSize : rounded, evo::kPageSize);
}
EVO_API size_t malloc_usable_size(void* p) { return do_usable(p); }

// ---- operator new/delete, every form ----
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
/// os_calls of the global instance (zeros before the first allocation).
EVO_API void evoalloc_stats(uint64_t out[6]) {
  evo::AllocStats s;
  if (g_heap != nullptr && g_ready.load()) {
    Guard g;
    s = g_heap->stats();
  }
  out[0] = s.footprint, out[1] = s.peak_footprint, out[2] = s.live_requested;
  out[3] = s.allocs, out[4] = s.frees, out[5] = s.os_calls;
}
/// The design's canonical sentence.
EVO_API const char* evoalloc_design(void) { return evo_export::kSentence; }
