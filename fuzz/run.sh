#!/usr/bin/env bash
# fuzz/run.sh — build the grammar fuzz targets with libFuzzer and run them briefly.
#
#   fuzz/run.sh [--seconds N] [--build-dir DIR] [--targets "bnf map"] [--seed S]
#
# Needs clang++ with libFuzzer (Debian 12: clang, libclang-rt-14-dev; both in
# scripts/install-deps.sh). Compiles grammar/*.cpp (grammar/ depends on nothing but
# the standard library and Boost headers) with -fsanitize=fuzzer,address,undefined.
# New corpus entries go to DIR/corpus-<target> (the seeds in fuzz/corpus/ are read
# only). Crash reproducers are written to DIR as crash-*; rerun one with
#   DIR/fuzz_<target> DIR/crash-...
# --seed fixes libFuzzer's seed (CTest uses 1); without it each run explores anew.
# Exit status: 0 when no target crashed; 77 when clang++ or its libFuzzer runtime is
# missing (CTest reports the test as skipped); otherwise libFuzzer's non-zero status.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds=30
build="$root/build/fuzz"
targets="bnf map"
seed_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --build-dir) build="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    --seed) seed_args=(-seed="$2"); shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "fuzz/run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
cxx="${CXX_FUZZ:-clang++}"
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz/run.sh: $cxx not found (install clang and libclang-rt-14-dev: scripts/install-deps.sh)" >&2
  exit 77
fi
mkdir -p "$build"
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    "$cxx" -x c++ -fsanitize=fuzzer - -o "$build/probe" 2>/dev/null; then
  echo "fuzz/run.sh: $cxx cannot link libFuzzer (install libclang-rt-14-dev: scripts/install-deps.sh)" >&2
  exit 77
fi
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$root" -DEVOALLOC_SOURCE_DIR="\"$root\"")
# The grammar library once, then each target.
objs=()
for src in "$root"/grammar/*.cpp; do
  obj="$build/$(basename "$src" .cpp).o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find "$root/grammar" -name '*.hpp' -newer "$obj")" ]; then
    "$cxx" "${flags[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" -c "$src" -o "$obj"
  fi
  objs+=("$obj")
done
status=0
for t in $targets; do
  "$cxx" "${flags[@]}" "$root/fuzz/fuzz_$t.cpp" "${objs[@]}" -o "$build/fuzz_$t"
  mkdir -p "$build/corpus-$t"
  echo "=== fuzz_$t: ${seconds}s ==="
  (cd "$build" && ./fuzz_$t -max_total_time="$seconds" -max_len=4096 -timeout=30 -rss_limit_mb=2048 \
     -print_final_stats=1 "${seed_args[@]}" "corpus-$t" "$root/fuzz/corpus/$t") || status=$?
done
exit $status
