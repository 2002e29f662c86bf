// core/superblock/rows_fullness_list.cpp — the 45 superblock rows with bins=fullness-list (see rows.hpp).
#include "core/superblock/rows.hpp"

namespace evo {

void superblock_rows_fullness_list(std::vector<RegistryRow>& out) { sb_rows::add_bin<FullnessListBin>(out); }

}  // namespace evo
