/* route_sites.c — allocates from two known functions, for the routing export test
 * (tests/export/test_route_export.cpp): churn() frees every block right away (a
 * short-lived site), keep() never frees (a site that keeps its objects); main's one
 * array is a site with too few objects to classify (rest).
 *   route_sites N   N rounds of: 50 blocks from churn, 1 from keep; prints a checksum
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static unsigned churn(int round) {
  unsigned sum = 0;
  for (int i = 0; i < 50; ++i) {
    unsigned char* p = malloc(16 + (size_t)((round + i) % 96));
    if (p == NULL) abort();
    memset(p, i, 16);
    sum += p[3];
    free(p);
  }
  return sum;
}

__attribute__((noinline)) static void* keep(int round) {
  char* p = malloc(100);
  if (p == NULL) abort();
  snprintf(p, 100, "kept %d", round);
  return p;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 100;
  void** kept = malloc(sizeof(void*) * (size_t)(n > 0 ? n : 1));
  if (kept == NULL) return 1;
  unsigned sum = 0;
  for (int r = 0; r < n; ++r) {
    sum += churn(r);
    kept[r] = keep(r);
  }
  for (int r = 0; r < n; ++r) sum += (unsigned)((char*)kept[r])[5];
  printf("rounds %d checksum %u\n", n, sum);
  return 0;  /* the kept blocks and the array are never freed */
}
