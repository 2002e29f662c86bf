/* tests/export/data/many_threads.c — T threads (argv[1], default 1100) alive at
 * once, more than the thread-local-heaps shim's 1024 heaps: each allocates a few
 * blocks, fills them with a pattern, waits at a barrier until every thread holds its
 * blocks, checks and frees them. Small stacks (64 KiB) keep the run light. Prints
 * "done T" and exits 0; 1 with one line on stderr naming what broke. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_barrier_t barrier;

static void* work(void* arg) {
  const size_t k = (size_t)arg;
  unsigned char* b[4];
  for (int i = 0; i < 4; ++i) {
    size_t n = 16 + (k * 7 + (size_t)i * 1000) % 5000;
    b[i] = malloc(n);
    if (b[i] == NULL) {
      fprintf(stderr, "many_threads: malloc(%zu) failed in thread %zu\n", n, k);
      exit(1);
    }
    memset(b[i], (int)((k + (size_t)i) & 0xff), n);
  }
  pthread_barrier_wait(&barrier);
  for (int i = 0; i < 4; ++i) {
    size_t n = 16 + (k * 7 + (size_t)i * 1000) % 5000;
    for (size_t j = 0; j < n; ++j)
      if (b[i][j] != (unsigned char)((k + (size_t)i) & 0xff)) {
        fprintf(stderr, "many_threads: block contents changed in thread %zu\n", k);
        exit(1);
      }
    free(b[i]);
  }
  return NULL;
}

int main(int argc, char** argv) {
  const long t = argc > 1 ? atol(argv[1]) : 1100;
  if (t < 1) return 2;
  pthread_t* ids = malloc(sizeof(pthread_t) * (size_t)t);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_barrier_init(&barrier, NULL, (unsigned)t);
  for (long i = 0; i < t; ++i)
    if (pthread_create(&ids[i], &attr, work, (void*)(size_t)i) != 0) {
      fprintf(stderr, "many_threads: pthread_create failed at thread %ld\n", i);
      return 1;
    }
  for (long i = 0; i < t; ++i) pthread_join(ids[i], NULL);
  free(ids);
  printf("done %ld\n", t);
  return 0;
}
