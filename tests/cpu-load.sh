# shellcheck shell=bash
# CPU load for determinism checks that run a second time under load: source
# this file, then cpu_load_start N (N busy loops) and cpu_load_stop.
cpu_load_pids=()

cpu_load_start() {
    local i
    for ((i = 0; i < $1; i++)); do
        (while :; do :; done) &
        cpu_load_pids+=($!)
    done
    trap cpu_load_stop EXIT
}

cpu_load_stop() {
    [ ${#cpu_load_pids[@]} -eq 0 ] || kill "${cpu_load_pids[@]}" 2>/dev/null || true
    cpu_load_pids=()
    trap - EXIT
}
