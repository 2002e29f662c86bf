#!/usr/bin/env bash
# Installs every Debian 12 package evoalloc needs to build, test and benchmark.
# Idempotent: packages already present are skipped by apt. Runs as root or via sudo.
#   scripts/install-deps.sh            build + test dependencies
#   EVOALLOC_DEPS_MINIMAL=1 ...        only what the build itself needs
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

build_pkgs=(
  build-essential cmake ninja-build pkg-config
  libboost-dev libboost-program-options-dev   # Spirit X3 (header-only), Program_options
  libyaml-cpp-dev                              # configs
  libzstd-dev zstd                             # trace compression
  doctest-dev                                  # unit tests
)
test_pkgs=(
  gnuplot-nox                                  # front pictures (PNG/SVG)
  libbenchmark-dev                             # bench/
  openmpi-bin libopenmpi-dev                   # MPI island model
  slurm-wlm munge                              # Slurm sweep test (tests/scale, scripts/slurm/local-cluster.sh)
  perl python3 sqlite3 coreutils file          # real programs under the recorder / exported allocators
  heaptrack                                    # heaptrack -r recordings (tests/evaluate/test_heaptrack.cpp)
  ghostscript                                  # gs rendering a PostScript file under the exported allocators (tests/export)
  fd-find                                      # fdfind: threads that free each other's blocks (tests/export, traces/fd.trace)
  libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0  # allocators compared in bench/compare
  clang libclang-rt-14-dev                     # libFuzzer run of fuzz/ (fuzz/run.sh, CTest fuzz_grammar_libfuzzer)
)

pkgs=("${build_pkgs[@]}")
if [ -z "${EVOALLOC_DEPS_MINIMAL:-}" ]; then pkgs+=("${test_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
