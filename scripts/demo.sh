#!/usr/bin/env bash
# The demo command: installs what is missing, builds, and runs the Monte Carlo π example on a
# local cluster that orrery::Init() starts by itself (and Shutdown() stops).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
root="$(mktemp -d /tmp/orrery-demo-XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "\$ build/release/bin/monte_carlo_pi"
build/release/bin/monte_carlo_pi --orrery_temp_dir="$root"
