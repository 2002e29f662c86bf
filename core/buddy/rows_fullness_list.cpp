// core/buddy/rows_fullness_list.cpp — the 9 buddy rows with the FullnessListBin policy.
#include "core/buddy/rows.hpp"

namespace evo::buddy {
void rows_fullness_list(std::vector<RegistryRow>& out) { add_bin_rows<FullnessListBin>(out); }
}  // namespace evo::buddy
