#!/bin/bash
# test-guest.sh GUEST_DIR [QEMU] — smoke test of the default guest with plain
# QEMU (no ns-3, no -qqq): free-running icount, so it also runs with Debian's
# stock qemu-system-x86 (7.2) while the patched one is not built.
#
#  1. e1000 and virtio-net: boots, runs a command, prints the markers and
#     powers off; two runs give byte-identical consoles (uptime included).
#  2. a bad parameter ends in "QNS-GUEST: error: ..." and QEMU exits.
#  3. two guests (e1000 + virtio-net) over a QEMU socket netdev: ping, HTTP,
#     TCP and UDP echo, a 1 s iperf3 run. Two free-running guests are not
#     on one clock, so this part runs with icount sleep=on (virtual time
#     follows the wall clock).
#
# Prints one line per check and "N passed, N failed"; exits non-zero on a
# failure. Set QNS_TEST_KEEP=DIR to keep the consoles.
set -euo pipefail

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    echo "usage: $0 GUEST_DIR [QEMU]" >&2
    exit 2
fi
guest=$(cd "$1" && pwd)
qemu=${2:-qemu-system-x86_64}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
args=$here/qemu-args.sh
out=${QNS_TEST_KEEP:-$(mktemp -d)}
mkdir -p "$out"
[ -n "${QNS_TEST_KEEP:-}" ] || trap 'rm -rf "$out"' EXIT

kernel=$(sed -n 's/^kernel=//p' "$guest/GUEST-INFO")
initrd=$(sed -n 's/^initrd=//p' "$guest/GUEST-INFO")
mapfile -t base < <("$args" --base "$guest/$kernel" "$guest/$initrd")
cmdline=$("$args" --cmdline)
passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
b64() { printf '%s' "$1" | base64 -w0; }

# run NAME TIMEOUT CLOCK(sleep=off|sleep=on) APPEND [QEMU ARGS...]
run() {
    local name=$1 tmo=$2 sleep=$3 append=$4 rc=0 t0 t1
    shift 4
    t0=$(date +%s%N)
    timeout "$tmo" "$qemu" "${base[@]}" -icount "shift=1,$sleep" \
        -rtc clock=vm,base=2020-01-01T00:00:00 -seed 1 -serial stdio \
        -append "$cmdline $append" "$@" < /dev/null > "$out/$name.console" 2> "$out/$name.stderr" || rc=$?
    t1=$(date +%s%N)
    echo "$rc $(( (t1 - t0) / 1000000 ))" > "$out/$name.result"
}

hello=$(b64 'echo hello; uname -r; cat /proc/uptime')
for nic in e1000 virtio; do
    for i in 1 2; do
        run "$nic-$i" 300 sleep=off "qns.net=eth0,10.0.0.1/24 qns.cmd=$hello" \
            -netdev hubport,id=n0,hubid=0 \
            -device "$("$args" --nic "$nic" n0 52:54:00:00:00:01)"
    done
    read -r rc ms < "$out/$nic-1.result"
    c=$out/$nic-1.console
    if [ "$rc" = 0 ] && grep -q '^QNS-GUEST: ready ' "$c" && grep -q '^hello' "$c" &&
        grep -q '^QNS-CMD-END status=0 ' "$c"; then
        pass "$nic: boots, runs the command, powers off ($(grep -o 'QNS-CMD-END.*' "$c" | tr -d '\r'), ${ms} ms wall)"
    else
        fail "$nic: exit $rc, console: $(tr -d '\r' < "$c" | tail -3 | tr '\n' '|')"
    fi
    if cmp -s "$out/$nic-1.console" "$out/$nic-2.console"; then
        pass "$nic: two runs, byte-identical consoles"
    else
        fail "$nic: consoles differ: $(diff "$out/$nic-1.console" "$out/$nic-2.console" | head -4 | tr '\n' '|')"
    fi
done

run bad 120 sleep=off "qns.cmd=not!base64"
read -r rc _ < "$out/bad.result"
if [ "$rc" = 0 ] && grep -q '^QNS-GUEST: error: qns.cmd is not valid base64' "$out/bad.console"; then
    pass "bad qns.cmd: error marker, power-off"
else
    fail "bad qns.cmd: exit $rc, console: $(tr -d '\r' < "$out/bad.console" | tail -2 | tr '\n' '|')"
fi

# Two guests over a socket netdev. The server idles until it is killed.
port=$(( 20000 + $$ % 20000 ))
(
    run server 300 sleep=on \
        "qns.net=eth0,10.0.0.1/24 qns.hostname=server qns.services=httpd,tcp-echo,udp-echo,iperf3" \
        -netdev "socket,id=n0,listen=127.0.0.1:$port" \
        -device "$("$args" --nic e1000 n0 52:54:00:00:00:01)"
) &
server=$!
for _ in $(seq 1 600); do
    grep -q '^QNS-GUEST: idle' "$out/server.console" 2>/dev/null && break
    sleep 0.1
done
client_cmd='ping -c 3 10.0.0.1 | grep -c "bytes from"
wget -q -O - http://10.0.0.1/
echo tcp-hello | nc 10.0.0.1 7
echo udp-hello | timeout 10 socat - UDP4:10.0.0.1:7
iperf3 -c 10.0.0.1 -t 1 | grep -c receiver'
run client 300 sleep=on \
    "qns.net=eth0,10.0.0.2/24 qns.arp=10.0.0.1@52:54:00:00:00:01 qns.cmd=$(b64 "$client_cmd")" \
    -netdev "socket,id=n0,connect=127.0.0.1:$port" \
    -device "$("$args" --nic virtio n0 52:54:00:00:00:02)"
pkill -TERM -P "$server" timeout 2>/dev/null || true
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
c=$out/client.console
if tr -d '\r' < "$c" | grep -qx '3' && grep -q 'qns guest' "$c" && grep -q '^tcp-hello' "$c" &&
    grep -q '^udp-hello' "$c" && [ "$(tr -d '\r' < "$c" | grep -cx 1)" -ge 1 ]; then
    pass "two guests: ping 3/3, HTTP, TCP echo, UDP echo, iperf3"
else
    fail "two guests: client console: $(tr -d '\r' < "$c" | tail -8 | tr '\n' '|')"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
