#!/bin/bash
# Installs the Debian bookworm packages qns needs to build, test and run, and
# only those that are missing: a second run does nothing and takes a moment.
# With QNS_WITH_MPI=ON in the environment it also installs OpenMPI, for the
# optional MPI-enabled ns-3 (scripts/build-ns3-mpi.sh).
set -euo pipefail

PACKAGES=(
    # build
    build-essential cmake ninja-build pkg-config git ca-certificates
    # plain-C cores, runner, captures
    libglib2.0-dev libpcap-dev libjson-glib-dev libcmocka-dev valgrind
    # unpacking packages as data (runner/unpack.c)
    libarchive-dev
    # ns-3 3.37 and what its CMake package files reference (ns3 ships the
    # helper binaries its exported targets name)
    libns3-dev ns3 libgsl-dev libxml2-dev libsqlite3-dev libpython3.11-dev
    # patched QEMU build (meson >= 1.5 comes from bookworm-backports, privately)
    python3 python3-venv flex bison zlib1g-dev libpixman-1-dev libslirp-dev
    libzstd-dev libseccomp-dev dpkg-dev patch xz-utils debian-archive-keyring gpgv binutils
    # QEMU run-time firmware
    seabios ipxe-qemu qemu-system-data
    # every QEMU qns starts runs confined by bwrap (ns3-module/machine/qns_confine.c)
    bubblewrap
    # default guest image; Debian images (scenarios/guests/debian/build-debian.sh)
    busybox-static cpio zstd kmod debootstrap e2fsprogs
    # analysis: captures and plots
    tshark gnuplot-nox
    # tests: qemu-img writes the qcow2 backing chains the disk tests run and
    # pack (qns itself reads qcow2 headers and never runs it)
    qemu-utils
    # fuzzing (tests/fuzz/run-fuzz.sh): clang with libFuzzer
    clang libclang-rt-14-dev
)

# The optional MPI build: OpenMPI's compilers, headers and mpirun.
add_mpi_packages() {
    PACKAGES+=(libopenmpi-dev openmpi-bin)
}
case "${QNS_WITH_MPI:-OFF}" in
    ON | on | 1 | TRUE | true | YES | yes) add_mpi_packages ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

echo "qns: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing packages (${missing[*]}) and not root: install them or re-run as root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# An index older than the packages it must find fails with 404: refresh once.
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
