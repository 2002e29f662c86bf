// core/superblock/rows_fullness_array.cpp — the 45 superblock rows with bins=fullness-array (see rows.hpp).
#include "core/superblock/rows.hpp"

namespace evo {

void superblock_rows_fullness_array(std::vector<RegistryRow>& out) { sb_rows::add_bin<FullnessArrayBin>(out); }

}  // namespace evo
