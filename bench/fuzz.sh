#!/usr/bin/env bash
# Runs each cargo-fuzz target of fuzz/ for SECONDS (default 60), one after the other,
# from corpora seeded by fuzz/seed.sh, and prints per target the executions and the
# crashes (inputs libFuzzer saved under fuzz/artifacts/TARGET/ during this run).
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Not CI.
#
#   bench/fuzz.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(soql soap_client soap_sim runner_toml credentials json_responses)
fi
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 2; }
./seed.sh >/dev/null
cargo +nightly fuzz build -O || exit 1
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
total_crashes=0
for target in "${targets[@]}"; do
    mkdir -p "artifacts/$target"
    before=$(find "artifacts/$target" -type f | wc -l)
    # One job, bounded time and memory: the machine is shared. -max_len lets the XML
    # targets build deep documents; -timeout flags any input slower than 10 s.
    cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=262144 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$logs/$target.log" 2>&1
    status=$?
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$logs/$target.log" | grep -oE '[0-9]+$' | tail -1)
    after=$(find "artifacts/$target" -type f | wc -l)
    crashes=$((after - before))
    total_crashes=$((total_crashes + crashes))
    printf '%-15s %12s executions  %d crash(es)%s\n' "$target" "${execs:-?}" "$crashes" \
        "$([ "$status" -ne 0 ] && echo "  (exit $status; see fuzz/artifacts/$target)")"
    if [ "$crashes" -gt 0 ]; then
        grep -m3 -E 'panicked at|ERROR: libFuzzer|SUMMARY' "$logs/$target.log" | sed 's/^/    /'
    fi
done
[ "$total_crashes" -eq 0 ]
