#!/bin/bash
# Sets up everything qns needs on Debian bookworm (packages; the patched QEMU
# and the default guest, built once and then taken from the cache), builds
# qns and runs the main job: two default guests pinging each other across a
# simulated Ethernet LAN. Idempotent: a second run only re-runs the job.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-deps.sh
cmake -S . -B build -G Ninja -Wno-dev >/dev/null
cmake --build build
rm -rf results/lan_ping
exec build/runner/qns run scenarios/lan_ping.ini -o results/lan_ping
