// core/block/rows_first.cpp — the 12 first-fit rows of the block family.
#include "core/block/block_alloc.hpp"

namespace evo::block {
void add_rows_first(std::vector<RegistryRow>& out) { add_block_rows_for_fit<false>(out); }
}  // namespace evo::block
