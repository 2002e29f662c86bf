#!/usr/bin/env bash
# bench/bench_record.sh — recorder overhead on a real program, against the untraced
# run and against glibc's own mtrace, all measured in the same run.
#
#   bench/bench_record.sh [BUILD_DIR] [ROUNDS]      (defaults: build/release, 7)
#
# Workload: perl building and dropping a hash of 200,000 strings (about 1M
# malloc-family calls, most of them tiny, like espresso's). Each round runs, in turn:
#   untraced   perl ...
#   recorder   LD_PRELOAD=libevoalloc_recorder.so (the program run only)
#   record     evoalloc record -o T -- perl ...   (run + conversion to a trace)
#   mtrace     LD_PRELOAD=libc_malloc_debug.so.0:<helper calling mtrace()> MALLOC_TRACE=...
# and prints the median wall time of each and its ratio to the untraced median.
# Needs the tests built (the mtrace helper lives in BUILD_DIR/tests/evaluate/).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
rounds=${2:-7}
bin=$build/app/evoalloc
rec=$build/app/libevoalloc_recorder.so
helper=$build/tests/evaluate/libevoalloc_test_mtrace_helper.so
debug=/lib/x86_64-linux-gnu/libc_malloc_debug.so.0
for f in "$bin" "$rec" "$helper" "$debug"; do
  [ -e "$f" ] || { echo "bench_record: $f missing (build the project and its tests first)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
script='my %h; for my $i (1..200000) { $h{"k$i"} = "v" x ($i % 90) } my $n = keys %h; %h = (); print "$n\n";'

now() { date +%s%N; }
declare -A times
modes=(untraced recorder record mtrace)
for ((r = 0; r < rounds; r++)); do
  for m in "${modes[@]}"; do
    t0=$(now)
    case $m in
      untraced) perl -e "$script" >/dev/null ;;
      recorder) rm -rf "$tmp/raw" && mkdir "$tmp/raw" &&
                EVOALLOC_RECORD_DIR=$tmp/raw LD_PRELOAD=$rec perl -e "$script" >/dev/null ;;
      record)   "$bin" record -o "$tmp/perl.trace" -- perl -e "$script" >/dev/null ;;
      mtrace)   MALLOC_TRACE=$tmp/perl.mtrace LD_PRELOAD=$debug:$helper perl -e "$script" >/dev/null ;;
    esac
    t1=$(now)
    times[$m]+="$(( (t1 - t0) / 1000000 )) "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo "${times[untraced]}" | median)
ops=$("$bin" trace info --json "$tmp/perl.trace" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
echo "workload: perl hash of 200000 strings; trace: $ops ops; $rounds rounds; medians"
printf "%-10s %10s %8s\n" mode "ms" "ratio"
for m in "${modes[@]}"; do
  med=$(echo "${times[$m]}" | median)
  printf "%-10s %10d %8.2f\n" "$m" "$med" "$(echo "$med / $base" | bc -l)"
done
