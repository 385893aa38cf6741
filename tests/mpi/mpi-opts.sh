# Sourced by the MPI tests and bench-mpi: mpi_opts, what mpirun needs on
# this machine: more ranks than cores (--oversubscribe), and, as root,
# --allow-run-as-root.
# shellcheck shell=bash
mpi_opts=(--oversubscribe)
[ "$(id -u)" -ne 0 ] || mpi_opts+=(--allow-run-as-root)
