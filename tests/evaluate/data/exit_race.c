/* tests/evaluate/data/exit_race.c: threads that report "done" before they end,
 * as a language runtime's join does (python3 releases the joiner before the
 * thread's pthread key destructors run); main exits as soon as all have
 * reported. The recorder's exit flush then races each thread's own final
 * flush of a nearly full buffer: every event must reach the trace once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

static atomic_int done;

static void* work(void* arg) {
  void* keep[64] = {0};
  const int ops = 4000 + 95 * (int)(long)arg; /* malloc + free: about 8000 events */
  for (int i = 0; i < ops; ++i) {
    free(keep[i & 63]);
    keep[i & 63] = malloc(16 + (unsigned)(i % 100));
  }
  for (int i = 0; i < 64; ++i) free(keep[i]);
  atomic_fetch_add(&done, 1);
  return NULL;
}

int main(void) {
  pthread_t t[4];
  for (long i = 0; i < 4; ++i)
    if (pthread_create(&t[i], NULL, work, (void*)i) != 0) return 1;
  for (int i = 0; i < 4; ++i) pthread_detach(t[i]);
  while (atomic_load(&done) < 4) {
  }
  exit(0);
}
