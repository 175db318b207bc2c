#!/usr/bin/env bash
# Fleet benchmark: the full StoreConnect setup against N in-process simulated orgs in
# one `runner play`, then a re-run of the audit on the same number of orgs. Prints
# wall time, orgs per second, API calls per org and peak memory. Loopback only.
#
#   bench/orgs.sh [ORGS] [JOBS]        (defaults: 200 orgs, 32 at a time)
set -euo pipefail
cd "$(dirname "$0")/.."
orgs=${1:-200}
jobs=${2:-32}
source bench/lib.sh
bin=$(runner_binary)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
targets=()
for _ in $(seq 1 "$orgs"); do targets+=(--org sim); done

run() {
    local name=$1; shift
    /usr/bin/time -f '%e %M' -o "$work/time" "$bin" play "$@" "${targets[@]}" --jobs "$jobs" --json \
        --journal "$work/journal.jsonl" > "$work/out.json" 2> "$work/err" || true
    # time(1) puts "Command exited with non-zero status N" before its figures when runner fails.
    read -r secs kb < <(tail -n 1 "$work/time")
    if [[ ! -s $work/out.json ]]; then
        echo "$name: runner printed no report:" >&2
        cat "$work/err" >&2
        return 1
    fi
    python3 - "$work/out.json" "$name" "$secs" "$kb" "$orgs" <<'PY'
import json, sys
path, name, secs, kb, orgs = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
doc = json.load(open(path))
reports = doc["result"]["orgs"]
failed = sum(1 for r in reports if r.get("failure"))
calls = sum(r["recap"]["api_calls"] for r in reports) / max(len(reports), 1)
print(f"{name:<8} {len(reports)} orgs ({failed} failed) in {secs:.2f}s = {len(reports)/max(secs, 0.001):.0f} orgs/s, "
      f"{calls:.1f} API calls/org, peak RSS {kb/1024:.0f} MiB, exit {doc['status']}")
PY
}

# The simulated orgs' record type names are their own: ask one, as a consultant would
# (every seed of the scenario has the same ones).
defaults=()
while read -r pair; do defaults+=(--var "$pair"); done < <("$bin" play record_types.rhai --org sim \
    --journal /dev/null | grep -o -- '--var default_[^ ]*' | sed 's/^--var //')

echo "runner fleet benchmark: $orgs orgs, --jobs $jobs, $(nproc) cores"
run setup setup.rhai --var username=bench.sync@client.example --var email=ops@client.example --var "credentials_file=$work/{org}.creds" "${defaults[@]}"
run audit audit.rhai --var username=storeconnect.sync@storeconnect-demo.example
