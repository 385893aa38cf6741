# shellcheck shell=bash
# image-cache.sh — sourced by build-guest.sh and build-debian.sh: how a
# guest image stands in the cache. An image is the folder CACHE/KEY; the
# builder that moved it in also leaves the mark CACHE/.built/KEY. A folder
# without the mark reached the cache some other way (an image imported by
# an older qns, a copy): its files prove nothing about the recipe KEY
# names, so it is never reused but moved aside, and the image is built.
#
#   image_cache_ready CACHE KEY        true when KEY is built and marked
#   image_cache_clear CACHE KEY WHO    (under the builder's lock) moves an
#                                      unmarked CACHE/KEY aside, saying so
#   image_cache_publish CACHE KEY DIR  moves DIR in as CACHE/KEY and marks it

image_cache_ready() {
    [ -f "$1/$2/GUEST-INFO" ] && [ -f "$1/.built/$2" ]
}

image_cache_clear() {
    local aside
    image_cache_ready "$1" "$2" && return 0
    if [ -e "$1/$2" ] || [ -L "$1/$2" ]; then
        aside=$(mktemp -d "$1/.not-built-here-$2.XXXXXX")
        mv -T "$1/$2" "$aside/image"
        echo "$3: $1/$2 was not built here (no $1/.built/$2); moved it to $aside/image and building it" >&2
    fi
}

image_cache_publish() {
    mkdir -p "$1/.built"
    mv -T "$3" "$1/$2" && : > "$1/.built/$2"
}
