// tests/evaluate/data/named_sites.cpp — allocates from two known functions (one
// in a namespace, one with C linkage), so tests/evaluate/test_record.cpp can check
// that `evoalloc record` names the call sites from the ELF symbol tables.
#include <cstdlib>
#include <cstring>

namespace evo_sites {
[[gnu::noinline]] char* make_buffer(unsigned long n) {
  char* p = static_cast<char*>(std::malloc(n));
  if (p != nullptr) std::memset(p, 1, n);
  return p;
}
}  // namespace evo_sites

extern "C" [[gnu::noinline]] void* evo_sites_plain_alloc(unsigned long n) { return std::calloc(1, n); }

int main() {
  int sum = 0;
  for (int i = 0; i < 5; ++i) {
    char* a = evo_sites::make_buffer(100 + i);
    void* b = evo_sites_plain_alloc(40);
    sum += a[0];
    std::free(a);
    std::free(b);
  }
  return sum == 5 ? 0 : 1;
}
