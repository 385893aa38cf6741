#!/bin/sh
# Ctrl-C while qns makes a snapshot (boot = snapshot on an empty cache): qns
# exits 130 within 500 ms, says it stopped before the run began, makes no
# run folder, leaves no QEMU process and nothing half-made in the cache.
# Then Ctrl-C while restored guests run (h1's command sleeps): the same
# promises as for booted ones, and the manifest says "interrupted" and
# "snapshot".
# Usage: sigint_during_snapshot.sh QNS LAN_PING_INI
set -u
qns=$1 ini=$2
cache=$PWD/sigint-snapshot-cache out=run-sigint-snapshot
rm -rf "$cache" "$out" sigint-snapshot.ini sigint-snapshot.log
sed -e '/^\[guest /a boot = snapshot' "$ini" > sigint-snapshot.ini
# interrupt INI LOG READY: qns run INI (output to LOG) in the background,
# SIGINT to it 0.5 s after READY (a shell test) holds; sets s (its exit
# status), ms (how long it took to exit), qemus (its children when signalled)
# and left (those still there after it exited).
interrupt() {
    QNS_CACHE_DIR=$cache "$qns" run -q "$1" -o "$out" > "$2" 2>&1 &
    pid=$!
    n=0
    until eval "$3" || [ $n -ge 600 ]; do sleep 0.1; n=$((n + 1)); done
    sleep 0.5
    qemus=$(pgrep -P $pid)
    t0=$(date +%s%N)
    kill -INT $pid
    wait $pid
    s=$?
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    left=
    for q in $qemus; do [ -e /proc/$q ] && left="$left $q"; done
}

interrupt sigint-snapshot.ini sigint-snapshot.log '[ -n "$(pgrep -P $pid)" ]'
# (config/ holds configuration disks by their hash: whole, whatever comes)
half=$(ls -A "$cache/snapshot" 2>/dev/null | grep -v '^\.lock-\|^config$' | tr '\n' ' ')
echo "exit $s after $ms ms; qemu $qemus; left:$left; in the cache:$half"
cat sigint-snapshot.log
[ $s = 130 ] && [ $ms -lt 500 ] && [ -n "$qemus" ] && [ -z "$left" ] && [ -z "$half" ] &&
    [ ! -e "$out" ] &&
    grep -q "boot for its snapshot: interrupted" sigint-snapshot.log &&
    grep -q "stopped by SIGINT before the run began; no run folder made" sigint-snapshot.log ||
    exit 1

# Restored guests, h1 sleeping: interrupted once the run is going.
sed -e 's/^command = .*/command = sleep 30/' sigint-snapshot.ini > sigint-restored.ini
interrupt sigint-restored.ini sigint-restored.log "grep -q '^qns: running' sigint-restored.log"
echo "restored: exit $s after $ms ms; qemu $qemus; left:$left"
cat sigint-restored.log
[ $s = 130 ] && [ $ms -lt 500 ] && [ -n "$qemus" ] && [ -z "$left" ] &&
    grep -q '"status" : "interrupted"' "$out/manifest.json" &&
    [ "$(grep -c '"boot" : "snapshot"' "$out/manifest.json")" = 2 ] &&
    echo stopped-in-time-OK
