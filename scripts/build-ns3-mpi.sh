#!/usr/bin/env bash
# build-ns3-mpi.sh LINK
#
# Builds ns-3 3.37 with MPI (Debian's OpenMPI) from Debian bookworm's `ns3`
# source package (fetched as deb-src through the private apt configuration of
# scripts/private-apt.sh) with Debian's patches, installs it into
# $(qns_cache_dir)/ns3-mpi/<key> and makes LINK a symlink to that folder.
# Debian's own libns3-dev is built without MPI.
#
# Only the modules qns needs (and what they depend on) are built, without
# examples, tests or python bindings. The install is a CMake package:
# find_package(ns3 3.37) with CMAKE_PREFIX_PATH=LINK finds it, ns3::libmpi
# included.
#
# <key> is the sha256 of the source package version, the OpenMPI version, the
# configure flags (module list included), this script and cache-build.sh (the
# cache's build helpers, shared with the QEMU build): a second run with
# nothing changed only re-points LINK (no apt, no build). The install is
# atomic (built in a temporary folder in the cache, renamed at the end) and
# concurrent runs are serialised with flock.
#
# Environment: QNS_CACHE_DIR (cache root), QNS_JOBS (parallel build jobs,
# default 2; the build runs under nice).
#
# Not for: a distribution package or a full ns-3; the result runs from its
# cache folder (its libraries find each other through $ORIGIN).
set -euo pipefail

# The version of bookworm's libns3-dev, so that both builds share one source.
readonly NS3_SOURCE_VERSION=3.37-2
readonly NS3_SERIES=3.37

# What qns links, plus mpi; ns-3's CMake adds their dependencies.
readonly NS3_MODULES=core,network,csma,point-to-point,internet,applications,wifi,mobility,propagation,flow-monitor,mpi

# Debian builds the release profile with logs (--build-profile=release
# --enable-logs); examples, tests, bindings and GUI bits are left out here.
# CMAKE_INSTALL_PREFIX is added per build (the install folder).
readonly CONFIGURE_FLAGS=(
    -G Ninja
    -DCMAKE_BUILD_TYPE=release
    -DCMAKE_INSTALL_LIBDIR=lib
    # The libraries find each other wherever the folder is.
    "-DCMAKE_INSTALL_RPATH=\$ORIGIN"
    -DCMAKE_EXPORT_NO_PACKAGE_REGISTRY=ON
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
    -DNS3_MPI=ON
    -DNS3_LOG=ON
    -DNS3_ASSERT=OFF
    -DNS3_EXAMPLES=OFF
    -DNS3_TESTS=OFF
    -DNS3_PYTHON_BINDINGS=OFF
    -DNS3_VISUALIZER=OFF
    -DNS3_GTK3=OFF
    -DNS3_NETANIM=OFF
    -DNS3_WARNINGS_AS_ERRORS=OFF
    "-DNS3_ENABLED_MODULES=$NS3_MODULES"
)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script="$here/$(basename "${BASH_SOURCE[0]}")"
readonly CACHE_BUILD_NAME=qns-ns3-mpi
# shellcheck source-path=SCRIPTDIR source=cache-build.sh
. "$here/cache-build.sh"

[ $# -eq 1 ] || die "usage: build-ns3-mpi.sh LINK"
link=$1
# shellcheck source-path=SCRIPTDIR source=private-apt.sh
. "$here/private-apt.sh"

cache=$(qns_cache_dir)
root="$cache/ns3-mpi"
mkdir -p "$root"

mpi_version() {
    dpkg-query -W -f='${Version}' libopenmpi-dev 2>/dev/null ||
        die "libopenmpi-dev is not installed (Debian: libopenmpi-dev openmpi-bin; scripts/setup-deps.sh with QNS_WITH_MPI=ON)"
}

compute_key() {
    {
        printf 'qns-ns3-mpi key 1\nsource ns3 %s\nmpi libopenmpi-dev %s\n' \
            "$NS3_SOURCE_VERSION" "$1"
        printf 'configure %s\n' "${CONFIGURE_FLAGS[@]}"
        cache_build_recipe "$script"
    } | sha256sum | cut -d' ' -f1
}

installed() {
    [ -f "$1/BUILD-INFO" ] && [ -f "$1/lib/cmake/ns3/ns3Config.cmake" ] &&
        [ -e "$1/lib/libns3-mpi.so" ]
}

reuse() {
    say "reused $key"
    point_link "$dest"
    exit 0
}

mpi=$(mpi_version)
key=$(compute_key "$mpi")
dest="$root/$key"
installed "$dest" && reuse

cache_build_lock installed "$dest" && reuse

check_build_deps() {
    local tool
    for tool in g++ cmake ninja mpicxx mpirun dpkg-source flock nice; do
        command -v "$tool" >/dev/null ||
            die "$tool not found (Debian: build-essential cmake ninja-build libopenmpi-dev openmpi-bin dpkg-dev)"
    done
}

check_build_deps
# The downloaded source package is kept per version, so that a changed flag
# only costs a rebuild.
dsc=$(fetch_source ns3 "$NS3_SOURCE_VERSION")

cache_build_workdir "$key"

jobs=${QNS_JOBS:-2}
started=$(date +%s)
say "unpacking $(basename "$dsc") with Debian's patches"
dpkg-source -x "$dsc" "$work/src" >>"$log" 2>&1
src="$work/src/ns-$NS3_SERIES"
[ -f "$src/CMakeLists.txt" ] || die "no ns-$NS3_SERIES folder in $(basename "$dsc")"

say "configuring (log: $log)"
cmake -S "$src" -B "$work/build" "${CONFIGURE_FLAGS[@]}" \
    -DCMAKE_INSTALL_PREFIX="$dest" >>"$log" 2>&1
grep -q 'MPI was found' "$log" || die "ns-3's CMake did not find MPI"
say "building with $jobs jobs under nice (takes a while)"
nice -n 10 cmake --build "$work/build" -j "$jobs" >>"$log" 2>&1
DESTDIR="$work/destdir" cmake --install "$work/build" >>"$log" 2>&1
staged="$work/destdir$dest"
installed_libs=$(find "$staged/lib" -maxdepth 1 -name 'libns3-*.so' -printf '%f\n' |
    sed 's/^libns3-//; s/\.so$//' | LC_ALL=C sort | tr '\n' ' ')
[ -e "$staged/lib/libns3-mpi.so" ] || die "the build installed no libns3-mpi.so"
finished=$(date +%s)

{
    printf 'source-package: ns3\n'
    printf 'source-version: %s\n' "$NS3_SOURCE_VERSION"
    printf 'mpi: libopenmpi-dev %s\n' "$mpi"
    cache_build_info_common "$key" "$script" "$started" "$finished"
    printf 'configure-flags: %s\n' "${CONFIGURE_FLAGS[*]}"
    printf 'modules-requested: %s\n' "$NS3_MODULES"
    printf 'modules-installed: %s\n' "${installed_libs% }"
    printf 'jobs: %s\n' "$jobs"
} >"$staged/BUILD-INFO"

mv -T "$staged" "$dest"
say "installed $dest in $((finished - started)) s"
point_link "$dest"
