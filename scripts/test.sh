#!/bin/bash
# Sets up everything qns needs on Debian bookworm, builds it, and runs the
# whole test suite twice: once as built for use (with the patched QEMU and
# the default guest) and once with AddressSanitizer and UBSan on the C cores.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-deps.sh

cmake -S . -B build -G Ninja -Wno-dev >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure

cmake -S . -B build-asan -G Ninja -Wno-dev -DCMAKE_BUILD_TYPE=Debug -DQNS_SANITIZE=ON \
    -DQNS_WITH_QEMU=OFF -DQNS_WITH_GUEST=OFF >/dev/null
cmake --build build-asan
ctest --test-dir build-asan --output-on-failure
