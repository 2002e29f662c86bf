// core/block/rows_best.cpp — the 12 best-fit (red-black tree) rows of the block family.
#include "core/block/block_alloc.hpp"

namespace evo::block {
void add_rows_best(std::vector<RegistryRow>& out) { add_block_rows_for_fit<true>(out); }
}  // namespace evo::block
