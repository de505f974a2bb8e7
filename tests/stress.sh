#!/usr/bin/env bash
# The test suite with every core saturated: starts two busy-loop processes per core
# (stress-ng's "--cpu" where it is installed), runs the README's test command with the
# given arguments, and stops the load however the run ends. The suite must pass here
# exactly as on a quiet machine.
#
#     bash tests/stress.sh            # the whole suite under load
#     RUNS=3 bash tests/stress.sh     # three runs in a row, each reported
set -uo pipefail
cd "$(dirname "$0")/.."

workers=$(( 2 * $(nproc) ))
load_pids=()
stop_load() {
    for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null; done
    wait "${load_pids[@]}" 2>/dev/null
}
trap stop_load EXIT

if command -v stress-ng >/dev/null 2>&1; then
    stress-ng --cpu "$workers" --quiet & load_pids+=($!)
else
    for _ in $(seq "$workers"); do
        sh -c 'while :; do :; done' & load_pids+=($!)
    done
fi
echo "stress: $workers busy processes on $(nproc) cores" >&2

status=0
for run in $(seq "${RUNS:-1}"); do
    start=$(date +%s)
    bash tests/run.sh "$@"
    rc=$?
    echo "stress: run $run exit $rc in $(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    [ "$rc" -eq 0 ] || status=$rc
done
exit "$status"
