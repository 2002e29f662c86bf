// evolve/rng.hpp — deterministic random streams: one per (seed, generation, index, purpose).
//
// Every random decision of a run is drawn from a stream derived from the run seed
// and *where* the decision is made (generation, individual index, purpose), never
// from a shared generator, so the order in which OpenMP threads run cannot change
// a run: a seed reproduces it exactly (STYLE.md habit 11).
//
// Generator: xoshiro256** seeded through SplitMix64 (public-domain algorithms by
// Blackman and Vigna); bounded integers by rejection (no modulo bias), doubles from
// the top 53 bits. Results are identical on every platform and compiler.
// (Named StreamRng: grammar/rng.hpp already defines evo::Rng, the mapper's generator.)
#pragma once

#include <cstdint>

namespace evo {

class StreamRng {
 public:
  explicit StreamRng(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& w : s_) w = splitmix(x);
  }
  /// The stream for one decision site. `purpose` separates streams at the same
  /// site (e.g. 0 = selection, 1 = crossover, 2 = mutation).
  static StreamRng stream(std::uint64_t seed, std::uint64_t generation, std::uint64_t index, std::uint64_t purpose = 0) {
    std::uint64_t x = seed;
    std::uint64_t h = splitmix(x);
    x = h ^ (generation * 0x9E3779B97F4A7C15ULL);
    h = splitmix(x);
    x = h ^ (index * 0xC2B2AE3D27D4EB4FULL);
    h = splitmix(x);
    x = h ^ (purpose * 0x165667B19E3779F9ULL);
    return StreamRng(splitmix(x));
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, n); n > 0.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
    std::uint64_t v;
    do v = next();
    while (v >= limit);
    return v % n;
  }
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// True with probability p.
  bool chance(double p) { return uniform() < p; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t s_[4];
};

}  // namespace evo
