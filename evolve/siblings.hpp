// evolve/siblings.hpp — each front design under the other thread models.
//
// With the thread model a gene (grammar/threaded.bnf), the search scores a design
// once, under its own model, and a design and its twin under another model are
// compared, if the search ever derived both, by two measurements taken minutes
// apart on a shared machine: the model of the design the user ships is then the
// one whose single replay fell in a quieter minute (docs/benchmarks.md, session
// 23: the same design replayed under tlh and tcache ran level, or tcache ahead,
// while the search had kept tlh). So after the search (Config::thread_siblings)
// every design of the final front gets its siblings: the same sentence with its
// threads= key set to each other model the grammar derives. Each new sibling is
// evaluated like any design (the run's evaluate function), added to the archive
// (its genome from encode_sentence, generation one past the last), and so can
// join the front that evolve/remeasure.hpp then times in interleaved rounds, side
// by side with the design it came from: the pick (evolve/pick.hpp) chooses the
// model from measurements taken in the same minutes.
//
// A sibling under threads=tcache, whose front is a cache with its free blocks in an
// intrusive list (front=tcache:B or tcache:B:grow), takes a cache of the same bound
// B as a pointer array (tcache:B:array or tcache:B:grow:array, the same :grow
// setting first, else the other) when the grammar derives only pointer arrays under
// tcache (grammar/threaded.bnf does, and says why). A sibling the grammar cannot
// derive (no front cache, harden=checked under tcache, a cache the grammar does not
// allow) is not made.
// A sentence without exactly one threads= key (a grammar without the gene) has no
// siblings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "evolve/archive.hpp"
#include "evolve/evolution.hpp"
#include "grammar/grammar.hpp"

namespace evo {

struct Sibling {
  std::string sentence;
  std::vector<std::uint32_t> genome;  ///< maps (no wrapping) to exactly `sentence`
};

/// The threads= value of `sentence` when it has exactly one threads= key, else "".
std::string thread_model_of(std::string_view sentence);

/// true when `a` and `b` are the same design under two thread models: each has
/// exactly one threads= key, the values differ, and the rest of the text is equal.
bool thread_model_twins(std::string_view a, std::string_view b);

/// The siblings of `sentence` the grammar derives, in the order lock, tlh, tcache
/// (skipping the design's own model).
std::vector<Sibling> thread_model_siblings(std::string_view sentence, const Grammar& g);

struct SiblingStats {
  std::size_t front = 0;      ///< designs on the front when the step began
  std::size_t siblings = 0;   ///< their siblings in the language
  std::size_t evaluated = 0;  ///< of those, new to the archive (evaluated here)
  std::vector<std::size_t> indexes;  ///< the siblings' archive indexes (feasible ones), each once
};

/// Adds the siblings of every front design to the archive, evaluating each new one
/// with `eval` (in front order, one at a time); a progress line per evaluation on
/// *progress when given.
SiblingStats add_thread_model_siblings(Archive& archive, const Grammar& g, const EvaluateFn& eval,
                                       std::uint64_t generation, std::ostream* progress);

}  // namespace evo
