#!/bin/bash
# test_debian.sh QNS SOURCE_DIR — a Debian image with systemd, driven and
# deterministic like the default guest.
#
# Builds (or takes from the cache) a Debian bookworm image with curl and
# python3 (scenarios/guests/debian/build-debian.sh), then runs
# scenarios/debian_http.ini with it: srv serves a 1.3 MB file with python3's
# http.server, cli writes 8 MiB of its kernel's random bytes to its disk
# (fsync), fetches the file with curl and prints its SHA-256. The run is
# made once, then re-run by `qns verify` as a separate process while two CPU
# hogs compete with it: verify must report every output the same, and every
# pcap and console of the two folders must be byte-identical. The fetch must
# be HTTP 200 with the file's exact SHA-256 (computed here the way srv makes
# the file), and the guests' boot must be the recipe's systemd boot.
set -euo pipefail
qns=$1
src=$2
dir=run-debian
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"

fail() { echo "FAIL: $*" >&2; exit 1; }
# shellcheck source=../cpu-load.sh
source "$src/tests/cpu-load.sh"

image=$("$src/scenarios/guests/debian/build-debian.sh" --package curl,python3) ||
    fail "build-debian.sh failed"
key=$(basename "$image")
grep -q '^kind=debian$' "$image/GUEST-INFO" || fail "$image/GUEST-INFO is not a Debian image's"
# The kernel uncompressed, booted through its PVH entry (about 9 s of
# virtual time less than the bzImage decompressing itself).
grep -q '^kernel_boot=pvh$' "$image/GUEST-INFO" && [ -f "$image/vmlinux" ] ||
    fail "$image does not boot its kernel through PVH (vmlinux)"
# The whole list first: grep -q stops reading at its match, which would end
# qns guest list with SIGPIPE (a failure under pipefail) when lines follow.
list=$("$qns" guest list) || fail "qns guest list failed"
grep -Eq "^$key  .*  \(debian: curl python3\)\$" <<<"$list" ||
    { echo "$list" >&2; fail "qns guest list does not show $key as a Debian image with curl and python3"; }
sed "s/^guest_image = .*/guest_image = $key/" "$src/scenarios/debian_http.ini" > http.ini

start=$(date +%s)
"$qns" run -q http.ini -o a > a.log 2>&1 || { cat a.log >&2; fail "the run failed"; }
echo "first run: $(( $(date +%s) - start )) s wall"

want=$(python3 -c 'import random, hashlib, sys; random.seed(1); print(hashlib.sha256(random.randbytes(1300000)).hexdigest())')
grep -q "^HTTP 200, 1300000 bytes" a/cli.console || { tail -n 30 a/cli.console >&2; fail "cli's fetch was not HTTP 200 with 1300000 bytes"; }
grep -q "^$want  /tmp/data.bin" a/cli.console || { tail -n 30 a/cli.console >&2; fail "cli's file does not have SHA-256 $want"; }
grep -q 'systemd\[1\]: systemd 252' a/srv.console || fail "srv did not boot systemd"
grep -q 'QNS-CMD-END status=0' a/cli.console || fail "cli's command did not end with status 0"

start=$(date +%s)
cpu_load_start 2
"$qns" verify a -o b > b.log 2>&1 || { cpu_load_stop; cat b.log >&2; fail "verify under load failed"; }
cpu_load_stop
echo "verify under load: $(( $(date +%s) - start )) s wall"
grep -q '^verify: OK' b.log || { cat b.log >&2; fail "verify did not say OK"; }

n=0
for f in a/*.pcap a/*.console; do
    g=b/${f#a/}
    cmp "$f" "$g" || fail "$f and $g differ"
    n=$((n + 1))
done
[ "$n" -eq 6 ] || fail "expected 6 pcaps and consoles, found $n"
sha256sum a/*.pcap a/*.console
echo "debian runs identical: $n files match, fetched $want"
