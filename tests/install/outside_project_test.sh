#!/usr/bin/env bash
# Installs this build into a fresh prefix, then builds and runs an outside project against it
# with find_package(orrery CONFIG) and nothing else.
#   outside_project_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
source="$2"
work="$(mktemp -d /tmp/orrery-install-XXXXXX)"
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
test -x "$work/prefix/bin/orrery" || { echo "orrery was not installed"; exit 1; }
test -x "$work/prefix/bin/orrery-gcs" || { echo "orrery-gcs was not installed"; exit 1; }
test -x "$work/prefix/bin/orrery-raylet" || { echo "orrery-raylet was not installed"; exit 1; }
cmake -S "$source/tests/install/outside" -B "$work/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
output="$("$work/build/outside")"
echo "$output"
expected="$(sed -n 's/^project(orrery VERSION \([0-9.]*\).*/\1/p' "$source/CMakeLists.txt")"
[ "$output" = "orrery headers $expected, library $expected" ] || { echo "unexpected output"; exit 1; }
"$work/prefix/bin/orrery" --version
# Remote functions on a local cluster the programs start from the installed binaries.
export ORRERY_BIN_DIR="$work/prefix/bin"
tmp="$(mktemp -d /tmp/ot-XXXXXX)"  # short: socket paths under it must fit 107 bytes
trap 'rm -rf "$work" "$tmp"' EXIT
output="$("$work/build/outside_remote" --orrery_temp_dir="$tmp")"
echo "$output"
[ "$output" = "square 49" ] || { echo "unexpected output"; exit 1; }
output="$("$work/build/outside_ray" --ray_temp_dir="$tmp")"
echo "$output"
[ "$output" = "plus 3, unregistered refused 1, env job/task" ] || { echo "unexpected output"; exit 1; }
