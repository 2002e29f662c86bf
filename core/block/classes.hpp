// core/block/classes.hpp — size-class tables for the class schemes of core/spec.hpp,
// as used by the block-based family's bins (core/block/family.hpp).
//
//   jemalloc      16, 32, ..., 128 (step 16), then 4 classes per doubling
//                 (160, 192, 224, 256, 320, ...)
//   pow2          16, 32, 64, 128, ...
//   linear:STEP   STEP, 2 STEP, 3 STEP, ...
//   fitted:K      K classes cut at the quantiles of the trace's request-count
//                 histogram (sizes rounded up to 16); without a histogram, the
//                 first K jemalloc classes
// Every table holds request sizes in bytes, multiples of 16, strictly increasing,
// the last <= max_size, at most kMaxClasses entries (a scheme that would produce
// more is cut there; larger requests share the last bin).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/registry.hpp"

namespace evo::block {

inline constexpr std::size_t kMaxClasses = 4096;

/// The class table of `scheme` up to `max_size`. On a malformed scheme returns
/// an empty vector and writes one line into *err.
std::vector<std::size_t> class_sizes(std::string_view scheme, std::span<const SizeCount> histogram,
                                     std::size_t max_size, std::string* err);

}  // namespace evo::block
