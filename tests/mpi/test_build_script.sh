#!/bin/bash
# test_build_script - build-ns3-mpi.sh with its build in the cache: a second
# run only re-points the link (it says it reused KEY, prints nothing else and
# takes well under 10 s); without a link argument or without OpenMPI it
# refuses with one line naming the problem.
#
# Usage: test_build_script.sh SCRIPT BUILD_LINK WORK_DIR
#   BUILD_LINK is the link the configure step made (build/ns3-mpi).
set -euo pipefail

fail() { echo "test_build_script: FAIL: $*" >&2; exit 1; }

[ $# -eq 3 ] || fail "usage: test_build_script.sh SCRIPT BUILD_LINK WORK_DIR"
script=$1
dest=$(readlink "$2") || fail "$2 is not a link"
key=$(basename "$dest")
work=$3
rm -rf "$work"
mkdir -p "$work"

# Cached: no apt, no build, two lines.
started=$(date +%s%N)
err=$("$script" "$work/link" 2>&1) || fail "cached run exited $?: $err"
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
want="qns-ns3-mpi: reused $key
qns-ns3-mpi: $work/link -> $dest"
[ "$err" = "$want" ] || fail "cached run printed:
$err
expected:
$want"
[ "$(readlink "$work/link")" = "$dest" ] || fail "$work/link points to $(readlink "$work/link")"
[ "$elapsed_ms" -lt 10000 ] || fail "cached run took $elapsed_ms ms"
echo "test_build_script: reused $key in $elapsed_ms ms"

# expect_refusal WHAT LINE COMMAND...: COMMAND exits 1 printing only LINE.
expect_refusal() {
    local what=$1 line=$2 rc=0 err
    shift 2
    err=$("$@" 2>&1) || rc=$?
    if [ "$rc" -ne 1 ] || [ "$err" != "$line" ]; then
        fail "$what: exit $rc, printed: $err"
    fi
}

expect_refusal "without arguments" "qns-ns3-mpi: error: usage: build-ns3-mpi.sh LINK" "$script"

# No OpenMPI: dpkg-query finds no libopenmpi-dev.
mkdir -p "$work/no-mpi"
printf '#!/bin/sh\nexit 1\n' >"$work/no-mpi/dpkg-query"
chmod +x "$work/no-mpi/dpkg-query"
expect_refusal "without OpenMPI" \
    "qns-ns3-mpi: error: libopenmpi-dev is not installed (Debian: libopenmpi-dev openmpi-bin; scripts/setup-deps.sh with QNS_WITH_MPI=ON)" \
    env PATH="$work/no-mpi:$PATH" "$script" "$work/link2"
[ ! -e "$work/link2" ] || fail "without OpenMPI the link was made"
echo "test_build_script: refusals ok"
