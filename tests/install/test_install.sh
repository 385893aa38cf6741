#!/bin/bash
# test_install - installs a qns build into a fresh prefix, builds a user's
# programs against it twice, with find_package(qns) and with pkg-config:
# ping_node.c runs one default guest (each build must exit 0, the guest's
# ping must be answered, the capture must hold the echo reply, QEMU and the
# guest image must be the installed ones); ns3_classes.cc uses the ns-3
# classes from the installed headers; helper_ping.cc is an ns-3 program that
# includes "ns3/qns-module.h", as ns-3 programs include a module.
#
# Usage: test_install.sh BUILD_DIR WORK_DIR
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: test_install.sh BUILD_DIR WORK_DIR" >&2; exit 2; }
build=$1
work=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

fail() { echo "test_install: FAIL: $*" >&2; exit 1; }
step() { echo "test_install: $*"; }

rm -rf "$work"
mkdir -p "$work"
prefix=$(cd "$work" && pwd)/prefix

step "cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" ||
    fail "cmake --install failed (see $work/install.log)"
for f in lib/libqns.so lib/libqns_ns3.so lib/libqns_bridge.so lib/libqns_sync.so lib/libqns_capture.so \
    lib/libqns_record.so include/qns/qns.h include/qns/qns-sync-scheduler.h \
    include/qns/qns-helper.h include/qns/qns-guest.h include/qns/qns-guest-run.h include/qns/qns-rank-end.h \
    include/qns/qns-next-event.h include/qns/qns-lookahead.h include/qns/qns-bridge.h include/qns/qns_sync.h \
    include/qns/qns_guest.h include/qns/qns_capture.h bin/qns \
    lib/cmake/qns/qnsConfig.cmake lib/cmake/qns/qnsConfigVersion.cmake lib/pkgconfig/qns.pc \
    libexec/qns/qemu/bin/qemu-system-x86_64 share/qns/guest/GUEST-INFO \
    share/qns/guest/README.md include/ns3/qns-module.h include/ns3/qns-helper.h \
    include/ns3/qns.h include/ns3/qns_errbuf.h; do
    [ -f "$prefix/$f" ] || fail "$prefix/$f was not installed"
done
[ ! -e "$prefix/bin/qns-fake-guest" ] || fail "the test kit's fake guest was installed"
if [ -L "$prefix/libexec/qns/qemu" ] || [ -L "$prefix/share/qns/guest" ]; then
    fail "QEMU or the guest image was installed as a link, not copied"
fi

# GUEST-INFO's pointer to the qns.* kernel parameters resolves beside it.
grep -q "(see README.md)" "$prefix/share/qns/guest/GUEST-INFO" ||
    fail "GUEST-INFO no longer points to README.md"
grep -q "qns\.route" "$prefix/share/qns/guest/README.md" ||
    fail "the installed README.md does not document the qns.* parameters"

step "find_package(qns) build"
cmake -S "$here" -B "$work/cmake-build" -G Ninja -Wno-dev -DCMAKE_PREFIX_PATH="$prefix" \
    >"$work/cmake-build.log" 2>&1 || fail "configuring with find_package(qns) failed: $(tail -20 "$work/cmake-build.log")"
cmake --build "$work/cmake-build" >>"$work/cmake-build.log" 2>&1 ||
    fail "building with find_package(qns) failed: $(tail -20 "$work/cmake-build.log")"

step "pkg-config build"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs qns) || fail "pkg-config --cflags --libs qns failed"
libdir=$(pkg-config --variable=libdir qns)

# The installed runner finds the installed libraries (its RPATH).
out=$(env -u LD_LIBRARY_PATH "$prefix/bin/qns" --version) || fail "installed qns --version failed"
[ "$out" = "qns $(pkg-config --modversion qns)" ] || fail "installed qns --version printed '$out'"

# shellcheck disable=SC2086 # the flags are words
cc -o "$work/ping_node-pc" "$here/ping_node.c" $flags -Wl,-rpath,"$libdir" ||
    fail "building with pkg-config failed (flags: $flags)"
# shellcheck disable=SC2086
c++ -std=c++17 -o "$work/ns3_classes-pc" "$here/ns3_classes.cc" $flags -Wl,-rpath,"$libdir" ||
    fail "building ns3_classes with pkg-config failed (flags: $flags)"
# "ns3/qns-module.h" with pkg-config's flags too.
# shellcheck disable=SC2046
c++ -std=c++17 -c -o "$work/helper_ping-pc.o" "$here/helper_ping.cc" $(pkg-config --cflags qns) ||
    fail "compiling helper_ping with pkg-config failed (flags: $(pkg-config --cflags qns))"

# The ns-3 classes from the installed headers, registered by the library.
want='ns3::QnsSyncScheduler (parent ns3::Object)
ns3::QnsBridge (parent ns3::NetDevice)
ns3::QnsNextEvent (parent ns3::Object)
ns3::QnsGuest (parent ns3::Object)
ns3::QnsGuestRun (parent ns3::Object)
ns3::QnsRankEnd (parent ns3::Object)
bridge MTU 1500'
for prog in "$work/cmake-build/ns3_classes" "$work/ns3_classes-pc"; do
    out=$(env -u LD_LIBRARY_PATH "$prog" 2>&1) || fail "$prog exited with $?: $out"
    [ "$out" = "$want" ] || fail "$prog printed: $out"
done

# Each program: exit 0, installed QEMU and guest image, ping answered in
# the console, the echo reply in the guest NIC's capture.
run_one() {
    local name=$1 prog=$2 out="$work/out-$1"
    mkdir -p "$out"
    step "running $name"
    env -u QNS_QEMU -u QNS_GUEST_DIR -u LD_LIBRARY_PATH "$prog" "$out" >"$out/stdout" 2>&1 ||
        fail "$name exited with $?: $(cat "$out/stdout")"
    grep -qxF "qemu: $prefix/libexec/qns/qemu/bin/qemu-system-x86_64" "$out/stdout" ||
        fail "$name did not run the installed QEMU: $(cat "$out/stdout")"
    grep -qxF "guest image: $prefix/share/qns/guest" "$out/stdout" ||
        fail "$name did not boot the installed guest image: $(cat "$out/stdout")"
    grep -q "^h1 powered off at .* command status 0," "$out/stdout" ||
        fail "$name: no clean power-off: $(cat "$out/stdout")"
    grep -q "64 bytes from 10.0.0.2: seq=0" "$out/h1.console" ||
        fail "$name: the ping was not answered (console $out/h1.console)"
    grep -q "1 packets transmitted, 1 packets received, 0% packet loss" "$out/h1.console" ||
        fail "$name: ping did not report its echo (console $out/h1.console)"
    [ -s "$out/h1-nic0.pcap" ] || fail "$name: no capture $out/h1-nic0.pcap"
    local replies
    replies=$("${QNS_TSHARK:-tshark}" -r "$out/h1-nic0.pcap" -Y 'icmp.type == 0' -T fields -e ip.src 2>/dev/null) ||
        fail "$name: tshark cannot read $out/h1-nic0.pcap"
    [ "$replies" = "10.0.0.2" ] || fail "$name: echo replies in the capture: '$replies'"
    cat "$out/stdout"
}
run_one cmake "$work/cmake-build/ping_node"
run_one pkg-config "$work/ping_node-pc"

# Same program, same seed: the two builds give the same capture.
cmp -s "$work/out-cmake/h1-nic0.pcap" "$work/out-pkg-config/h1-nic0.pcap" ||
    fail "the two builds' captures differ"

# An ns-3 program of its own, a guest put in with QnsHelper.
step "running helper_ping"
mkdir -p "$work/out-helper"
(cd "$work/out-helper" && env -u QNS_QEMU -u QNS_GUEST_DIR -u LD_LIBRARY_PATH \
    "$work/cmake-build/helper_ping" >stdout 2>&1) ||
    fail "helper_ping exited with $?: $(cat "$work/out-helper/stdout")"
grep -q "^2 packets transmitted, 2 packets received, 0% packet loss" "$work/out-helper/h1.console" ||
    fail "helper_ping: the guest's pings (console $work/out-helper/h1.console)"
replies=$("${QNS_TSHARK:-tshark}" -r "$work/out-helper/h1-nic0.pcap" -Y 'icmp.type == 0' -T fields -e ip.src 2>/dev/null | sort -u) ||
    fail "helper_ping: tshark cannot read $work/out-helper/h1-nic0.pcap"
[ "$replies" = "10.0.0.2" ] || fail "helper_ping: echo replies in the capture: '$replies'"

# QNS_GUEST_DIR still overrides the installed image.
mkdir -p "$work/out-env"
if env -u QNS_QEMU QNS_GUEST_DIR="$work/no-guest" "$work/ping_node-pc" "$work/out-env" \
    >"$work/out-env/stdout" 2>&1; then
    fail "QNS_GUEST_DIR pointing at nothing was ignored"
fi
grep -qF "$work/no-guest/GUEST-INFO" "$work/out-env/stdout" ||
    fail "QNS_GUEST_DIR pointing at nothing: $(cat "$work/out-env/stdout")"
# So does QNS_QEMU the installed QEMU.
if env -u QNS_GUEST_DIR QNS_QEMU="$work/no-qemu" "$work/ping_node-pc" "$work/out-env" \
    >"$work/out-env/stdout" 2>&1; then
    fail "QNS_QEMU pointing at nothing was ignored"
fi
grep -qxF "ping_node: guest h1: cannot execute $work/no-qemu: No such file or directory" \
    "$work/out-env/stdout" || fail "QNS_QEMU pointing at nothing: $(cat "$work/out-env/stdout")"

# The installed runner looks for the installed QEMU too: without it, it
# names that path (and runs nothing).
mv "$prefix/libexec/qns/qemu" "$prefix/libexec/qns/qemu.away"
printf '[scenario]\nname = one\nduration = 10s\n\n[guest h1]\nnic0.ip = 10.0.0.1/24\n' \
    >"$work/one.ini"
status=0
env -u QNS_QEMU -u QNS_GUEST_DIR "$prefix/bin/qns" run "$work/one.ini" -o "$work/out-runner" \
    >"$work/runner.log" 2>&1 || status=$?
want="$work/one.ini:5: guest h1 needs QEMU, but '$prefix/libexec/qns/qemu/bin/qemu-system-x86_64' is not there (set QNS_QEMU)"
if [ "$status" -ne 2 ] || ! grep -qxF "$want" "$work/runner.log"; then
    fail "installed qns run without the installed QEMU exited $status: $(cat "$work/runner.log")"
fi

step "ok"
