// evolve/hypervolume.hpp — exact hypervolume of a point set for up to 3 objectives.
//
// Minimisation. The hypervolume of a set S with reference point r is the volume
// of the union of the boxes [p, r] for p in S. Points that do not strictly beat
// r in every objective add nothing. Exact algorithm: sweep the third objective in
// ascending order; between consecutive levels the dominated region's cross-section
// is the 2-D hypervolume (area) of the points seen so far, computed by a sweep on
// the first objective. O(n^2 log n), plenty for populations of hundreds.
//
// Normalisation used by the run (evolve/evolution.hpp): each objective is divided
// by its reference value before the call, with reference (1, 1, 1), so a run's
// hypervolume lies in [0, 1] and is comparable between generations and between a
// GE run and the exhaustive run of the same config.
#pragma once

#include <array>
#include <span>

namespace evo {

using Point3 = std::array<double, 3>;

/// Exact hypervolume of `pts` against reference `ref` (see above). With two
/// objectives, give every point and the reference the same third value + 1 apart
/// (e.g. z = 0 and ref z = 1): the result is then the 2-D area.
double hypervolume(std::span<const Point3> pts, const Point3& ref);

}  // namespace evo
