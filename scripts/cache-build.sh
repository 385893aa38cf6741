# shellcheck shell=bash
# cache-build.sh — sourced by qemu-patch/build-qemu.sh and
# scripts/build-ns3-mpi.sh: how a slow artefact is built once into the qns
# cache, under a key of its inputs, and reused from there.
#
# The sourcing script sets, before it calls any of these:
#   CACHE_BUILD_NAME  its message prefix (qns-qemu, qns-ns3-mpi)
#   link              the symlink it was asked to point at the build
#   root              its folder in the cache (builds are root/KEY)
#
#   say MSG / die MSG         one line on stderr (die exits 1)
#   sha256_of FILE            the file's SHA-256, hex
#   cache_build_recipe SCRIPT the key's lines for the recipe: the script and
#                             this helper, each by SHA-256
#   point_link DEST           makes $link point to DEST, atomically
#   cache_build_lock CHECK DEST
#                             waits for the cache's build lock (held until
#                             the script ends) and clears leftovers of killed
#                             builds; true when CHECK DEST says another run
#                             built DEST meanwhile
#   fetch_source PKG VERSION  the Debian source package PKG=VERSION, fetched
#                             once per version into $root/src/VERSION through
#                             the private apt configuration; prints its .dsc
#   cache_build_workdir KEY   makes $work (a temporary folder in $root) and
#                             $log in it; on a failed exit the log is kept as
#                             $root/last-failed-build.log and its end shown
#   cache_build_info_common KEY SCRIPT STARTED FINISHED
#                             BUILD-INFO's lines every build has

say() { printf '%s: %s\n' "$CACHE_BUILD_NAME" "$*" >&2; }
die() { say "error: $*"; exit 1; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

cache_build_recipe() {
    printf 'script %s\n' "$(sha256_of "$1")"
    printf 'helper %s\n' "$(sha256_of "${BASH_SOURCE[0]}")"
}

point_link() {
    local tmp_link
    mkdir -p "$(dirname "$link")"
    tmp_link="$link.new.$$"
    ln -sfn "$1" "$tmp_link"
    mv -Tf "$tmp_link" "$link"
    say "$link -> $1"
}

cache_build_lock() {
    exec {cache_build_lock_fd}>"$root/.lock"
    if ! flock -n "$cache_build_lock_fd"; then
        say "waiting for another build to finish"
        flock "$cache_build_lock_fd"
    fi
    "$1" "$2" && return 0              # built by the run we waited for
    # Holding the lock, no other build is running: leftovers are from killed runs.
    rm -rf "$root"/.build-*
    return 1
}

fetch_source() {
    local pkg=$1 version=$2 dir="$root/src/$2"
    if ! ls "$dir/${pkg}"_*.dsc >/dev/null 2>&1; then
        say "downloading the $pkg $version source package"
        qns_apt_setup
        rm -rf "$dir.partial"
        mkdir -p "$dir.partial"
        (cd "$dir.partial" && qns_apt_get source --download-only "$pkg=$version" >&2) ||
            die "cannot download the $pkg $version source package"
        rm -rf "$dir"
        mv "$dir.partial" "$dir"
    fi
    ls "$dir/${pkg}"_*.dsc
}

cache_build_cleanup() {
    local rc=$?
    if [ "$rc" -ne 0 ] && [ -f "$log" ]; then
        cp "$log" "$root/last-failed-build.log"
        say "build failed; log: $root/last-failed-build.log"
        tail -n 30 "$log" >&2 || true
    fi
    rm -rf "$work"
}

cache_build_workdir() {
    work=$(mktemp -d "$root/.build-$1.XXXXXX")
    log="$work/build.log"
    trap cache_build_cleanup EXIT
}

cache_build_info_common() {
    printf 'key: %s\n' "$1"
    printf 'build-script: sha256:%s\n' "$(sha256_of "$2")"
    printf 'build-helper: sha256:%s\n' "$(sha256_of "${BASH_SOURCE[0]}")"
    printf 'built: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf 'build-seconds: %s\n' "$(($4 - $3))"
}
