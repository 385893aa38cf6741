#!/usr/bin/env bash
# build-ns3-mpi.sh LINK
#
# Makes ns-3 3.37 with MPI out of Debian's installed libns3-dev (built
# without MPI) and two modules built here: mpi and an MPI-enabled
# point-to-point (the only other module whose code depends on MPI), compiled
# from bookworm's `ns3` source package of the same version (fetched as
# deb-src through the private apt configuration of scripts/private-apt.sh,
# unpacked with Debian's patches) by scripts/ns3-mpi/CMakeLists.txt against
# Debian's ns-3 and OpenMPI. Installs them into $(qns_cache_dir)/ns3-mpi/<key>
# and makes LINK a symlink to that folder.
#
# The install is a CMake package: find_package(ns3 3.37) with ns3_DIR (or
# CMAKE_PREFIX_PATH) pointing into LINK loads Debian's package with
# ns3::libpoint-to-point pointed at LINK/lib and ns3::libmpi added (OpenMPI's
# headers and libraries with it). Its point-to-point library has the file
# name and soname of Debian's, so a process loads one of them: the one in
# LINK/lib wherever the build's run path has it first.
#
# <key> is the sha256 of the source package version, the installed
# libns3-dev and OpenMPI versions, the build flags, this script, the files of
# scripts/ns3-mpi/ and cache-build.sh (the cache's build helpers, shared with
# the QEMU build): a second run with nothing changed only re-points LINK (no
# apt, no build). The install is atomic (built in a temporary folder in the
# cache, renamed at the end) and concurrent runs are serialised with flock.
#
# Environment: QNS_CACHE_DIR (cache root), QNS_JOBS (parallel build jobs,
# default 2; the build runs under nice).
#
# Not for: a distribution package or a full ns-3; the result runs from its
# cache folder, next to the installed libns3 it was built against.
set -euo pipefail

# The version of bookworm's libns3-dev: the installed one must be this, so
# that the two modules built here and Debian's libraries come from one source.
readonly NS3_SOURCE_VERSION=3.37-2
readonly NS3_SERIES=3.37

# What is built here; every other module is Debian's.
readonly NS3_MODULES=mpi,point-to-point

# ns-3's release profile (-O3 -DNDEBUG), as Debian builds it, with Debian's
# hardening flags. The definitions that make the headers agree with Debian's
# libraries (NS3_LOG_ENABLE, ...) are in scripts/ns3-mpi/CMakeLists.txt.
# NS3_SOURCE_DIR, ns3_DIR and CMAKE_INSTALL_PREFIX are added per build.
readonly BUILD_FLAGS=(
    -G Ninja
    -DCMAKE_BUILD_TYPE=Release
    "-DCMAKE_CXX_FLAGS=-fstack-protector-strong -Wformat -Werror=format-security"
    "-DCMAKE_SHARED_LINKER_FLAGS=-Wl,-z,relro"
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script="$here/$(basename "${BASH_SOURCE[0]}")"
project="$here/ns3-mpi"
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

# installed_version PKG: its version if it is installed, else nothing.
installed_version() {
    local status
    status=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null) || return 0
    [ "${status%% *}" = installed ] && printf '%s\n' "${status#* }"
    return 0
}

mpi_version() {
    local version
    version=$(installed_version libopenmpi-dev)
    [ -n "$version" ] ||
        die "libopenmpi-dev is not installed (Debian: libopenmpi-dev openmpi-bin; scripts/setup-deps.sh with QNS_WITH_MPI=ON)"
    printf '%s\n' "$version"
}

ns3_version() {
    local version
    version=$(installed_version libns3-dev)
    [ -n "$version" ] || die "libns3-dev is not installed (Debian: libns3-dev; scripts/setup-deps.sh)"
    [ "$version" = "$NS3_SOURCE_VERSION" ] ||
        die "libns3-dev $version is installed; the MPI modules are built from ns3 $NS3_SOURCE_VERSION and need that libns3-dev"
    printf '%s\n' "$version"
}

compute_key() {
    local file
    {
        printf 'qns-ns3-mpi key 2\nsource ns3 %s\nns3 libns3-dev %s\nmpi libopenmpi-dev %s\n' \
            "$NS3_SOURCE_VERSION" "$1" "$2"
        printf 'modules %s\n' "$NS3_MODULES"
        printf 'flag %s\n' "${BUILD_FLAGS[@]}"
        cache_build_recipe "$script"
        for file in "$project"/*; do
            printf 'project %s %s\n' "$(basename "$file")" "$(sha256_of "$file")"
        done
    } | sha256sum | cut -d' ' -f1
}

installed() {
    [ -f "$1/BUILD-INFO" ] && [ -f "$1/lib/cmake/ns3/ns3Config.cmake" ] &&
        [ -e "$1/lib/libns3-mpi.so.37" ] && [ -e "$1/lib/libns3-point-to-point.so.37" ]
}

reuse() {
    say "reused $key"
    point_link "$dest"
    exit 0
}

mpi=$(mpi_version)
ns3=$(ns3_version)
key=$(compute_key "$ns3" "$mpi")
dest="$root/$key"
installed "$dest" && reuse

cache_build_lock installed "$dest" && reuse

check_build_deps() {
    local tool
    for tool in g++ cmake ninja mpicxx mpirun dpkg-source nm flock nice; do
        command -v "$tool" >/dev/null ||
            die "$tool not found (Debian: build-essential cmake ninja-build libopenmpi-dev openmpi-bin dpkg-dev binutils)"
    done
}

# Debian's CMake package folder (ns3Config.cmake), from libns3-dev's files.
debian_ns3_dir() {
    local config
    config=$(dpkg-query -L libns3-dev | grep -m 1 '/cmake/ns3/ns3Config\.cmake$') || true
    if [ -z "$config" ] || [ ! -f "$config" ]; then
        die "libns3-dev has no ns3Config.cmake (reinstall libns3-dev)"
    fi
    dirname "$config"
}

check_build_deps
ns3_dir=$(debian_ns3_dir)
# The downloaded source package is kept per version, so that a changed flag
# only costs a rebuild.
dsc=$(fetch_source ns3 "$NS3_SOURCE_VERSION")

cache_build_workdir "$key"

jobs=${QNS_JOBS:-2}
started=$(date +%s)
say "unpacking $(basename "$dsc") with Debian's patches"
dpkg-source -x "$dsc" "$work/src" >>"$log" 2>&1
src="$work/src/ns-$NS3_SERIES"
[ -d "$src/src/mpi" ] || die "no ns-$NS3_SERIES/src/mpi in $(basename "$dsc")"

say "configuring $NS3_MODULES against $ns3_dir (log: $log)"
cmake -S "$project" -B "$work/build" "${BUILD_FLAGS[@]}" -DNS3_SOURCE_DIR="$src" \
    -Dns3_DIR="$ns3_dir" -DCMAKE_INSTALL_PREFIX="$dest" >>"$log" 2>&1
say "building with $jobs jobs under nice"
nice -n 10 cmake --build "$work/build" -j "$jobs" >>"$log" 2>&1
DESTDIR="$work/destdir" cmake --install "$work/build" >>"$log" 2>&1
staged="$work/destdir$dest"
for file in lib/libns3-mpi.so.37 lib/libns3-point-to-point.so.37 lib/cmake/ns3/ns3Config.cmake; do
    [ -e "$staged/$file" ] || die "the build installed no $file"
done
symbols=$(nm -D --defined-only "$staged/lib/libns3-point-to-point.so.37")
grep -q PointToPointRemoteChannel <<<"$symbols" ||
    die "the point-to-point library built has no PointToPointRemoteChannel (NS3_MPI off?)"
finished=$(date +%s)

{
    printf 'source-package: ns3\n'
    printf 'source-version: %s\n' "$NS3_SOURCE_VERSION"
    printf 'ns3: libns3-dev %s (%s)\n' "$ns3" "$ns3_dir"
    printf 'mpi: libopenmpi-dev %s\n' "$mpi"
    cache_build_info_common "$key" "$script" "$started" "$finished"
    printf 'build-flags: %s\n' "${BUILD_FLAGS[*]}"
    printf 'compiler: %s\n' "$(g++ --version | sed -n 1p)"
    printf 'modules-built: %s\n' "$NS3_MODULES"
    printf 'jobs: %s\n' "$jobs"
} >"$staged/BUILD-INFO"

mv -T "$staged" "$dest"
say "installed $dest in $((finished - started)) s"
point_link "$dest"
