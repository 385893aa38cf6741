#!/usr/bin/env bash
# build-qemu.sh LINK
#
# Builds qemu-system-x86_64 and qemu-img (which makes a snapshot's disk
# overlay) from Debian's QEMU 10.0 source package (trixie's
# `qemu`, fetched as deb-src through the private apt configuration of
# scripts/private-apt.sh), with Debian's patches and then every *.patch in this
# folder applied in order, installs it into $(qns_cache_dir)/qemu/<key> and
# makes LINK a symlink to that folder.
#
# <key> is the sha256 of the source package version, every patch, the
# configure flags, this script and scripts/cache-build.sh (the cache's
# build helpers, shared with the MPI ns-3 build): a second run with nothing changed only
# re-points LINK (no apt, no build). The install is atomic (built in a
# temporary folder in the cache, renamed at the end) and concurrent runs are
# serialised with flock.
#
# Environment: QNS_CACHE_DIR (cache root), QNS_APT_MAX_AGE (seconds between
# apt index refreshes and source-version checks, default one day),
# QNS_JOBS (parallel build jobs, default: all cores).
#
# Not for: building other targets or a distribution package; the result runs
# from its cache folder and finds its firmware in Debian's seabios, ipxe-qemu
# and qemu-system-data packages.
set -euo pipefail

# Minimum versions. The patches are written against QEMU 10.0.x; QEMU 10.0
# itself needs meson >= 1.5.0 (bookworm has 1.0.1, so meson comes from
# bookworm-backports), ninja >= 1.7.1, python >= 3.8, glib >= 2.66 and, for
# the VNC display, pixman >= 0.21.8.
readonly QEMU_SERIES=10.0
readonly MESON_MIN=1.5.0
readonly MESON_SUITE=bookworm-backports
readonly NINJA_MIN=1.7.1
readonly PYTHON_MIN=3.8
readonly GLIB_MIN=2.66.0
readonly PIXMAN_MIN=0.21.8

# Debian's run-time firmware: qemu-system-data, seabios, ipxe-qemu.
readonly FIRMWARE_PATH=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu

# Only what a simulated x86_64 PC with a network card and a watchable screen
# needs, seccomp, which confines every QEMU qns starts (-sandbox), and the
# tools (qemu-img makes the qcow2 overlay of a snapshot's disk). --prefix is
# added per build (the install folder).
readonly CONFIGURE_FLAGS=(
    --target-list=x86_64-softmmu
    --without-default-features
    --enable-system
    --disable-user
    --disable-docs
    --enable-tools
    --disable-guest-agent
    --enable-tcg
    --disable-kvm
    --disable-fdt
    --enable-pixman
    --enable-vnc
    --enable-slirp
    --enable-seccomp
    --disable-install-blobs
    --disable-werror
    -Dwrap_mode=nodownload
    "--firmwarepath=$FIRMWARE_PATH"
)

version_ge() { dpkg --compare-versions "$1" ge "$2"; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script="$here/$(basename "${BASH_SOURCE[0]}")"
readonly CACHE_BUILD_NAME=qns-qemu
# shellcheck source=../scripts/cache-build.sh
. "$here/../scripts/cache-build.sh"

[ $# -eq 1 ] || die "usage: build-qemu.sh LINK"
link=$1
# shellcheck source=../scripts/private-apt.sh
. "$here/../scripts/private-apt.sh"

cache=$(qns_cache_dir)
root="$cache/qemu"
mkdir -p "$root"

mapfile -t patches < <(LC_ALL=C find "$here" -maxdepth 1 -name '*.patch' -type f | LC_ALL=C sort)

# The source version is looked up in the private apt index at most once per
# QNS_APT_MAX_AGE; in between, the last answer is reused without touching apt.
version_file="$root/source-version"

resolve_version() {
    local max age v best=
    max=${QNS_APT_MAX_AGE:-86400}
    if [ -s "$version_file" ]; then
        age=$(( $(date +%s) - $(stat -c %Y "$version_file") ))
        if [ "$age" -lt "$max" ]; then
            cat "$version_file"
            return 0
        fi
    fi
    say "looking up trixie's qemu source version"
    qns_apt_setup
    while read -r v; do
        if [ -z "$best" ] || version_ge "$v" "$best"; then
            best=$v
        fi
    done < <(qns_apt_cache showsrc qemu 2>/dev/null | sed -n 's/^Version: //p')
    [ -n "$best" ] || die "no qemu source package in the private apt index"
    printf '%s\n' "$best" > "$version_file.new"
    mv "$version_file.new" "$version_file"
    printf '%s\n' "$best"
}

check_series() {
    case "${1#*:}" in
        "$QEMU_SERIES".*) ;;
        *) die "trixie's qemu source is version $1, but these patches are for QEMU $QEMU_SERIES.x; update qemu-patch/ first" ;;
    esac
}

compute_key() {
    local p
    {
        printf 'qns-qemu key 1\nsource qemu %s\n' "$1"
        printf 'configure %s\n' "${CONFIGURE_FLAGS[@]}"
        for p in "${patches[@]}"; do
            printf 'patch %s %s\n' "$(basename "$p")" "$(sha256_of "$p")"
        done
        cache_build_recipe "$script"
    } | sha256sum | cut -d' ' -f1
}

installed() { [ -x "$1/bin/qemu-system-x86_64" ] && [ -x "$1/bin/qemu-img" ] && [ -f "$1/BUILD-INFO" ]; }

version=$(resolve_version)
check_series "$version"
key=$(compute_key "$version")
dest="$root/$key"
if installed "$dest"; then
    point_link "$dest"
    exit 0
fi

if cache_build_lock installed "$dest"; then
    point_link "$dest"
    exit 0
fi
rm -rf "$cache"/.meson.*

check_build_deps() {
    local v
    for tool in gcc make ninja pkg-config python3 dpkg-source patch flock; do
        command -v "$tool" >/dev/null ||
            die "$tool not found (Debian: build-essential ninja-build pkg-config python3-venv dpkg-dev)"
    done
    v=$(ninja --version)
    version_ge "$v" "$NINJA_MIN" || die "ninja $v is older than $NINJA_MIN"
    v=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    version_ge "$v" "$PYTHON_MIN" || die "python3 $v is older than $PYTHON_MIN"
    pkg-config --atleast-version="$GLIB_MIN" glib-2.0 ||
        die "glib-2.0 >= $GLIB_MIN not found (Debian: libglib2.0-dev)"
    pkg-config --atleast-version="$PIXMAN_MIN" pixman-1 ||
        die "pixman-1 >= $PIXMAN_MIN not found (Debian: libpixman-1-dev)"
    pkg-config --exists slirp || die "slirp not found (Debian: libslirp-dev)"
    pkg-config --exists zlib || die "zlib not found (Debian: zlib1g-dev)"
    for f in /usr/share/seabios/bios-256k.bin /usr/lib/ipxe/qemu/efi-virtio.rom \
             /usr/share/qemu/kvmvapic.bin; do
        [ -e "$f" ] || say "warning: $f missing (Debian: seabios ipxe-qemu qemu-system-data); guests will not boot"
    done
}

# meson from bookworm-backports, unpacked into the cache (pure python).
# Prints the folder to put on PYTHONPATH.
ensure_meson() {
    local dir v tmp deb
    dir=$(find "$cache/meson" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | LC_ALL=C sort | tail -n1)
    if [ -z "$dir" ]; then
        say "fetching meson from $MESON_SUITE"
        tmp=$(mktemp -d "$cache/.meson.XXXXXX")
        (cd "$tmp" && qns_apt_get download "meson/$MESON_SUITE" >&2) ||
            { rm -rf "$tmp"; die "cannot download meson from $MESON_SUITE"; }
        deb=$(ls "$tmp"/meson_*.deb)
        v=$(dpkg-deb -f "$deb" Version)
        dpkg-deb -x "$deb" "$tmp/root"
        mkdir -p "$cache/meson"
        dir="$cache/meson/$v"
        rm -rf "$dir"
        mv "$tmp/root" "$dir"
        rm -rf "$tmp"
    fi
    v=$(PYTHONPATH="$dir/usr/lib/python3/dist-packages" python3 -c \
        'from mesonbuild import coredata; print(coredata.version)')
    version_ge "$v" "$MESON_MIN" || die "meson $v in $dir is older than $MESON_MIN"
    say "using meson $v"
    printf '%s\n' "$dir/usr/lib/python3/dist-packages"
}

check_build_deps
meson_path=$(ensure_meson)
# The downloaded source package is kept per version, so that a changed patch
# only costs a rebuild.
dsc=$(fetch_source qemu "$version")

cache_build_workdir "$key"

started=$(date +%s)
say "unpacking $(basename "$dsc") with Debian's patches"
dpkg-source -x "$dsc" "$work/src" >>"$log" 2>&1
for p in "${patches[@]}"; do
    say "applying $(basename "$p")"
    patch -d "$work/src" -p1 --batch --forward --no-backup-if-mismatch <"$p" >>"$log" 2>&1
done

say "configuring (log: $log)"
mkdir "$work/src/build"
(cd "$work/src/build" &&
    PYTHONPATH="$meson_path" ../configure --prefix="$dest" "${CONFIGURE_FLAGS[@]}") >>"$log" 2>&1
say "building with ${QNS_JOBS:-$(nproc)} jobs (takes a few minutes)"
# Only what gets installed (the tools beside qemu-img come with
# --enable-tools): the whole tree would also build QEMU's tests.
installed_targets=$(PYTHONPATH="$meson_path" "$work/src/build/pyvenv/bin/meson" introspect \
    --installed "$work/src/build" | python3 -c '
import json, os, sys
build = sys.argv[1]
for f in json.load(sys.stdin):
    if f.startswith(build + "/"):
        print(os.path.relpath(f, build))' "$work/src/build")
# shellcheck disable=SC2086
PYTHONPATH="$meson_path" ninja -C "$work/src/build" -j "${QNS_JOBS:-$(nproc)}" \
    $installed_targets >>"$log" 2>&1
PYTHONPATH="$meson_path" "$work/src/build/pyvenv/bin/meson" install \
    -C "$work/src/build" --no-rebuild --destdir "$work/destdir" >>"$log" 2>&1
staged="$work/destdir$dest"
"$staged/bin/qemu-system-x86_64" --version >>"$log" 2>&1 ||
    die "the built qemu-system-x86_64 does not run"
"$staged/bin/qemu-img" --version >>"$log" 2>&1 || die "the built qemu-img does not run"
finished=$(date +%s)

{
    printf 'source-package: qemu\n'
    printf 'source-version: %s\n' "$version"
    cache_build_info_common "$key" "$script" "$started" "$finished"
    for p in "${patches[@]}"; do
        printf 'patch: %s sha256:%s\n' "$(basename "$p")" "$(sha256_of "$p")"
    done
    printf 'configure-flags: %s\n' "${CONFIGURE_FLAGS[*]}"
    printf 'meson: %s\n' "$(PYTHONPATH="$meson_path" python3 -c \
        'from mesonbuild import coredata; print(coredata.version)')"
} >"$staged/BUILD-INFO"

mv -T "$staged" "$dest"
say "installed $dest in $((finished - started)) s"
point_link "$dest"
