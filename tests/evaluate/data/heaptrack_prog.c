/* tests/evaluate/data/heaptrack_prog.c — a small deterministic allocation pattern
 * for tests/evaluate/test_heaptrack.cpp: recorded by heaptrack -r and by
 * `evoalloc record`, the two traces are compared. Uses every entry point heaptrack
 * 1.4 intercepts (malloc, calloc, realloc, posix_memalign, aligned_alloc, valloc)
 * and one it does not (memalign), plus realloc(p, 0) and free(NULL). */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { kSlots = 64, kRounds = 1500 };

int main(void) {
  void* slot[kSlots] = {0};
  uint32_t x = 12345;
  for (int i = 0; i < kRounds; ++i) {
    x = x * 1103515245u + 12345u;
    const unsigned k = (x >> 8) % kSlots;
    const size_t size = 1 + (x >> 16) % 700;
    if (slot[k] == NULL) {
      switch (i % 5) {
        case 0: slot[k] = calloc(1 + size % 7, 24); break;
        case 1:
          if (posix_memalign(&slot[k], 64, size) != 0) return 1;
          break;
        default: slot[k] = malloc(size); break;
      }
      if (slot[k] == NULL) return 1;
      memset(slot[k], 1, 1);
    } else if (i % 3 == 0) {
      void* p = realloc(slot[k], size * 3);  /* grows or shrinks, may move */
      if (p == NULL) return 1;
      slot[k] = p;
    } else {
      free(slot[k]);
      slot[k] = NULL;
    }
  }
  void* a = aligned_alloc(256, 512);
  void* v = valloc(77);
  void* m = memalign(64, 200);  /* not intercepted by heaptrack 1.4 */
  void* z = malloc(40);
  z = realloc(z, 0);            /* glibc frees; heaptrack 1.4 writes nothing */
  void* volatile null_ptr = NULL;
  free(null_ptr);
  free(a);
  free(v);
  free(m);
  for (int k = 0; k < kSlots; ++k) free(slot[k]);
  return z == NULL ? 0 : 2;
}
