// core/sizeclass/size_classes.hpp — size-class schemes and the size -> class lookup.
//
// A class scheme (the spec's `classes=` value) gives the sorted list of block sizes
// used up to the large threshold. Every scheme ends with the class `large` itself,
// so every request of 1..large bytes has a class; all sizes are multiples of the
// quantum (the spec's align=16|32|64), so blocks laid out back to back stay aligned.
//   jemalloc     16..128 by 16, then four classes per doubling (160 192 224 256 320 ...)
//   pow2         16 32 64 128 ...
//   linear:STEP  STEP 2*STEP 3*STEP ... (STEP a multiple of 16)
//   fitted:K     K classes fitted to the trace's request-size histogram
//                (InstanceOptions::size_histogram): the top class is `large`, the other
//                K-1 are chosen among the request sizes (rounded up to the quantum; the
//                255 most frequent when there are more) to minimise the total internal
//                fragmentation sum(count * (class - size)) of the trace's requests <= large
//                (exact dynamic programme), plus the pow2 classes below `large` as a
//                backbone: a size the trace never asked for rounds up to at most
//                twice itself (without it, to the next fitted class, possibly
//                `large`: a design fitted on one input wasted 64 KiB blocks on
//                another input's odd sizes). With no histogram it falls back to jemalloc.
// Lookup: one table of uint16 indexed by ceil(size/16), reported to the probe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/probe.hpp"
#include "core/registry.hpp"
#include "core/source/meta_arena.hpp"

namespace evo {

/// The class sizes of `scheme` (canonical text) up to `large`, multiples of
/// `quantum`. `large` must be a multiple of quantum. false + *err on a bad scheme.
bool class_sizes(std::string_view scheme, std::size_t large, std::size_t quantum,
                 std::span<const SizeCount> histogram, std::vector<std::uint32_t>& out, std::string* err);

/// The classes the fitted:K dynamic programme alone chooses for `histogram` (K at
/// most, the top one `large`), without the pow2 backbone class_sizes adds.
std::vector<std::uint32_t> fitted_classes(std::size_t k, std::size_t large, std::size_t quantum,
                                          std::span<const SizeCount> histogram);

/// The class table of one instance (in its metadata arena).
class SizeClasses {
 public:
  bool build(std::string_view scheme, std::size_t large, std::size_t quantum, std::span<const SizeCount> histogram,
             MetaArena& arena, std::string* err);

  std::uint32_t count() const { return count_; }
  std::uint32_t size(std::uint32_t cls) const { return sizes_[cls]; }
  std::size_t large() const { return large_; }
  /// Class of a request of `need` bytes, 1 <= need <= large().
  std::uint32_t lookup(std::size_t need, const Probe* probe) const {
    const std::uint16_t* e = &table_[(need + 15) >> 4];
    touch(probe, e, sizeof *e);
    return *e;
  }
  /// Every entry maps to the smallest class that fits.
  bool validate(std::string* err) const;

 private:
  std::uint32_t* sizes_ = nullptr;
  std::uint16_t* table_ = nullptr;
  std::uint32_t count_ = 0;
  std::size_t large_ = 0;
};

}  // namespace evo
