// core/superblock/rows_unordered.cpp — the 45 superblock rows with bins=unordered (see rows.hpp).
#include "core/superblock/rows.hpp"

namespace evo {

void superblock_rows_unordered(std::vector<RegistryRow>& out) { sb_rows::add_bin<UnorderedBin>(out); }

}  // namespace evo
