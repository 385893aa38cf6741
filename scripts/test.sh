#!/bin/bash
# Sets up everything qns needs on Debian bookworm, builds it, and runs the
# whole test suite twice: once as built for use (with the patched QEMU and
# the default guest) and once with AddressSanitizer and UBSan on the C cores;
# then fuzzes the record decoder, the manifest reader and package unpacking
# for 50 s each; then the tests of guests across MPI ranks, against the
# MPI-enabled ns-3 (built from Debian's source once, then cached like the
# patched QEMU).
set -euo pipefail
cd "$(dirname "$0")/.."

QNS_WITH_MPI=ON scripts/setup-deps.sh

cmake -S . -B build -G Ninja -Wno-dev >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure

cmake -S . -B build-asan -G Ninja -Wno-dev -DCMAKE_BUILD_TYPE=Debug -DQNS_SANITIZE=ON \
    -DQNS_WITH_QEMU=OFF -DQNS_WITH_GUEST=OFF >/dev/null
cmake --build build-asan
ctest --test-dir build-asan --output-on-failure

# The fuzz targets (clang, libFuzzer): 50 s each on a copy of their corpus.
tests/fuzz/run-fuzz.sh 50

# Its configure shows what the MPI ns-3 build script does (under a minute cold).
cmake -S . -B build-mpi -G Ninja -Wno-dev -DQNS_WITH_MPI=ON | { grep -v '^-- ' || true; }
cmake --build build-mpi --target mpi_p2p mpi_guests qns-runner qns-fake-guest
ctest --test-dir build-mpi -R '^mpi_' --output-on-failure
