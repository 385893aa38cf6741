#!/bin/bash
# Guests across two MPI ranks give a one-process run's outputs: mpi_guests
# runs once as one process and once with mpirun -np 2 (the second under CPU
# load); both folders must hold the same files, byte for byte, and h1's
# pings across the ranks must have been answered.
set -euo pipefail
# shellcheck source=../cpu-load.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cpu-load.sh"

fail() { echo "test_mpi_guests: FAIL: $*" >&2; exit 1; }
[ $# -eq 3 ] || fail "usage: test_mpi_guests.sh MPIEXEC PROGRAM WORK_DIR"
mpiexec=$1
program=$2
work=$3
# shellcheck source=mpi-opts.sh
. "$(dirname "${BASH_SOURCE[0]}")/mpi-opts.sh"

rm -rf "$work"
mkdir -p "$work/one" "$work/two"
timeout 300 "$program" --outDir="$work/one" >"$work/one.log" 2>&1 ||
    fail "one process exited with $?: $(cat "$work/one.log")"
cpu_load_start 2
rc=0
timeout 600 "$mpiexec" "${mpi_opts[@]}" -np 2 "$program" --mpi --outDir="$work/two" \
    >"$work/two.log" 2>&1 || rc=$?
cpu_load_stop
[ "$rc" -eq 0 ] || fail "mpirun -np 2 exited with $rc: $(cat "$work/two.log")"
cat "$work/one.log" "$work/two.log"

one=$(cd "$work/one" && ls | sort)
two=$(cd "$work/two" && ls | sort)
[ "$one" = "$two" ] || fail "the runs wrote different files: '$one' and '$two'"
want="h1-nic0.pcap h1.console h2-nic0.pcap h2.console wan-1-1.pcap wan-2-1.pcap"
[ "$(echo $one)" = "$want" ] || fail "files: $(echo $one), expected $want"
for f in $one; do
    cmp -s "$work/one/$f" "$work/two/$f" || fail "$f differs between one process and two ranks"
    sha256sum "$work/two/$f" | sed "s|$work/two/||"
done
grep -q "^3 packets transmitted, 3 packets received, 0% packet loss" \
    <(tr -d '\r' <"$work/two/h1.console") || fail "h1's pings: $(cat "$work/two/h1.console")"
echo "test_mpi_guests: PASS"
