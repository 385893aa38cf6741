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
#
# Then the same scenario as it is (boot = auto: restored), each process with
# a cache of its own (the image linked in): the first run boots the image once, until
# its agent waits for its configuration, and saves it (RAM, devices and the
# root disk's qcow2 overlay); both guests restore that one snapshot and fetch
# the same file. `qns verify` of that run, under load and with an empty
# cache, makes the snapshot again: every file of it is the same bytes, and so
# is every output. `qns pack` carries the snapshot, overlay included, and
# its package verifies on an empty cache without booting. An overlay that
# asks for an external data file is refused before QEMU opens it.
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
# The cold boot first: boot = cold in each guest (the default restores them).
sed '/^\[guest /a boot = cold' http.ini > cold.ini

start=$(date +%s)
"$qns" run -q cold.ini -o a > a.log 2>&1 || { cat a.log >&2; fail "the run failed"; }
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

# --- boot = auto: restored from a snapshot --------------------------------------------
cp http.ini snap.ini
own_cache() {
    rm -rf "$1"
    mkdir -p "$1/guest"
    ln -s "$image" "$1/guest/$key"
}
own_cache c1
start=$(date +%s)
QNS_CACHE_DIR=$PWD/c1 "$qns" run -q snap.ini -o s > s.log 2>&1 || { cat s.log >&2; fail "the run from a snapshot failed"; }
echo "snapshot made and restored: $(( $(date +%s) - start )) s wall"
grep -q "^HTTP 200, 1300000 bytes" s/cli.console || { tail -n 30 s/cli.console >&2; fail "restored cli's fetch was not HTTP 200 with 1300000 bytes"; }
grep -q "^$want  /tmp/data.bin" s/cli.console || fail "restored cli's file does not have SHA-256 $want"
grep -q 'QNS-CMD-END status=0' s/cli.console || fail "restored cli's command did not end with status 0"
for g in srv cli; do
    grep -q '^QNS-GUEST: configured ' "s/$g.console" || fail "$g did not read its configuration after the restore"
done
snaps=$(python3 - s/manifest.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(" ".join(g["boot"] + ":" + g.get("snapshot", "") + ":" + g.get("snapshot_disk_sha256", "") for g in m["guests"]))
PY
)
read -r g1 g2 <<<"$snaps"
[ "$g1" = "$g2" ] && [[ $g1 =~ ^snapshot:[0-9a-f]{64}:[0-9a-f]{64}$ ]] ||
    fail "both guests should be restored from one snapshot with a disk overlay, the manifest says: $snaps"
skey=$(cut -d: -f2 <<<"$g1")
sdir=c1/snapshot/$skey
[ "$(sha256sum < "$sdir/disk.qcow2" | cut -d' ' -f1)" = "$(cut -d: -f3 <<<"$g1")" ] ||
    fail "$sdir/disk.qcow2 is not the manifest's"
grep -qx 'word root-disk' "$sdir/INPUTS" || fail "$sdir/INPUTS does not name the root disk"
list=$(QNS_CACHE_DIR=$PWD/c1 "$qns" snapshot list) || fail "qns snapshot list failed"
grep -Eq "^$skey  .*  512M, 1 NIC \(virtio-net-pci\), root disk\$" <<<"$list" ||
    { echo "$list" >&2; fail "qns snapshot list does not show $skey with its root disk"; }
start=$(date +%s)
QNS_CACHE_DIR=$PWD/c1 "$qns" run -q snap.ini -o s2 > s2.log 2>&1 || { cat s2.log >&2; fail "the second run from the snapshot failed"; }
echo "restored from the cached snapshot: $(( $(date +%s) - start )) s wall"

own_cache c2
cpu_load_start 2
QNS_CACHE_DIR=$PWD/c2 "$qns" verify s -o sv > sv.log 2>&1 || { cpu_load_stop; cat sv.log >&2; fail "verify of the snapshot run under load failed"; }
cpu_load_stop
grep -q '^verify: OK' sv.log || { cat sv.log >&2; fail "verify of the snapshot run did not say OK"; }
for f in INPUTS console stream ram disk.qcow2; do
    cmp "$sdir/$f" "c2/snapshot/$skey/$f" || fail "the snapshot's $f differs between two makes"
done
n=0
for f in s/*.pcap s/*.console; do
    cmp "$f" "s2/${f#s/}" || fail "$f and s2/${f#s/} differ"
    cmp "$f" "sv/${f#s/}" || fail "$f and sv/${f#s/} differ"
    n=$((n + 1))
done
[ "$n" -eq 6 ] || fail "expected 6 pcaps and consoles from the snapshot run, found $n"
echo "debian snapshot runs identical: $n files match, snapshot $skey made twice the same"

# The package carries the snapshot with its overlay; verify on an empty
# cache restores from it without booting the image.
QNS_CACHE_DIR=$PWD/c1 "$qns" pack s > pack.log 2>&1 || { cat pack.log >&2; fail "qns pack of the snapshot run failed"; }
packed=$(tar --zstd -tf s.tar.zst) || fail "cannot list s.tar.zst"
grep -qx "s/snapshot/$skey/disk.qcow2" <<<"$packed" ||
    fail "the package does not carry snapshot/$skey/disk.qcow2"
rm -rf pk c3 && mkdir pk c3 && mv s.tar.zst pk/
(cd pk && QNS_CACHE_DIR=$PWD/../c3 "$qns" verify s.tar.zst -o pv > ../pv.log 2>&1) ||
    { cat pv.log >&2; fail "verify of the package on an empty cache failed"; }
grep -qx "verify: restoring from the packed snapshots" pv.log &&
    grep -q "^verify: OK" pv.log || { cat pv.log >&2; fail "the package did not verify from its snapshot"; }
[ ! -e "c3/snapshot/$skey" ] || fail "verify booted the image although the package carries its snapshot"
echo "the package verifies from its snapshot: $(grep '^verify: OK' pv.log)"

# An overlay that names an external data file (qcow2 incompatible feature
# bit 2) would have QEMU open a file of the image's choosing: refused.
printf '\x04' | dd of="$sdir/disk.qcow2" bs=1 seek=79 conv=notrunc status=none
rc=0
QNS_CACHE_DIR=$PWD/c1 "$qns" run -q snap.ini -o bad > bad.log 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a run from an overlay with an external data file succeeded"
grep -qx "snap.ini:[0-9]*: guest srv: snapshot: $PWD/$sdir/disk.qcow2 has qcow2 features qns does not take (an external data file, or unknown ones)" bad.log ||
    { cat bad.log >&2; fail "the bad overlay was not refused with its line"; }
[ ! -e bad ] || fail "a refused run left a results folder"
echo "an overlay with an external data file: refused (exit $rc)"
