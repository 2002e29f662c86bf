/* tests/evaluate/data/mtrace_helper.c — LD_PRELOAD helper that turns glibc's mtrace on.
 *
 * On glibc 2.36, preloading libc_malloc_debug.so.0 with MALLOC_TRACE set does not
 * trace by itself: the program must call mtrace(). This helper's constructor does
 * so and its destructor calls muntrace(). Used by tests/evaluate/test_record.cpp
 * to compare the recorder's op sequence with glibc's own log of the same run. */
#include <mcheck.h>

__attribute__((constructor)) static void helper_start(void) { mtrace(); }
__attribute__((destructor)) static void helper_stop(void) { muntrace(); }
