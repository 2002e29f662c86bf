// source_hook.cpp — reports the address ranges the design reserves (part of every
// export).
//
// The export compiles core/source/memory_source.cpp with -Dmmap=evo_export_source_mmap
// (export/CMakeLists.txt.in), so the MemorySource's mmap calls land here: each is
// passed on to mmap unchanged, and a fresh reservation (addr == NULL) is reported to
// evo_export_on_reserve when it is set. The thread-local-heaps shim (shim.cpp,
// EVOALLOC_THREADS_TLH) uses it to learn the address range of every heap it builds,
// so the owner of a block is found by address. Nothing else changes: the design's
// code is the code that was evaluated.
#include <stddef.h>
#include <sys/mman.h>
#include <sys/types.h>

extern "C" {

/// Called with each fresh reservation (nullptr: nobody listens).
void (*evo_export_on_reserve)(void* base, size_t len) = nullptr;

void* evo_export_source_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) noexcept {
  void* p = ::mmap(addr, len, prot, flags, fd, off);
  if (p != MAP_FAILED && addr == nullptr && evo_export_on_reserve != nullptr) evo_export_on_reserve(p, len);
  return p;
}

}  // extern "C"
