// core/buddy/rows_fullness_array.cpp — the 9 buddy rows with the FullnessArrayBin policy.
#include "core/buddy/rows.hpp"

namespace evo::buddy {
void rows_fullness_array(std::vector<RegistryRow>& out) { add_bin_rows<FullnessArrayBin>(out); }
}  // namespace evo::buddy
