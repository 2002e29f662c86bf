/* tests/export/data/forks.c — fork under an exported allocator (run with the library
 * in LD_PRELOAD). T threads (argv[1], default 4) allocate and free continuously while
 * the main thread forks R times (argv[2], default 20); each child allocates, frees
 * blocks its parent allocated (including blocks of the other threads' heaps), starts a
 * thread of its own that does the same, and exits 0 if every block kept its contents.
 * Prints one summary line; exit 1 with a line on stderr on any broken guarantee. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHARED 64
static unsigned char* shared[SHARED]; /* blocks allocated by the worker threads */
static size_t shared_n[SHARED];
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stop;

static void fail(const char* what) {
  fprintf(stderr, "forks: %s\n", what);
  _exit(1);
}
static uint64_t next(uint64_t* s) { *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17; return *s; }
static void fill(unsigned char* p, size_t n) { for (size_t i = 0; i < n; ++i) p[i] = (unsigned char)(n + i * 7); }
static void check(const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) if (p[i] != (unsigned char)(n + i * 7)) fail("block contents changed");
}

static void churn(uint64_t* s, int rounds) {
  unsigned char* mine[32] = {0};
  size_t n_mine[32] = {0};
  for (int k = 0; k < rounds; ++k) {
    int i = (int)(next(s) % 32);
    if (mine[i]) { check(mine[i], n_mine[i]); free(mine[i]); mine[i] = NULL; continue; }
    size_t n = 1 + next(s) % 3000;
    mine[i] = malloc(n);
    if (!mine[i]) fail("malloc failed");
    fill(mine[i], n), n_mine[i] = n;
    if (next(s) % 4 == 0) { /* swap with the shared pool: frees cross threads */
      int j = (int)(next(s) % SHARED);
      pthread_mutex_lock(&shared_lock);
      unsigned char* old = shared[j];
      size_t old_n = shared_n[j];
      shared[j] = mine[i], shared_n[j] = n_mine[i];
      pthread_mutex_unlock(&shared_lock);
      mine[i] = NULL;
      if (old) { check(old, old_n); free(old); }
    }
  }
  for (int i = 0; i < 32; ++i) if (mine[i]) { check(mine[i], n_mine[i]); free(mine[i]); }
}

static void* worker(void* arg) {
  uint64_t s = 0x2545F4914F6CDD1Dull * ((uintptr_t)arg + 1);
  while (!atomic_load(&stop)) churn(&s, 1000);
  return NULL;
}

static void* child_thread(void* arg) {
  uint64_t s = 77 + (uintptr_t)arg;
  churn(&s, 5000);
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 4, rounds = argc > 2 ? atoi(argv[2]) : 20;
  if (threads < 1 || threads > 64 || rounds < 1) { fprintf(stderr, "usage: forks [THREADS [FORKS]]\n"); return 2; }
  pthread_t t[64];
  for (int i = 0; i < threads; ++i) pthread_create(&t[i], NULL, worker, (void*)(uintptr_t)i);
  int ok = 0;
  for (int r = 0; r < rounds; ++r) {
    usleep(2000);
    pthread_mutex_lock(&shared_lock); /* the child sees a consistent shared pool */
    pid_t pid = fork();
    if (pid != 0) pthread_mutex_unlock(&shared_lock);
    if (pid < 0) fail("fork failed");
    if (pid == 0) {
      /* Child: only this thread exists. Free the parent's shared blocks (other heaps). */
      pthread_mutex_init(&shared_lock, NULL); /* taken by the parent around fork */
      for (int j = 0; j < SHARED; ++j) if (shared[j]) { check(shared[j], shared_n[j]); free(shared[j]); shared[j] = NULL; }
      uint64_t s = 1234 + (uint64_t)r;
      churn(&s, 3000);
      pthread_t c;
      if (pthread_create(&c, NULL, child_thread, (void*)(uintptr_t)r) != 0) fail("pthread_create in the child");
      pthread_join(c, NULL);
      char* str = strdup("child done");
      if (!str || strcmp(str, "child done") != 0) fail("strdup in the child");
      free(str);
      _exit(0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) fail("waitpid");
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) ++ok;
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < threads; ++i) pthread_join(t[i], NULL);
  for (int j = 0; j < SHARED; ++j) if (shared[j]) { check(shared[j], shared_n[j]); free(shared[j]); }
  printf("forks: %d threads, %d of %d children ok\n", threads, ok, rounds);
  return ok == rounds ? 0 : 1;
}
