#!/bin/bash
# files_in_the_guest.sh QNS
#
# A default guest (h1, on a LAN with h2) gets a small script (mode 0755) and a folder with a config
# file through `files =`, without an image of its own: its command lists
# them, prints the config and runs the script. The console must show the
# config's exact bytes, the modes -rwxr-xr-x and -rw-r--r-- and the script's
# output, and its ping of h2 is answered. `qns run` runs the scenario twice
# as separate processes, the second while two CPU hogs compete with it:
# every output file is byte-identical. Then the run is packed, the originals are
# removed, and `qns verify` of the package re-runs it from the packed files
# with the same outputs.
set -eu
qns=$1
# shellcheck source=../cpu-load.sh
source "$(dirname "$0")/../cpu-load.sh"
dir=run-files-in-guest
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"

fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p src/conf
# shellcheck disable=SC2016  # $0 and $* are the guest script's
printf '#!/bin/sh\necho "hello from $0, args: $*"\n' > src/hello.sh
chmod 0755 src/hello.sh
printf 'greeting = hello\nrepeat = 3\n' > src/conf/hello.conf
chmod 0600 src/conf/hello.conf   # packed as 0644 all the same

cat > files.ini <<'INI'
[scenario]
name = files
duration = 30s

[guest h1]
files = src/hello.sh:/usr/local/bin/hello.sh, src/conf:/etc/hello
command = ls -l /usr/local/bin/hello.sh /etc/hello/hello.conf; echo CONF-BEGIN; cat /etc/hello/hello.conf; echo CONF-END; /usr/local/bin/hello.sh one two; ping -c 1 10.0.0.2
ends_run = true
nic0.ip = 10.0.0.1/24

[guest h2]
nic0.ip = 10.0.0.2/24

[link lan]
members = h1, h2
capture = true
INI

"$qns" run -q files.ini -o a > a.log 2>&1 || { cat a.log >&2; fail "first run failed"; }
cpu_load_start 2
"$qns" run -q files.ini -o b > b.log 2>&1 || { cpu_load_stop; cat b.log >&2; fail "second run failed"; }
cpu_load_stop

n=0
for f in a/*.console a/*.pcap; do
    [ -f "$f" ] || continue
    g=b/${f#a/}
    cmp "$f" "$g" || fail "$f and $g differ"
    n=$((n + 1))
done
[ "$n" = 6 ] || fail "$n outputs, not 2 consoles and 4 captures"
[ "$(ls b/*.console b/*.pcap 2>/dev/null | wc -l)" = "$n" ] || fail "the runs wrote different files"

tr -d '\r' < a/h1.console > console.txt
grep -Eq '^-rwxr-xr-x +1 root +root +[0-9]+ .* /usr/local/bin/hello.sh$' console.txt ||
    { cat console.txt >&2; fail "hello.sh is not -rwxr-xr-x root root"; }
grep -Eq '^-rw-r--r-- +1 root +root +[0-9]+ .* /etc/hello/hello.conf$' console.txt ||
    { cat console.txt >&2; fail "hello.conf is not -rw-r--r-- root root"; }
sed -n '/^CONF-BEGIN$/,/^CONF-END$/p' console.txt | sed '1d;$d' > conf.seen
cmp conf.seen src/conf/hello.conf || { cat console.txt >&2; fail "the guest read other bytes of hello.conf"; }
grep -qx 'hello from /usr/local/bin/hello.sh, args: one two' console.txt ||
    { cat console.txt >&2; fail "hello.sh did not run"; }
grep -q '1 packets transmitted, 1 packets received' console.txt ||
    { cat console.txt >&2; fail "h1's ping did not come back"; }
grep -q '"status" : "completed"' a/manifest.json || fail "the run is not completed"
for f in src/hello.sh src/conf/hello.conf; do
    sum=$(sha256sum < "$f" | cut -c1-64)
    grep -q "/$f\" : \"$sum\"" a/manifest.json || fail "the manifest has no input $f with $sum"
done

# From the package alone: the originals are gone.
"$qns" pack a > pack.log 2>&1 || { cat pack.log >&2; fail "pack failed"; }
mkdir elsewhere
mv a.tar.zst elsewhere/
rm -r src
"$qns" verify elsewhere/a.tar.zst > verify.log 2>&1 || { cat verify.log >&2; fail "verify failed"; }
grep -q '^verify: running from the packed guest image, inputs$' verify.log ||
    { cat verify.log >&2; fail "verify did not run from the packed inputs"; }
grep -q '^verify: OK: all 6 files match' verify.log || { cat verify.log >&2; fail "verify: not OK"; }
echo "files in the guest: $n files identical, modes and content as shipped, verified from the package"
