#!/bin/bash
# test_layers.sh SOURCE_DIR - every #include "..." of qns's own headers goes
# to the file's own folder or a layer below it, never up. The layers, from
# the bottom:
#
#   1 tap-bridge/record     frame records, errors as values (plain C)
#   2 tap-bridge/capture    pcap writing (plain C)
#   2 ns3-module/sync       the time-grant core (plain C)
#   3 ns3-module/machine    a guest machine without ns-3 (plain C)
#   3 tap-bridge/model      QnsBridge (ns-3)
#   4 ns3-module/model      the ns-3 module's model
#   5 ns3-module/helper     QnsHelper
#   6 ns3-module/api        the C API (qns.h)
#   7 runner, scenarios     programs on the C API: qns.h, the headers qns.h
#                           includes, and their own folder only
#
# Prints each include that goes up or sideways as FILE:LINE: includes HEADER
# (LAYER) from LAYER, and exits 1 if there is one.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: test_layers.sh SOURCE_DIR" >&2; exit 2; }
cd "$1"

layers=(
    "tap-bridge/record 1"
    "tap-bridge/capture 2"
    "ns3-module/sync 2"
    "ns3-module/machine 3"
    "tap-bridge/model 3"
    "ns3-module/model 4"
    "ns3-module/helper 5"
    "ns3-module/api 6"
    "runner 7"
    "scenarios 7"
)
# What a program on the C API may include of qns: qns.h and what it includes.
public="qns.h $(sed -n 's/^#include "\([^"]*\)".*/\1/p' ns3-module/api/qns.h | tr '\n' ' ')"

declare -A rank_of header_dir
for l in "${layers[@]}"; do
    dir=${l% *}
    rank_of[$dir]=${l#* }
    for h in "$dir"/*.h; do
        [ -e "$h" ] && header_dir[$(basename "$h")]=$dir
    done
done

bad=0
for l in "${layers[@]}"; do
    dir=${l% *}
    rank=${rank_of[$dir]}
    while IFS= read -r hit; do
        file=${hit%%:*}
        rest=${hit#*:}
        line=${rest%%:*}
        header=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' <<<"${rest#*:}")
        to=${header_dir[$header]:-}
        [ -n "$to" ] || continue # not a header of these layers (generated, a test's)
        [ "$to" = "$dir" ] && continue
        if [ "$rank" -ge 7 ]; then
            case " $public " in *" $header "*) continue ;; esac
        elif [ "${rank_of[$to]}" -lt "$rank" ]; then
            continue
        fi
        echo "$file:$line: includes $header ($to, layer ${rank_of[$to]}) from $dir (layer $rank)"
        bad=1
    done < <(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$dir"/*.[ch] "$dir"/*.cc 2>/dev/null || true)
done
exit "$bad"
