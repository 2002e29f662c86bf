// replay_driver.cpp — replays an EVOOPS1 op file (ops_replay.hpp) through a
// private instance of the exported design; linked against lib<NAME>.a, so the
// driver's own allocations go through the exported malloc shim as well.
//
//   <NAME>_replay OPS_FILE OUT_FILE
// OUT_FILE (text): line 1 "peak_footprint P footprint F allocs A frees R os_calls O failed N",
// then one line per block returned: its offset from the first block (bytes).
// Exit: 0 ok, 1 bad input or the instance cannot be created, 2 usage.
#include <cstdio>
#include <string>

#include "evoalloc_runtime.hpp"
#include "ops_replay.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s OPS_FILE OUT_FILE\n", argv[0]);
    return 2;
  }
  evo_export::OpList ops;
  std::string err;
  if (!evo_export::read_ops(argv[1], ops, &err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  evo_export::Heap heap;
  if (!heap.init(&err)) {
    std::fprintf(stderr, "cannot create the design: %s\n", err.c_str());
    return 1;
  }
  evo_export::ReplayOut r = evo_export::replay_ops(ops, heap);
  evo::AllocStats s = heap.stats();
  std::FILE* f = std::fopen(argv[2], "w");
  if (f == nullptr) {
    std::fprintf(stderr, "%s: cannot write\n", argv[2]);
    return 1;
  }
  std::fprintf(f, "peak_footprint %llu footprint %llu allocs %llu frees %llu os_calls %llu failed %llu\n",
               (unsigned long long)s.peak_footprint, (unsigned long long)s.footprint, (unsigned long long)s.allocs,
               (unsigned long long)s.frees, (unsigned long long)s.os_calls, (unsigned long long)r.failed);
  for (long long o : r.offsets) std::fprintf(f, "%lld\n", o);
  heap.destroy();
  return std::fclose(f) == 0 ? 0 : 1;
}
