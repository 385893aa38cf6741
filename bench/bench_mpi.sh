#!/bin/bash
# bench_mpi MPIEXEC MPI_GUESTS WORK_DIR [PAIRS]: PAIRS default guests on each
# of two MPI ranks (4 in all by default; tests/mpi/mpi_guests.cc), 6 s of
# virtual time at a 1 ms quantum, run as one process (the baseline) and as
# two ranks under mpirun on this machine, in one run: wall time, rounds, and
# whether the outputs are the same.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: bench_mpi.sh MPIEXEC MPI_GUESTS WORK_DIR [PAIRS]" >&2; exit 2; }
mpiexec=$1
program=$2
work=$3
pairs=${4:-2}
# shellcheck source=../tests/mpi/mpi-opts.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/mpi/mpi-opts.sh"

rm -rf "$work"
mkdir -p "$work/one" "$work/two"
now() { date +%s.%N; }
t0=$(now)
"$program" --outDir="$work/one" --pairs="$pairs" >"$work/one.log" 2>&1
t1=$(now)
"$mpiexec" "${mpi_opts[@]}" -np 2 "$program" --mpi --outDir="$work/two" --pairs="$pairs" \
    >"$work/two.log" 2>&1
t2=$(now)
same=identical
for f in $(cd "$work/one" && ls); do
    cmp -s "$work/one/$f" "$work/two/$f" || same="DIFFER ($f)"
done
rounds() { sed -n 's/.*, \([0-9]*\) rounds,.*/\1/p' "$1" | paste -sd/; }
echo "bench_mpi: $((2 * pairs)) default guests ($pairs per rank), 6 s of virtual time, quantum 1 ms, $(nproc) CPUs"
printf '%-22s %10s %14s   %s\n' "run" "wall s" "rounds" "outputs"
printf '%-22s %10.2f %14s   %s\n' "one process" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$(rounds "$work/one.log")" "(baseline)"
printf '%-22s %10.2f %14s   %s\n' "2 MPI ranks" "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')" "$(rounds "$work/two.log")" "$same"
