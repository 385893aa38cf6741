#!/bin/bash
# The ns-3 examples (ns3-module/examples/), run as a user runs them, with the
# real default guest:
# - qns-wifi-adhoc-iperf twice, the second time under CPU load: the same
#   iperf3 report and every output file byte for byte the same; the radio
#   captures are radiotap and carry the iperf3 stream;
# - qns-wifi-station-ap: the guest station pings the wired server behind the
#   access point and its UDP datagram is echoed back by ns-3's UdpEchoServer;
# - qns-csma-global-routing: the guest pings across the router; the ns-3
#   host's five UDP echoes come back from the other guest;
# - ns-3's TapBridge virtual-machine examples ported to qns, each under
#   ns-3's RealtimeSimulatorImpl as the originals: qns-csma-virtual-machine
#   and qns-wifi-virtual-machine (guest left pings guest right over CSMA,
#   over ad-hoc 802.11a), qns-wifi-dumbbell (the guest in the access point's
#   place pings a station, then a node across the point-to-point link).
# Each at a 1 ms quantum (outputs do not depend on it), set as any ns-3
# attribute default on the command line.
set -euo pipefail
# shellcheck source=../cpu-load.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cpu-load.sh"

[ $# -eq 2 ] || { echo "usage: test_examples.sh BUILD_DIR WORK_DIR" >&2; exit 2; }
examples=$1/ns3-module/examples
work=$2
tshark=${QNS_TSHARK:-tshark}

fail() { echo "test_examples: FAIL: $*" >&2; exit 1; }
step() { echo "test_examples: $*"; }

rm -rf "$work"
mkdir -p "$work"

run() {
    local name=$1 out=$2
    shift 2
    mkdir -p "$out"
    step "running $name into $out"
    "$examples/$name" --outDir="$out" --ns3::QnsSyncScheduler::Quantum=1ms "$@" >"$out/stdout" 2>&1 ||
        fail "$name exited with $?: $(cat "$out/stdout")"
    grep -q ", 0 late frames" "$out/stdout" || fail "$name: $(cat "$out/stdout")"
    cat "$out/stdout"
}

count() { # FILE FILTER: how many frames of the capture match
    "$tshark" -r "$1" -Y "$2" -T fields -e frame.number 2>/dev/null | wc -l
}

# ---- Wi-Fi ad hoc, iperf3: twice, the second under load ---------------------
run qns-wifi-adhoc-iperf "$work/wifi-1"
cpu_load_start 2
run qns-wifi-adhoc-iperf "$work/wifi-2"
cpu_load_stop

receiver=$(tr -d '\r' <"$work/wifi-1/client.console" | grep -E "sec .* receiver$") ||
    fail "no iperf3 receiver line in $work/wifi-1/client.console"
mbits=$(echo "$receiver" | sed -E 's/.* ([0-9.]+) Mbits\/sec.*/\1/')
echo "test_examples: iperf3 over 802.11n ad hoc: $mbits Mbit/s"
awk -v m="$mbits" 'BEGIN { exit !(m > 20 && m < 65) }' ||
    fail "iperf3 reported $mbits Mbit/s over a 65 Mbit/s link"
files=$(cd "$work/wifi-1" && ls | grep -v '^stdout$')
[ "$(echo "$files" | wc -l)" -eq 6 ] || fail "wifi outputs: $files"
for f in $files; do
    cmp -s "$work/wifi-1/$f" "$work/wifi-2/$f" || fail "$f differs between the two runs"
    sha256sum "$work/wifi-1/$f" | sed "s|$work/wifi-1/||"
done
diff <(sed -E 's/ in [0-9.]+ s wall//' "$work/wifi-1/stdout") \
    <(sed -E 's/ in [0-9.]+ s wall//' "$work/wifi-2/stdout") >/dev/null ||
    fail "the two runs printed different summaries"
encap=$("$tshark" -r "$work/wifi-1/air-0-0.pcap" -c 1 -T fields -e frame.encap_type)
[ "$encap" = 23 ] || fail "air-0-0.pcap: encapsulation $encap, not IEEE 802.11 plus radiotap (23)"
data=$(count "$work/wifi-1/air-0-0.pcap" "tcp.dstport == 5201 && tcp.len > 1000")
[ "$data" -gt 1000 ] || fail "air-0-0.pcap: $data iperf3 data frames"

# ---- a guest station behind an access point -----------------------------------
run qns-wifi-station-ap "$work/sta"
grep -q "^3 packets transmitted, 3 packets received, 0% packet loss" <(tr -d '\r' <"$work/sta/sta.console") ||
    fail "the station's pings: $(cat "$work/sta/sta.console")"
grep -qx "qns-over-wifi" <(tr -d '\r' <"$work/sta/sta.console") ||
    fail "no UDP echo from the wired server: $(cat "$work/sta/sta.console")"
echoes=$(count "$work/sta/lan-2-0.pcap" "ip.src == 10.0.2.2 && udp.srcport == 7")
[ "$echoes" = 1 ] || fail "lan-2-0.pcap: $echoes UDP echoes from the server"
replies=$(count "$work/sta/sta-nic0.pcap" "icmp.type == 0 && ip.src == 10.0.2.2")
[ "$replies" = 3 ] || fail "sta-nic0.pcap: $replies echo replies"

# ---- guests and ns-3 nodes, global routing ------------------------------------
run qns-csma-global-routing "$work/lan"
grep -qx "qns-csma-global-routing: 5 of 5 echoes back at the host" "$work/lan/stdout" || fail "$(cat "$work/lan/stdout")"
grep -q "^3 packets transmitted, 3 packets received, 0% packet loss" <(tr -d '\r' <"$work/lan/h1.console") ||
    fail "h1's pings: $(cat "$work/lan/h1.console")"
echoed=$(count "$work/lan/h2-nic0.pcap" "ip.src == 10.1.1.2 && udp.srcport == 7 && ip.dst == 10.1.2.2")
[ "$echoed" = 5 ] || fail "h2-nic0.pcap: $echoed echoes to the host"
# ---- ns-3's TapBridge virtual-machine examples, ported ---------------------------
# They write into the current folder and say nothing; a failed run exits 1.
run_vm() {
    local name=$1 out=$2
    mkdir -p "$out"
    step "running $name in $out"
    (cd "$out" && "$examples/$name" --ns3::QnsSyncScheduler::Quantum=1ms >stdout 2>&1) ||
        fail "$name exited with $?: $(cat "$out/stdout")"
}
pings() { # CONSOLE TARGET: ping's summary of 3 echoes to TARGET, all answered
    tr -d '\r' <"$1" | grep -A1 -x -- "--- $2 ping statistics ---" |
        grep -qx "3 packets transmitted, 3 packets received, 0% packet loss" ||
        fail "$1: the pings to $2: $(cat "$1")"
}
run_vm qns-csma-virtual-machine "$work/csma-vm"
pings "$work/csma-vm/left.console" 10.1.1.2
run_vm qns-wifi-virtual-machine "$work/wifi-vm"
pings "$work/wifi-vm/left.console" 10.1.1.2
run_vm qns-wifi-dumbbell "$work/dumbbell"
pings "$work/dumbbell/host.console" 10.1.1.3
pings "$work/dumbbell/host.console" 10.1.3.4
[ -s "$work/dumbbell/qns-wifi-dumbbell-7-0.pcap" ] || fail "no pcap of the CSMA LAN's node 7"
step "PASS"
