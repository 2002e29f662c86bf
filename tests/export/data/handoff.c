/* tests/export/data/handoff.c — one producer, one consumer: the main thread
 * allocates N blocks (argv[1], default 1007) and fills them, a second thread checks
 * and frees every one of them (remote frees under thread model tlh) and exits, and
 * the main thread prints "live D": the blocks allocated minus the blocks freed over
 * that span, read with the library's evoalloc_stats (0 plus what pthread_create
 * keeps, a block or two; a remote batch that never reached its owner would show as
 * up to 31 more). Then it allocates the same N blocks again, frees them itself, and
 * prints "regrown R": the growth of the peak footprint over that second round in
 * percent of the first round's (near 0 when the blocks the consumer freed were
 * reused; 100 when they were not). Exits 1 with one line on stderr naming what
 * broke. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char** blocks;
static long n_blocks;

static size_t size_of(long i) { return 16 + (size_t)(i * 37) % 700; }

static void* consume(void* arg) {
  (void)arg;
  for (long i = 0; i < n_blocks; ++i) {
    for (size_t j = 0; j < size_of(i); ++j)
      if (blocks[i][j] != (unsigned char)(i & 0xff)) {
        fprintf(stderr, "handoff: block %ld changed before its free\n", i);
        exit(1);
      }
    free(blocks[i]);
  }
  return NULL;
}

int main(int argc, char** argv) {
  n_blocks = argc > 1 ? atol(argv[1]) : 1007;
  if (n_blocks < 1) return 2;
  void (*stats)(uint64_t*) = (void (*)(uint64_t*))dlsym(RTLD_DEFAULT, "evoalloc_stats");
  if (stats == NULL) {
    fprintf(stderr, "handoff: no evoalloc_stats (run it with an exported library preloaded)\n");
    return 1;
  }
  blocks = malloc(sizeof(unsigned char*) * (size_t)n_blocks);
  uint64_t before[6], after[6];
  stats(before);
  for (long i = 0; i < n_blocks; ++i) {
    blocks[i] = malloc(size_of(i));
    if (blocks[i] == NULL) {
      fprintf(stderr, "handoff: malloc(%zu) failed\n", size_of(i));
      return 1;
    }
    memset(blocks[i], (int)(i & 0xff), size_of(i));
  }
  pthread_t consumer;
  if (pthread_create(&consumer, NULL, consume, NULL) != 0) {
    fprintf(stderr, "handoff: pthread_create failed\n");
    return 1;
  }
  pthread_join(consumer, NULL);
  stats(after);
  printf("live %lld\n", (long long)(after[3] - before[3]) - (long long)(after[4] - before[4]));
  for (long i = 0; i < n_blocks; ++i) {
    blocks[i] = malloc(size_of(i));
    if (blocks[i] == NULL) {
      fprintf(stderr, "handoff: malloc(%zu) failed in the second round\n", size_of(i));
      return 1;
    }
    memset(blocks[i], 1, size_of(i));
  }
  uint64_t again[6];
  stats(again);
  for (long i = 0; i < n_blocks; ++i) free(blocks[i]);
  const double first = (double)(after[1] - before[1]) + 1.0;
  printf("regrown %.0f\n", 100.0 * (double)(again[1] - after[1]) / first);
  free(blocks);
  return 0;
}
