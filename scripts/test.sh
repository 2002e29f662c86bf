#!/usr/bin/env bash
# Installs dependencies, builds evoalloc twice (Release, and Debug+ASan/UBSan) and
# runs the whole CTest suite in both. Exit status is non-zero if anything fails.
#   scripts/test.sh            both flavours
#   EVOALLOC_TEST_FLAVOURS=release scripts/test.sh   one flavour only
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
for flavour in ${EVOALLOC_TEST_FLAVOURS:-release asan}; do
  echo "=== evoalloc tests: $flavour ==="
  cmake --preset "$flavour" -G Ninja >/dev/null
  cmake --build --preset "$flavour" -j "$jobs"
  ctest --preset "$flavour" -j "$jobs" -LE "${EVOALLOC_TEST_EXCLUDE_LABEL:-^$}"
done
