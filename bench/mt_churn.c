/* bench/mt_churn.c — a malloc-heavy multi-threaded program to run under `evoalloc bench`
 * (thread models of the export: --threads lock vs tlh). T threads (argv[1], default
 * 4) each run N steps (argv[2], default 2000000) over 512 private slots: malloc of a
 * random size (90% 8..263 bytes, 10% up to 64 KiB; argv[3] = "small": all 8..263),
 * touch, free; every 8th block freed is
 * handed to the next thread through a lock-protected ring instead (a producer/consumer
 * remote free). Prints a checksum (the same under every allocator).
 *   cc -O2 -pthread bench/mt_churn.c -o mt_churn */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 512
#define RING 256
static long steps = 2000000;
static int nthreads = 4;
static int small_only = 0;
static struct { void* p[RING]; int n; pthread_mutex_t m; } ring[64];

static uint64_t next(uint64_t* s) { *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17; return *s; }

static void* worker(void* arg) {
  int id = (int)(uintptr_t)arg;
  uint64_t s = 88172645463325252ull + (uint64_t)id * 7919, sum = 0;
  void* slot[SLOTS] = {0};
  for (long k = 0; k < steps; ++k) {
    uint64_t r = next(&s);
    int i = (int)(r % SLOTS);
    if (slot[i] != NULL) {
      sum += ((unsigned char*)slot[i])[0];
      if ((r >> 20) % 8 == 0) { /* hand it to the next thread, which frees it */
        int to = (id + 1) % nthreads;
        pthread_mutex_lock(&ring[to].m);
        void* old = ring[to].n == RING ? ring[to].p[--ring[to].n] : NULL;
        ring[to].p[ring[to].n++] = slot[i];
        pthread_mutex_unlock(&ring[to].m);
        free(old);
      } else {
        free(slot[i]);
      }
      slot[i] = NULL;
      continue;
    }
    size_t n = small_only || (r >> 32) % 100 < 90 ? 8 + (r >> 40) % 256 : 256 + (r >> 40) % 65536;
    unsigned char* p = malloc(n);
    if (p == NULL) { fprintf(stderr, "mt_churn: malloc failed\n"); exit(1); }
    p[0] = (unsigned char)n, p[n - 1] = 1;
    slot[i] = p;
    if ((r & 63) == 0) { /* drain the blocks other threads handed over */
      pthread_mutex_lock(&ring[id].m);
      while (ring[id].n > 0) free(ring[id].p[--ring[id].n]);
      pthread_mutex_unlock(&ring[id].m);
    }
  }
  for (int i = 0; i < SLOTS; ++i) free(slot[i]);
  return (void*)(uintptr_t)sum;
}

int main(int argc, char** argv) {
  if (argc > 1) nthreads = atoi(argv[1]);
  if (argc > 2) steps = atol(argv[2]);
  if (argc > 3) small_only = strcmp(argv[3], "small") == 0;
  if (nthreads < 1 || nthreads > 64 || steps < 1) { fprintf(stderr, "usage: mt_churn [THREADS [STEPS [small]]]\n"); return 2; }
  pthread_t t[64];
  for (int i = 0; i < nthreads; ++i) pthread_mutex_init(&ring[i].m, NULL);
  for (int i = 0; i < nthreads; ++i) pthread_create(&t[i], NULL, worker, (void*)(uintptr_t)i);
  uint64_t total = 0;
  for (int i = 0; i < nthreads; ++i) { void* r; pthread_join(t[i], &r); total += (uintptr_t)r; }
  for (int i = 0; i < nthreads; ++i) while (ring[i].n > 0) free(ring[i].p[--ring[i].n]);
  printf("mt_churn: %d threads x %ld steps, checksum %llu\n", nthreads, steps, (unsigned long long)total);
  return 0;
}
