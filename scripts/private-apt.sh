# shellcheck shell=bash
# Private apt configuration for fetching Debian packages and sources that the
# system's own sources do not list (trixie's QEMU source, bookworm's ns3
# source, bookworm-backports' meson, the guest's kernel), without touching
# /etc/apt. Source this file; it defines qns_cache_dir, qns_apt_get and
# qns_apt_cache.

qns_cache_dir() {
    printf '%s\n' "${QNS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/qns}"
}

# The Debian mirror every fetch goes to (packages, sources, debootstrap).
qns_debian_mirror() {
    printf '%s\n' "${QNS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
}

# qns_debian_sources SUITE: a sources.list for a guest's root file system,
# with the suite's updates and security fixes.
qns_debian_sources() {
    local mirror
    mirror=$(qns_debian_mirror)
    printf '%s\n' "deb $mirror $1 main" "deb $mirror $1-updates main" \
        "deb ${mirror%/debian}/debian-security $1-security main"
}

qns_apt_root() {
    printf '%s/apt\n' "$(qns_cache_dir)"
}

qns_apt_opts() {
    local root
    root=$(qns_apt_root)
    printf '%s\n' \
        "-o" "Dir::Etc::SourceList=$root/sources.list" \
        "-o" "Dir::Etc::SourceParts=/dev/null" \
        "-o" "Dir::State::Lists=$root/lists" \
        "-o" "Dir::Cache=$root/cache" \
        "-o" "APT::Get::List-Cleanup=0" \
        "-o" "APT::Sandbox::User=root"
}

# qns_apt_setup: write the private sources list and refresh its index at most
# once per QNS_APT_MAX_AGE seconds (default a day), so repeated builds stay fast.
qns_apt_setup() {
    local root keyring stamp age max
    root=$(qns_apt_root)
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    mkdir -p "$root/lists/partial" "$root/cache/archives/partial"
    cat > "$root/sources.list.new" <<SOURCES
deb-src [signed-by=$keyring] http://deb.debian.org/debian trixie main
deb-src [signed-by=$keyring] http://deb.debian.org/debian bookworm main
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm main
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm-updates main
deb [signed-by=$keyring] http://deb.debian.org/debian-security bookworm-security main
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm-backports main
SOURCES
    stamp="$root/updated"
    if ! cmp -s "$root/sources.list.new" "$root/sources.list"; then
        mv "$root/sources.list.new" "$root/sources.list"
        rm -f "$stamp"
    else
        rm -f "$root/sources.list.new"
    fi
    max=${QNS_APT_MAX_AGE:-86400}
    if [ -f "$stamp" ]; then
        age=$(( $(date +%s) - $(stat -c %Y "$stamp") ))
        [ "$age" -lt "$max" ] && return 0
    fi
    local opts
    mapfile -t opts < <(qns_apt_opts)
    apt-get -q "${opts[@]}" update >&2 || { echo "error: private apt update failed" >&2; return 1; }
    touch "$stamp"
}

qns_apt_get() {
    local opts
    mapfile -t opts < <(qns_apt_opts)
    apt-get -q "${opts[@]}" "$@"
}

qns_apt_cache() {
    local opts
    mapfile -t opts < <(qns_apt_opts)
    apt-cache "${opts[@]}" "$@"
}
