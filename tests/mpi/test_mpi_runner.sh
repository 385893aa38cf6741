#!/bin/bash
# qns run across MPI ranks, the way users run it:
#  1. scenarios/two_sites.ini as one process, then with mpirun -np 2 (under
#     CPU load): every output file byte-identical, both ended at the same
#     instant (the power-off of a at its end rule, QnsRankEnd), rank 1's
#     packet sink bytes in rank 0's manifest, and qns verify of the two-rank
#     folder (a one-process re-run) matches; the ranks' rounds fall at the
#     same instants, no more than 1.5 times as many as one process's;
#     the same with [scenario] ranks = 2 (qns partitions) instead of rank keys;
#     the same with both guests restored from a snapshot; a frame between
#     ranks that are otherwise idle reaches its guest in time;
#  2. a guest that dies on rank 1 ends the run on rank 0 too, at once (the
#     abort message): exit 1, the guest named, end time just after its death;
#     likewise a guest rank 1 cannot start, and a guest image missing on
#     rank 1's machine (one line from each, exit 2, no hang);
#  3. mpirun with as many processes as the scenario has no ranks for, and
#     another command than run: one clear line, exit 2; flow_monitor across
#     ranks: one clear line, exit 1, no guest started.
set -euo pipefail
# shellcheck source=../cpu-load.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cpu-load.sh"

fail() { echo "test_mpi_runner: FAIL: $*" >&2; exit 1; }
[ $# -eq 5 ] || fail "usage: test_mpi_runner.sh MPIEXEC QNS FAKE_GUEST SCENARIO WORK_DIR"
mpiexec=$1
qns=$2
fake=$3
scenario=$4
work=$5
# shellcheck source=mpi-opts.sh
. "$(dirname "${BASH_SOURCE[0]}")/mpi-opts.sh"
mpi=("$mpiexec" "${mpi_opts[@]}")
manifest() { python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

rm -rf "$work"
mkdir -p "$work"

# 1. One process against two ranks.
timeout 300 "$qns" run "$scenario" -o "$work/one" >"$work/one.log" 2>&1 ||
    fail "one process exited with $?: $(cat "$work/one.log")"
cpu_load_start 2
rc=0
timeout 600 "${mpi[@]}" -np 2 "$qns" run "$scenario" -o "$work/two" >"$work/two.log" 2>&1 || rc=$?
cpu_load_stop
[ "$rc" -eq 0 ] || fail "mpirun -np 2 qns run exited with $rc: $(cat "$work/two.log")"
grep -v '^  a|' "$work/two.log" | tr '\r' '\n' | grep -v '^  virtual' || true

list() { (cd "$1" && find . -maxdepth 1 -type f -printf '%f\n' |
    grep -v -x -e manifest.json -e scenario.ini -e .qns.lock | sort); }
[ "$(list "$work/one")" = "$(list "$work/two")" ] ||
    fail "the runs wrote different files: $(list "$work/one" | tr '\n' ' ') and $(list "$work/two" | tr '\n' ' ')"
want="a-nic0.pcap a.console b-nic0.pcap b.console site0-2-0.pcap site0-r0-1.pcap site1-3-0.pcap site1-r1-1.pcap wan-r0-2.pcap wan-r1-2.pcap"
[ "$(list "$work/two" | tr '\n' ' ')" = "$want " ] || fail "files: $(list "$work/two" | tr '\n' ' ')"
for f in $(list "$work/two"); do
    cmp -s "$work/one/$f" "$work/two/$f" || fail "$f differs between one process and two ranks"
    sha256sum "$work/two/$f" | sed "s|$work/two/||"
done
grep -q "^3 packets transmitted, 3 packets received, 0% packet loss" \
    <(tr -d '\r' <"$work/two/a.console") || fail "a's pings: $(cat "$work/two/a.console")"
# a powers off at c; the run ends at the multiple of the 1 ms quantum after
# c, plus the 5 ms lookahead, plus 1 ms: on both ranks and in one process.
for d in one two; do
    clock=$(manifest "$work/$d/manifest.json" "[g['clock_us'] for g in m['guests'] if g['name']=='a'][0]")
    end=$(manifest "$work/$d/manifest.json" "m['end_ns']")
    [ "$end" -eq $(( (clock / 1000 + 1) * 1000000 + 5000000 + 1000000 )) ] ||
        fail "$d: ended at $end ns, a powered off at $clock us"
    [ "$(manifest "$work/$d/manifest.json" "m['status']")" = completed ] || fail "$d: not completed"
    rx=$(manifest "$work/$d/manifest.json" "[a['rx_bytes'] for a in m['apps'] if a['node']=='r1'][0]")
    [ "$rx" -gt 0 ] || fail "$d: r1's packet sink received nothing"
    echo "$d: end $end ns, a off at $clock us, r1 received $rx bytes"
done
[ "$(manifest "$work/one/manifest.json" "m['apps']")" = "$(manifest "$work/two/manifest.json" "m['apps']")" ] ||
    fail "the applications' figures differ"
[ "$(manifest "$work/two/manifest.json" "[r['end_ns'] for r in m['ranks']]")" = "[$end, $end]" ] ||
    fail "the ranks ended apart: $(manifest "$work/two/manifest.json" "m['ranks']")"
# Adaptive rounds across ranks fall where the ranks agree: the same instants
# on both, where one process puts them but for frames on their way between
# the ranks (counted from when they leave, a bound): at most 1.5 times as
# many. (A round every quantum across ranks made 4.8 times as many.)
one_rounds=$(manifest "$work/one/manifest.json" "m['rounds']")
rank_rounds=$(manifest "$work/two/manifest.json" "' '.join(str(r['rounds']) for r in m['ranks'])")
read -r r0 r1 <<<"$rank_rounds"
[ "$r0" -eq "$r1" ] && [ $((2 * r0)) -le $((3 * one_rounds)) ] ||
    fail "rounds per rank $rank_rounds against $one_rounds in one process"
echo "rounds: $one_rounds in one process, $r0 on each rank"
timeout 300 "$qns" verify "$work/two" >"$work/verify.log" 2>&1 ||
    fail "qns verify of the two-rank run: $(cat "$work/verify.log")"
tail -1 "$work/verify.log"

# 1b. The same scenario with [scenario] ranks = 2 instead of rank keys: qns
# splits it at the point-to-point link itself, as the file does by hand.
sed -e '/^rank = /d' -e 's/^seed = 1$/seed = 1\nranks = 2/' "$scenario" >"$work/auto.ini"
! grep -q '^rank = ' "$work/auto.ini" && grep -q '^ranks = 2$' "$work/auto.ini" ||
    fail "could not make the self-partitioned scenario"
timeout 600 "${mpi[@]}" -np 2 "$qns" run "$work/auto.ini" -o "$work/auto" >"$work/auto.log" 2>&1 ||
    fail "mpirun -np 2 of ranks = 2 exited with $?: $(cat "$work/auto.log")"
for f in $(list "$work/two"); do
    cmp -s "$work/two/$f" "$work/auto/$f" || fail "$f differs between rank keys and ranks = 2"
done
[ "$(manifest "$work/auto/manifest.json" "[(g['name'], g['rank']) for g in m['guests']]")" = \
    "[('a', 0), ('b', 1)]" ] || fail "ranks = 2 put the guests on other ranks"
echo "ranks = 2: the same $(list "$work/auto" | wc -l) files, a on rank 0, b on rank 1"

# 1c. Both guests restored from a snapshot (boot = snapshot; their qns.route
# words are configuration, so one snapshot serves both), two ranks first, on
# an empty snapshot cache: each rank describes both guests, and the lock
# makes the snapshot once. Then one process: the same files.
sed -e '/^\[guest /a boot = snapshot' "$scenario" >"$work/snap.ini"
# (The cache only for these two runs: the later ones use the caller's.)
QNS_CACHE_DIR=$work/snapshot-cache timeout 600 "${mpi[@]}" -np 2 "$qns" run "$work/snap.ini" \
    -o "$work/snap-two" >"$work/snap-two.log" 2>&1 ||
    fail "mpirun -np 2 with boot = snapshot exited with $?: $(cat "$work/snap-two.log")"
QNS_CACHE_DIR=$work/snapshot-cache timeout 300 "$qns" run "$work/snap.ini" -o "$work/snap-one" \
    >"$work/snap-one.log" 2>&1 ||
    fail "one process with boot = snapshot exited with $?: $(cat "$work/snap-one.log")"
for f in $(list "$work/snap-one"); do
    cmp -s "$work/snap-one/$f" "$work/snap-two/$f" ||
        fail "$f differs between one process and two ranks, restored from a snapshot"
done
keys=$(manifest "$work/snap-two/manifest.json" "sorted(set(g['snapshot'] for g in m['guests']))")
[ "$(manifest "$work/snap-two/manifest.json" "[g['boot'] for g in m['guests']]")" = "['snapshot', 'snapshot']" ] &&
    [ "$(echo "$keys" | tr -cd "'" | wc -c)" -eq 2 ] || fail "boot and snapshot keys: $keys"
grep -q "^3 packets transmitted, 3 packets received, 0% packet loss" \
    <(tr -d '\r' <"$work/snap-two/a.console") || fail "a's pings restored: $(cat "$work/snap-two/a.console")"
echo "boot = snapshot: the same $(list "$work/snap-one" | wc -l) files in one process and on two ranks, one snapshot"

# 1d. A frame between ranks while nothing else happens: fake guest a sends
# one frame at 100 ms over the point-to-point link to b, on rank 1; then no
# guest has anything to do until the end at 2 s. Rank 1's queue holds the
# frame only once ns-3 hands it over at the end of its time window: the
# agreed rounds must still put a round before it reaches b (rank 0 counts it
# in flight), or b runs past it (a late frame, exit 1). b's capture is one
# process's, the frame in it at 100 ms + the 1 ms latency + 5 ms + 29.6 us
# (its 35-byte IPv4 packet and 2 bytes of PPP at 10 Mbit/s).
# (Broadcast, IPv4, 10.0.0.1 to 10.0.0.2, UDP port 7 to 7, 8 bytes.)
udp=ffffffffffff020000000001080045000024000000004011000a0000010a000002
udp+=000700070010000071736e7371736e73
cat >"$work/crossing.ini" <<INI
[scenario]
duration = 2s
quantum = 1ms
[guest a]
program = $fake sendhex:100000000:0:$udp
[guest b]
rank = 1
program = $fake
[link wan]
type = p2p
rate = 10Mbps
delay = 5ms
capture = true
members = a, b
INI
timeout 120 "$qns" run "$work/crossing.ini" -o "$work/crossing-one" >"$work/crossing-one.log" 2>&1 ||
    fail "one process of crossing.ini exited with $?: $(cat "$work/crossing-one.log")"
rc=0
timeout 120 "${mpi[@]}" -np 2 "$qns" run "$work/crossing.ini" -o "$work/crossing-two" \
    >"$work/crossing-two.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "a frame between idle ranks: exit $rc: $(cat "$work/crossing-two.log")"
for f in $(list "$work/crossing-one"); do
    cmp -s "$work/crossing-one/$f" "$work/crossing-two/$f" ||
        fail "$f differs between one process and two ranks (a frame between idle ranks)"
done
at=$(python3 -c "import struct,sys; d=open(sys.argv[1],'rb').read(); s,u,n,l=struct.unpack('<IIII',d[24:40]); print(s*10**9+u, n, len(d))" \
    "$work/crossing-two/b-nic0.pcap")
[ "$at" = "107029600 49 89" ] || fail "b's capture: frame at ns, length, file size: $at"
echo "crossing: b received the frame at 107029600 ns on both; rounds $(manifest "$work/crossing-two/manifest.json" "[r['rounds'] for r in m['ranks']]")"

# (Rank 0's error may follow its progress line on one line: mpirun forwards
# each rank's stdout and stderr apart.)
# 2. A guest dying on rank 1 stops rank 0 (whose guest would run 1000 s).
# a ends the run, so rank 0 would call it unfinished: the reason given is
# rank 1's, the one that ended the run.
cat >"$work/dies.ini" <<INI
[scenario]
duration = 1000s
quantum = 1ms
[guest a]
program = $fake
ends_run = true
[guest b]
rank = 1
program = $fake crash:300000000
[node r0]
[node r1]
rank = 1
[link lan0]
members = a, r0=10.0.0.254/24
[link lan1]
members = b, r1=10.0.1.254/24
[link wan]
type = p2p
delay = 5ms
members = r0=10.9.0.1/30, r1=10.9.0.2/30
INI
rc=0
timeout 120 "${mpi[@]}" -np 2 "$qns" run "$work/dies.ini" -o "$work/dies" >"$work/dies.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "a guest dying on rank 1: exit $rc, expected 1: $(cat "$work/dies.log")"
grep -q "qns: guest b was killed by signal 11" "$work/dies.log" || fail "the failure does not name guest b: $(cat "$work/dies.log")"
! grep -q "qns: guest a" "$work/dies.log" || fail "rank 0 blamed its own guest: $(cat "$work/dies.log")"
end=$(manifest "$work/dies/manifest.json" "m['end_ns']")
[ "$end" -ge 300000000 ] && [ "$end" -le 310000000 ] || fail "the run ended at $end ns, not soon after 0.3 s"
grep -o "qns: guest b.*" "$work/dies.log"
echo "dies: ended at $end ns ($(manifest "$work/dies/manifest.json" "[r['end_ns'] for r in m['ranks']]"))"

# 2b. Rank 1 cannot start its guest (32 file descriptors on its machine):
# it fails at 0 and tells rank 0; both end at 0 + 5 ms rounded + 1 ms (rank 1
# grants nothing meanwhile, but takes part in the rounds the ranks agree
# on); the reason given is rank 1's. (Rank 1 used to stop without telling,
# and then crash on rank 0's end message for a control node it never made.)
rc=0
timeout 120 "${mpi[@]}" -np 1 "$qns" run "$scenario" -o "$work/nofds" : \
    -np 1 bash -c "ulimit -n 32 && exec '$qns' run '$scenario' -o '$work/nofds'" \
    >"$work/nofds.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "rank 1 out of file descriptors: exit $rc: $(cat "$work/nofds.log")"
grep -q "qns: guest b: .*: Too many open files$" "$work/nofds.log" ||
    fail "rank 1's reason is not given: $(cat "$work/nofds.log")"
! grep -q "Segmentation fault" "$work/nofds.log" || fail "a rank crashed: $(cat "$work/nofds.log")"
[ "$(manifest "$work/nofds/manifest.json" "[r['end_ns'] for r in m['ranks']]")" = "[6000000, 6000000]" ] ||
    fail "the ranks ended at $(manifest "$work/nofds/manifest.json" "[r['end_ns'] for r in m['ranks']]")"
! pgrep -f "qemu-system.*$work/nofds" >/dev/null || fail "a QEMU of the failed run is still running"
grep -o "qns: guest b.*" "$work/nofds.log"

# 2c. Rank 1 finds no guest image on its machine: said by rank 1, and no
# rank waits for the other (it used to hang), no run folder.
rc=0
out=$(timeout 120 "${mpi[@]}" -np 1 "$qns" run "$scenario" -o "$work/noimage" : \
    -np 1 -x QNS_GUEST_DIR=/nonexistent "$qns" run "$scenario" -o "$work/noimage" 2>&1) || rc=$?
[ "$rc" -eq 2 ] || fail "rank 1 without a guest image: exit $rc: $out"
grep -qxF "qns: another rank could not read the scenario (it says why)" <<<"$out" &&
    grep -qxF "rank 1: $scenario:23: guest b boots the default guest, but '/nonexistent/GUEST-INFO' is not there (set QNS_GUEST_DIR)" <<<"$out" ||
    fail "rank 1 without a guest image said: $out"
[ ! -e "$work/noimage" ] || fail "a refused run left $work/noimage behind"

# 2d. SIGINT to rank 1 alone: it stops and tells rank 0, which stops too;
# the run is interrupted (130), not failed. The guests boot cold: restored,
# the whole run takes half a second, which a signal sent on its progress
# would miss.
sed '/^\[guest /a boot = cold' "$scenario" >"$work/cold.ini"
rank_pid() { # the qns process of rank $1 running into $2
    local p
    for p in $(pgrep -f "qns run .* -o $2\$"); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" &&
            { echo "$p"; return 0; }
    done
    return 1
}
"${mpi[@]}" -np 2 "$qns" run "$work/cold.ini" -o "$work/sigint" >"$work/sigint.log" 2>&1 &
job=$!
for _ in $(seq 1 100); do
    grep -q "^guest\|virtual 0\.[1-9]" "$work/sigint.log" 2>/dev/null && break
    sleep 0.2
done
pid=$(rank_pid 1 "$work/sigint") || fail "no rank 1 process to interrupt"
kill -INT "$pid"
rc=0
timeout 120 tail --pid="$job" -f /dev/null || fail "mpirun still running 120 s after SIGINT to rank 1"
wait "$job" || rc=$?
[ "$rc" -eq 130 ] || fail "SIGINT to rank 1: exit $rc: $(cat "$work/sigint.log")"
[ "$(manifest "$work/sigint/manifest.json" "m['status']")" = interrupted ] ||
    fail "SIGINT to rank 1: status $(manifest "$work/sigint/manifest.json" "m['status']")"
! pgrep -f "qemu-system.*$work/sigint" >/dev/null || fail "a QEMU of the interrupted run is still running"
echo "SIGINT to rank 1: exit 130, interrupted at $(manifest "$work/sigint/manifest.json" "[r['end_ns'] for r in m['ranks']]") ns"

# 3. Processes that do not fit the scenario; a command that does not split.
rc=0
out=$(timeout 60 "${mpi[@]}" -np 3 "$qns" run "$scenario" -o "$work/three" 2>&1) || rc=$?
[ "$rc" -eq 2 ] || fail "three processes for two ranks: exit $rc: $out"
# One line, from rank 0 only (mpirun adds its own report of the exit).
said() { [ "$(grep -c '^qns:' <<<"$out")" -eq 1 ] && grep -qxF "$1" <<<"$out"; }
said "qns: $scenario: its guests and nodes are on ranks 0 .. 1 (2 processes), but mpirun started 3" ||
    fail "three processes for two ranks said: $out"
[ ! -e "$work/three" ] || fail "a refused run left $work/three behind"
rc=0
out=$(timeout 60 "${mpi[@]}" -np 2 "$qns" verify "$work/two" 2>&1) || rc=$?
[ "$rc" -eq 2 ] && said "qns: only 'qns run' runs across MPI ranks (mpirun started 2 processes)" ||
    fail "mpirun qns verify: exit $rc: $out"
# flow_monitor sees the flows of one process's nodes: refused across ranks,
# before any guest starts.
sed 's/^seed = 1$/seed = 1\nflow_monitor = true/' "$scenario" >"$work/flows.ini"
grep -q '^flow_monitor = true$' "$work/flows.ini" || fail "could not make the flow_monitor scenario"
rc=0
out=$(timeout 120 "${mpi[@]}" -np 2 "$qns" run "$work/flows.ini" -o "$work/flows" 2>&1) || rc=$?
[ "$rc" -eq 1 ] && [ "$(grep -c "flow_monitor needs one process" <<<"$out")" -eq 1 ] &&
    grep -qxF "qns: flow_monitor needs one process: across ranks each would see only its own nodes' flows" <<<"$out" ||
    fail "flow_monitor across ranks: exit $rc: $out"
[ "$(manifest "$work/flows/manifest.json" "m['status']")" = failed ] || fail "flow_monitor run not failed"
! pgrep -f "qemu-system.*$work/flows" >/dev/null || fail "a QEMU of the refused run is still running"
echo "test_mpi_runner: PASS"
