/* tests/evaluate/data/alloc_kinds.c — calls every malloc-family entry point once,
 * in a fixed order, so tests/evaluate/test_record.cpp can check that the recorder
 * logs each with its kind, size, alignment and object. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  volatile size_t sink = 0;
  char* a = malloc(100);                  /* malloc 100 */
  char* b = calloc(10, 30);               /* calloc 300 */
  a = realloc(a, 5000);                   /* realloc 5000 (same object) */
  void* c = memalign(64, 200);            /* memalign 200, 2^6 */
  void* d = NULL;
  if (posix_memalign(&d, 128, 300) != 0) return 1; /* posix_memalign 300, 2^7 */
  void* e = aligned_alloc(256, 512);      /* aligned_alloc 512, 2^8 */
  void* f = valloc(77);                   /* valloc 77, 2^12 */
  void* g = pvalloc(88);                  /* pvalloc 88, 2^12 */
  sink += malloc_usable_size(a);          /* passed through, not recorded */
  void* h = reallocarray(NULL, 7, 9);     /* realloc(NULL, 63): new object */
  void* volatile null_ptr = NULL;
  free(null_ptr);                         /* counted as free_null (volatile: not folded away) */
  void* z = realloc(b, 0);                /* realloc(p, 0): frees b */
  free(a); free(c); free(d); free(e); free(f); free(g); free(h);
  if (argc > 1 && strcmp(argv[1], "_exit") == 0) _exit(0);
  return z == NULL && sink > 0 ? 0 : 2;
}
