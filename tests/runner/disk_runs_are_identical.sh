#!/bin/sh
# disk_runs_are_identical.sh QNS
#
# Two default guests on a LAN; h1 reads the first 4 MiB of its disk (an
# 8 MiB raw image of a fixed byte pattern made here), prints their MD5 and
# pings h2. `qns run` runs the scenario twice as separate processes, the
# second while two CPU hogs compete with it: every output file (pcaps,
# consoles) must be byte-identical, and the MD5 the guest printed must be
# that of the image's first 4 MiB. Without deterministic block completions
# the disk's interrupts land at host-dependent virtual instants and the
# captures and consoles differ.
set -eu
qns=$1
dir=run-disk-identical
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"

fail() { echo "FAIL: $*" >&2; exit 1; }

# 8 MiB of decimal numbers, one a line: the same bytes on every machine.
seq 1 2000000 | head -c 8388608 > disk.img
[ "$(stat -c %s disk.img)" = 8388608 ] || fail "disk.img is not 8 MiB"
want=$(head -c 4194304 disk.img | md5sum | cut -d' ' -f1)

cat > disk.ini <<'INI'
[scenario]
name = disk
duration = 30s
quantum = 100us

[guest h1]
disk = disk.img
command = dd if=/dev/vda bs=64k count=64 | md5sum; ping -c 3 -i 0.2 10.0.0.2
ends_run = true
nic0.ip = 10.0.0.1/24

[guest h2]
nic0.ip = 10.0.0.2/24

[link lan]
members = h1, h2
capture = true
INI

"$qns" run -q disk.ini -o a > a.log 2>&1 || { cat a.log >&2; fail "first run failed"; }

hogs=""
for _ in 1 2; do
    sh -c 'while :; do :; done' &
    hogs="$hogs $!"
done
# shellcheck disable=SC2086
trap 'kill $hogs 2>/dev/null || true' EXIT
"$qns" run -q disk.ini -o b > b.log 2>&1 || { cat b.log >&2; fail "second run failed"; }
# shellcheck disable=SC2086
kill $hogs
wait 2>/dev/null || true
trap - EXIT

n=0
for f in a/*.pcap a/*.console; do
    [ -f "$f" ] || fail "no output $f"
    g=b/${f#a/}
    cmp "$f" "$g" || fail "$f and $g differ"
    n=$((n + 1))
done
[ "$(ls b/*.pcap b/*.console | wc -l)" = "$n" ] || fail "the runs wrote different files"

got=$(sed -n 's/^\([0-9a-f]\{32\}\)  -.*/\1/p' a/h1.console | head -n 1)
[ -n "$got" ] || { cat a/h1.console >&2; fail "h1 printed no md5sum"; }
[ "$got" = "$want" ] || fail "h1 read md5 $got, the image's first 4 MiB have $want"
grep -q '3 packets transmitted, 3 packets received' a/h1.console ||
    { cat a/h1.console >&2; fail "h1's pings did not all come back"; }
echo "disk runs identical: $n files match, md5 $got"
