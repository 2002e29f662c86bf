// core/buddy/fib_family.hpp — the `fibbuddy` family: the Fibonacci buddy system
// (core/buddy/fib_heap.hpp), one row.
//
//   fibbuddy sb=SIZE min=SIZE large=SIZE
//     sb     upper bound of a superblock: the largest Fibonacci multiple of the unit
//            that fits, 16K..4M (default 256K)
//     min    the unit (smallest block), a power of two, 16..4K (default 16)
//     large  requests above it are mapped one each, 1K..4M, at most sb (default 64K)
//   source: mmap only.
#pragma once

#include <vector>

#include "core/registry.hpp"

namespace evo {

const FamilySchema& fibbuddy_schema();
void fibbuddy_add_rows(std::vector<RegistryRow>& out);

}  // namespace evo
