#!/bin/bash
# The image builders reuse only cache folders they made: an image folder
# without its builder's mark (planted by an older qns's import, or copied
# in) is moved aside and rebuilt, never booted as the recipe's key.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../scenarios/guests/default/image-cache.sh
source "$src/scenarios/guests/default/image-cache.sh"
fail() { echo "test_image_cache: FAIL: $*" >&2; exit 1; }

cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
key=4ce49698c8d461135508eff3145126b1343ed08b97ea4d1b4a9e90047dcc56cc

# A planted image under the genuine key: not ready, moved aside, named.
mkdir "$cache/$key"
echo "[guest]" > "$cache/$key/GUEST-INFO"
echo TROJAN > "$cache/$key/vmlinux"
! image_cache_ready "$cache" "$key" || fail "an unmarked folder counts as built"
msg=$(image_cache_clear "$cache" "$key" build-guest 2>&1)
[ ! -e "$cache/$key" ] || fail "the unmarked folder is still in place"
aside=$(echo "$cache"/.not-built-here-"$key".*)
[ "$(cat "$aside/image/vmlinux")" = TROJAN ] || fail "the planted image was not kept aside"
want="build-guest: $cache/$key was not built here (no $cache/.built/$key); moved it to $aside/image and building it"
[ "$msg" = "$want" ] || fail "message: '$msg', want '$want'"

# A built image: published, marked, ready; clearing leaves it alone.
img=$(mktemp -d "$cache/.build.XXXXXX")
echo "[guest]" > "$img/GUEST-INFO"
image_cache_publish "$cache" "$key" "$img"
image_cache_ready "$cache" "$key" || fail "a published image is not ready"
[ -z "$(image_cache_clear "$cache" "$key" build-guest 2>&1)" ] || fail "a marked image was cleared"
[ -f "$cache/$key/GUEST-INFO" ] || fail "a marked image was moved"
# Both builders go through these functions.
for s in scenarios/guests/default/build-guest.sh scenarios/guests/debian/build-debian.sh; do
    [ "$(grep -c 'image_cache_\(ready\|clear\|publish\)' "$src/$s")" -eq 4 ] ||
        fail "$s does not reuse, clear and publish through image-cache.sh"
done
echo "test_image_cache: ok"
