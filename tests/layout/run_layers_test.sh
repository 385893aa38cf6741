#!/bin/bash
# run_layers_test.sh SOURCE_DIR WORK_DIR - the layer check (test_layers.sh)
# passes on the tree, and fires on a copy of it whose model includes the C
# API above it, naming the line.
set -euo pipefail

fail() { echo "run_layers_test: FAIL: $*" >&2; exit 1; }
[ $# -eq 2 ] || fail "usage: run_layers_test.sh SOURCE_DIR WORK_DIR"
src=$1 work=$2
check=$src/tests/layout/test_layers.sh

out=$("$check" "$src") || fail "the tree has includes that go up:
$out"
echo "run_layers_test: no include goes up in $src"

rm -rf "$work"
mkdir -p "$work"
cp -r "$src/tap-bridge" "$src/ns3-module" "$src/runner" "$src/scenarios" "$work/"
spec=ns3-module/model/qns-guest-spec.h
lines=$(wc -l <"$work/$spec")
printf '#include "qns.h"\n' >>"$work/$spec"
rc=0
out=$("$check" "$work") || rc=$?
want="$spec:$((lines + 1)): includes qns.h (ns3-module/api, layer 6) from ns3-module/model (layer 4)"
[ "$rc" -eq 1 ] && [ "$out" = "$want" ] || fail "a model header that includes qns.h: exit $rc, printed:
$out
expected:
$want"
echo "run_layers_test: the check names $spec:$((lines + 1))"
rm -rf "$work"
