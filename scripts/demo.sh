#!/usr/bin/env bash
# The demo command: installs what is missing, builds, starts a local head node, shows its
# status, and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
bin=build/release/bin
root="$(mktemp -d /tmp/orrery-demo-XXXXXX)"
trap '"$bin/orrery" stop --temp-dir "$root" > /dev/null; rm -rf "$root"' EXIT

echo "\$ orrery start --head"
"$bin/orrery" start --head --port 0 --temp-dir "$root"
echo
echo "\$ orrery status"
"$bin/orrery" status --temp-dir "$root"
echo
echo "\$ orrery stop"
"$bin/orrery" stop --temp-dir "$root"
