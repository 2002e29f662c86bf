#!/usr/bin/env bash
# bench/compare.sh — whole-program comparison of an exported evoalloc design with
# glibc, jemalloc, tcmalloc and mimalloc (Debian packages libjemalloc2,
# libtcmalloc-minimal4, libmimalloc2.0; scripts/install-deps.sh installs them).
#
#   bench/compare.sh [--runs K] [--name LABEL] [--also LABEL2=LIB2.so]... LIB.so -- PROGRAM [ARGS...]
#
# --also adds more libraries to the table (e.g. the same design exported with
# --threads lock and --threads tlh), each run like the others.
# Runs PROGRAM K times (default 5) under each allocator (LD_PRELOAD; glibc = none),
# interleaved round-robin so machine noise spreads evenly, and prints a Markdown
# table: median whole-process wall time (s) and median peak RSS (MiB, from
# /usr/bin/time %M), each with its ratio to glibc measured in the same run. Output
# of PROGRAM goes to /dev/null; a run that exits non-zero aborts the comparison.
# Allocators whose library is missing are skipped with a note.
set -euo pipefail
runs=5
label=evoalloc
also_names=()
also_libs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --name) label="$2"; shift 2 ;;
    --also)
      case "$2" in
        *=*) also_names+=("${2%%=*}"); also_libs+=("${2#*=}") ;;
        *) echo "compare: --also needs LABEL=LIB.so" >&2; exit 2 ;;
      esac
      shift 2 ;;
    --) shift; break ;;
    -*) echo "compare: unknown option $1" >&2; exit 2 ;;
    *) lib="$1"; shift ;;
  esac
done
if [ -z "${lib:-}" ] || [ $# -eq 0 ]; then
  echo "usage: bench/compare.sh [--runs K] [--name LABEL] [--also LABEL2=LIB2.so]... LIB.so -- PROGRAM [ARGS...]" >&2
  exit 2
fi
[ -f "$lib" ] || { echo "compare: $lib: no such library" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "compare: /usr/bin/time is missing (Debian package time)" >&2; exit 1; }
ml=/usr/lib/x86_64-linux-gnu
names=(glibc jemalloc tcmalloc mimalloc "$label")
preload=("" "$ml/libjemalloc.so.2" "$ml/libtcmalloc_minimal.so.4" "$ml/libmimalloc.so.2" "$(readlink -f "$lib")")
for i in "${!also_names[@]}"; do
  [ -f "${also_libs[$i]}" ] || { echo "compare: ${also_libs[$i]}: no such library" >&2; exit 1; }
  names+=("${also_names[$i]}")
  preload+=("$(readlink -f "${also_libs[$i]}")")
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((r = 0; r < runs; r++)); do
  for i in "${!names[@]}"; do
    p=${preload[$i]}
    if [ -n "$p" ] && [ ! -f "$p" ]; then continue; fi
    if ! LD_PRELOAD="$p" /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" > /dev/null 2> "$tmp/err"; then
      echo "compare: '$*' failed under ${names[$i]}:" >&2
      head -5 "$tmp/err" >&2
      exit 1
    fi
    cat "$tmp/t" >> "$tmp/${names[$i]}"
  done
done
median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
gt=$(cut -d' ' -f1 "$tmp/glibc" | median)
gm=$(cut -d' ' -f2 "$tmp/glibc" | median)
echo "program: $*  (runs: $runs each, medians)"
echo
echo "| allocator | wall s | vs glibc | peak RSS MiB | vs glibc |"
echo "|---|---:|---:|---:|---:|"
for i in "${!names[@]}"; do
  n=${names[$i]}
  if [ ! -f "$tmp/$n" ]; then
    echo "| $n | (not installed: ${preload[$i]}) | | | |"
    continue
  fi
  t=$(cut -d' ' -f1 "$tmp/$n" | median)
  m=$(cut -d' ' -f2 "$tmp/$n" | median)
  awk -v n="$n" -v t="$t" -v m="$m" -v gt="$gt" -v gm="$gm" \
    'BEGIN { printf "| %s | %.3f | %.2f | %.1f | %.2f |\n", n, t, (gt > 0 ? t / gt : 0), m / 1024, (gm > 0 ? m / gm : 0) }'
done
