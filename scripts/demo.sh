#!/usr/bin/env bash
# The demo command: installs what is missing, builds, and runs the data-parallel training
# example on a local cluster that orrery::Init() starts by itself (and Shutdown() stops).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
root="$(mktemp -d /tmp/orrery-demo-XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "\$ build/release/bin/train_data_parallel"
build/release/bin/train_data_parallel --orrery_temp_dir="$root"
