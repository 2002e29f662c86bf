/* tests/export/data/stress.c — randomized multi-threaded stress of the malloc C API
 * (run with an exported library in LD_PRELOAD). Each of T threads (argv[1], default 8)
 * runs N steps (argv[2], default 200000) over 256 private slots with a fixed seed per
 * thread: malloc, calloc, realloc, memalign, posix_memalign, aligned_alloc, valloc,
 * reallocarray, free, and frees and reallocs of blocks handed over by other threads
 * through a shared mailbox (remote frees, remote reallocs). Every block is filled with a pattern derived from its
 * address and checked before it is freed or reallocated; alignment, calloc zeroing and
 * malloc_usable_size >= size are checked. Exit 0 on success; 1 with one line on stderr
 * naming the broken guarantee. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 256
#define MAILBOX 64

typedef struct { unsigned char* p; size_t n; } Block;
static Block mailbox[MAILBOX];
static pthread_mutex_t mail_lock = PTHREAD_MUTEX_INITIALIZER;
static long steps = 200000;

static void fail(const char* what, size_t n) {
  fprintf(stderr, "stress: %s (size %zu)\n", what, n);
  exit(1);
}
static uint64_t next(uint64_t* s) { *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17; return *s; }
static unsigned char pat_at(uintptr_t a, size_t i) { return (unsigned char)((a >> 4) + i * 31); }
static unsigned char pat(const unsigned char* p, size_t i) { return pat_at((uintptr_t)p, i); }
static void fill(unsigned char* p, size_t n) { for (size_t i = 0; i < n; ++i) p[i] = pat(p, i); }
static void check(const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) if (p[i] != pat(p, i)) fail("block contents changed", n);
}
static size_t rand_size(uint64_t* s) {
  uint64_t r = next(s) % 100;
  if (r < 70) return next(s) % 128;
  if (r < 95) return next(s) % 4096;
  return next(s) % (256 * 1024);
}

static void* worker(void* arg) {
  uint64_t s = 0x9E3779B97F4A7C15ull * ((uintptr_t)arg + 1);
  Block b[SLOTS];
  memset(b, 0, sizeof b);
  for (long k = 0; k < steps; ++k) {
    Block* x = &b[next(&s) % SLOTS];
    if (x->p != NULL) {
      check(x->p, x->n);
      uint64_t r = next(&s) % 10;
      if (r < 2) { /* realloc, keeping the common prefix */
        size_t n = rand_size(&s);
        unsigned char* q = r == 0 ? realloc(x->p, n) : reallocarray(x->p, 1, n);
        if (q == NULL && n != 0) fail("realloc failed", n);
        if (n == 0) { x->p = NULL; continue; }
        size_t keep = n < x->n ? n : x->n;
        for (size_t i = 0; i < keep; ++i) if (q[i] != pat(x->p, i)) fail("realloc lost contents", n);
        x->p = q, x->n = n;
        fill(q, n);
      } else if (r < 4) { /* hand it to another thread */
        pthread_mutex_lock(&mail_lock);
        Block* m = &mailbox[next(&s) % MAILBOX];
        Block old = *m;
        *m = *x;
        pthread_mutex_unlock(&mail_lock);
        x->p = NULL;
        if (old.p != NULL) {
          check(old.p, old.n);
          if (next(&s) % 2) { /* realloc of a block another thread allocated (remote realloc) */
            size_t n = rand_size(&s) + 1;
            uintptr_t was = (uintptr_t)old.p;
            unsigned char* q = realloc(old.p, n);
            if (q == NULL) fail("remote realloc failed", n);
            size_t keep = n < old.n ? n : old.n;
            for (size_t i = 0; i < keep; ++i) if (q[i] != pat_at(was, i)) fail("remote realloc lost contents", n);
            if (malloc_usable_size(q) < n) fail("usable size below the request", n);
            fill(q, n);
            x->p = q, x->n = n;
          } else {
            free(old.p);
          }
        }
      } else {
        free(x->p);
        x->p = NULL;
      }
      continue;
    }
    size_t n = rand_size(&s), align = 16;
    unsigned char* p = NULL;
    switch (next(&s) % 8) {
      case 0: case 1: case 2: p = malloc(n); break;
      case 3:
        p = calloc(1, n);
        if (p) for (size_t i = 0; i < n; ++i) if (p[i] != 0) fail("calloc not zeroed", n);
        break;
      case 4: align = (size_t)1 << (4 + next(&s) % 9); p = memalign(align, n); break;
      case 5: align = (size_t)1 << (3 + next(&s) % 10); if (posix_memalign((void**)&p, align, n) != 0) p = NULL; break;
      case 6: align = (size_t)1 << (4 + next(&s) % 8); p = aligned_alloc(align, (n + align - 1) & ~(align - 1)); break;
      case 7: align = 4096; p = valloc(n); break;
    }
    if (p == NULL) fail("allocation failed", n);
    if ((uintptr_t)p % align != 0) fail("misaligned block", n);
    if (malloc_usable_size(p) < n) fail("usable size below the request", n);
    fill(p, n);
    x->p = p, x->n = n;
  }
  for (int i = 0; i < SLOTS; ++i) if (b[i].p) { check(b[i].p, b[i].n); free(b[i].p); }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 8;
  if (argc > 2) steps = atol(argv[2]);
  if (threads < 1 || threads > 256 || steps < 1) { fprintf(stderr, "usage: stress [THREADS [STEPS]]\n"); return 2; }
  pthread_t t[256];
  for (int i = 0; i < threads; ++i) pthread_create(&t[i], NULL, worker, (void*)(uintptr_t)i);
  for (int i = 0; i < threads; ++i) pthread_join(t[i], NULL);
  for (int i = 0; i < MAILBOX; ++i) if (mailbox[i].p) { check(mailbox[i].p, mailbox[i].n); free(mailbox[i].p); }
  printf("stress: %d threads x %ld steps ok\n", threads, steps);
  return 0;
}
