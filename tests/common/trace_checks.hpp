// tests/common/trace_checks.hpp — checking a trace's ops against a table of expected
// ops (the importer tests in tests/evaluate: heaptrack, mtrace, record_allocs). A
// table row has at least `kind`, `object` and `size`; each test checks its other
// fields itself. Header only; doctest tests only.
#pragma once

#include <doctest/doctest.h>

#include <cstddef>

#include "evaluate/trace.hpp"

namespace evo::test {

/// REQUIREs one op per row of `want`, then CHECKs op i (CAPTUREd) against row i:
/// kind, object and size (Trace::size_of), then calls more(op, row) for the fields
/// only that test's table has.
template <class Row, std::size_t N, class More>
void check_ops(const Trace& t, const Row (&want)[N], More more) {
  REQUIRE(t.ops.size() == N);
  for (std::size_t i = 0; i < N; ++i) {
    CAPTURE(i);
    CHECK(t.ops[i].kind == want[i].kind);
    CHECK(t.ops[i].object == want[i].object);
    CHECK(t.size_of(i) == want[i].size);
    more(t.ops[i], want[i]);
  }
}

}  // namespace evo::test
