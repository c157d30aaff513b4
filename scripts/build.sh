#!/usr/bin/env bash
# Configures and builds one variant of Orrery with Ninja and ccache.
#   scripts/build.sh release   -> build/release (Release, everything)
#   scripts/build.sh asan      -> build/asan    (ASan+UBSan, -O1 -g0, no benchmarks or examples)
set -euo pipefail
cd "$(dirname "$0")/.."
variant="${1:-release}"
jobs="${ORRERY_BUILD_JOBS:-2}"
# Paths under the checkout enter ccache's keys relative to it, so a fresh clone elsewhere (CI's,
# or a review's) reuses what another checkout of the same code already compiled.
export CCACHE_BASEDIR="$PWD"
case "$variant" in
  release)
    cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null ;;
  asan)
    cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DORRERY_SANITIZE=ON \
      -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g0" -DORRERY_BUILD_BENCH=OFF -DORRERY_BUILD_EXAMPLES=OFF > /dev/null ;;
  *)
    echo "usage: scripts/build.sh release|asan" >&2; exit 2 ;;
esac
cmake --build "build/$variant" -j "$jobs"
