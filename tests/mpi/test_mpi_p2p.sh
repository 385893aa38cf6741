#!/bin/bash
# test_mpi_p2p - runs mpi_p2p on two MPI ranks and compares what rank 1
# prints with EXPECTED byte for byte (every packet, in order, at its exact
# receive instant), after checking that the program loads ns-3 from the MPI
# build only. With -np 1 it must refuse: exit non-zero, naming the rank count.
#
# Usage: test_mpi_p2p.sh MPIEXEC PROGRAM NS3_LIB_DIR EXPECTED [PROGRAM_ARGS...]
#        test_mpi_p2p.sh --one-rank MPIEXEC PROGRAM
set -euo pipefail

fail() { echo "test_mpi_p2p: FAIL: $*" >&2; exit 1; }

# Root in a container: OpenMPI needs to be told, and the two ranks share the
# machine's cores with everything else.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# shellcheck source=mpi-opts.sh
. "$(dirname "${BASH_SOURCE[0]}")/mpi-opts.sh"

if [ "${1:-}" = --one-rank ]; then
    [ $# -eq 3 ] || fail "usage: test_mpi_p2p.sh --one-rank MPIEXEC PROGRAM"
    rc=0
    err=$(timeout 120 "$2" "${mpi_opts[@]}" -np 1 "$3" 2>&1 >/dev/null) || rc=$?
    [ "$rc" -ne 0 ] || fail "one rank: exit status 0"
    [ "$rc" -ne 124 ] || fail "one rank: still running after 120 s"
    grep -qxF 'mpi_p2p: needs exactly 2 MPI ranks (got 1) and --packets at most 15 (got 5)' <<<"$err" ||
        fail "one rank: no refusal line in: $err"
    echo "test_mpi_p2p: one rank refused (exit $rc)"
    exit 0
fi

[ $# -ge 4 ] || fail "usage: test_mpi_p2p.sh MPIEXEC PROGRAM NS3_LIB_DIR EXPECTED [PROGRAM_ARGS...]"
mpiexec=$1
program=$2
libdir=$(readlink -f "$3")
expected=$4
shift 4

# ns-3's mpi and point-to-point come from the MPI build (the other ns-3
# libraries are Debian's; the MPI build's point-to-point has the soname of
# Debian's, so only one of them can be loaded).
libs=$(ldd "$program" | awk '/libns3-/ { print $1, $3 }')
[ -n "$libs" ] || fail "$program loads no ns-3 library"
for name in libns3-mpi.so.37 libns3-point-to-point.so.37; do
    path=$(awk -v name="$name" '$1 == name { print $2 }' <<<"$libs")
    [ -n "$path" ] || fail "$program does not load $name"
    [ "$(dirname "$(readlink -f "$path")")" = "$libdir" ] ||
        fail "$program loads $name from $path, not from $libdir"
done

errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
rc=0
out=$(timeout 120 "$mpiexec" "${mpi_opts[@]}" -np 2 "$program" "$@" 2>"$errors") || rc=$?
[ "$rc" -ne 124 ] || fail "mpirun still running after 120 s"
[ "$rc" -eq 0 ] || fail "mpirun exited $rc; stderr: $(cat "$errors")"
if [ "$out" != "$(cat "$expected")" ]; then
    fail "rank 1 printed:
$out
expected:
$(cat "$expected")"
fi
echo "$out"
