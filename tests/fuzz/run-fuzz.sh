#!/bin/bash
# Builds the libFuzzer targets of tests/fuzz with clang (AddressSanitizer and
# UBSan on, nothing of ns-3 or QEMU built) and runs each for a bounded time
# on a copy of its committed corpus, so the repository is not changed.
# Fails when one of them finds a crash or a broken invariant; the input that
# did it is kept in BUILD/fuzz-crashes/TARGET/. Their temporary files
# (fuzz_unpack's folders) go to /dev/shm when it can be written: on a disk
# file system, making and removing them takes most of the time.
#
#   tests/fuzz/run-fuzz.sh [SECONDS_EACH]   (default 60; BUILD: QNS_FUZZ_BUILD, build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-60}
build=${QNS_FUZZ_BUILD:-build-fuzz}
targets=(fuzz_record fuzz_manifest fuzz_unpack)

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -Wno-dev -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DQNS_SANITIZE=ON -DQNS_FUZZ=ON -DQNS_WITH_QEMU=OFF -DQNS_WITH_GUEST=OFF \
    -DQNS_WITH_DEBIAN=OFF >/dev/null
cmake --build "$build" --target "${targets[@]}"

tmp=${TMPDIR:-/tmp}
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    tmp=/dev/shm
fi

failed=()
for t in "${targets[@]}"; do
    corpus=$build/fuzz-corpus/$t
    crashes=$build/fuzz-crashes/$t
    rm -rf "$corpus"
    mkdir -p "$corpus" "$crashes"
    cp tests/fuzz/corpus/"$t"/* "$corpus"/
    echo "== $t: ${seconds}s"
    if ! TMPDIR=$tmp "$build/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus"; then
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]} (inputs in $build/fuzz-crashes/)" >&2
    exit 1
fi
echo "fuzzing: no crashes in ${targets[*]}"
