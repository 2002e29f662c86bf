// tests/common/trace_checks.hpp — checking a trace's ops against a table of expected
// ops (the importer tests in tests/evaluate: heaptrack, mtrace, record_allocs). A
// table row has at least `kind`, `object` and `size`; each test checks its other
// fields itself. Also the trace's counters and the importer's statistics against
// tables of expected values. Header only; doctest tests only.
#pragma once

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>

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

/// CHECKs each {name, value} of `want` against the trace's counter of that name
/// (Trace::counter), the name CAPTUREd.
inline void check_counters(const Trace& t, std::initializer_list<std::pair<const char*, std::uint64_t>> want) {
  for (const auto& [name, value] : want) {
    CAPTURE(name);
    CHECK(t.counter(name) == value);
  }
}

/// A statistic as reported (`got`) and as expected (`want`).
struct StatWant {
  const char* name;
  std::uint64_t got, want;
};
/// CHECKs got == want for each row, its name CAPTUREd.
inline void check_stats(std::initializer_list<StatWant> rows) {
  for (const StatWant& r : rows) {
    CAPTURE(r.name);
    CHECK(r.got == r.want);
  }
}

}  // namespace evo::test
