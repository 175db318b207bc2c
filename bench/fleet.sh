#!/usr/bin/env bash
# Fleet benchmark over the wire: `runner sim serve --orgs N --latency-ms L --config-out`
# serves N independent simulated orgs (a port, token, data and sync username each) on
# 127.0.0.1, then `runner play --config FILE --org @sim --json` runs the full setup and
# then the audit against them, all N at once (--jobs N, at most 256). Prints, per run,
# wall time, orgs per second, API calls per org (from the JSON report) and peak RSS of
# `runner play` (/usr/bin/time -v), and the server's peak RSS. Loopback only.
#
#   bench/fleet.sh [N] [LATENCY_MS] [JOBS]   (defaults: 50 orgs, 150 ms per request, --jobs min(N, 256))
#   RUNNER_BIN=path/to/runner bench/fleet.sh …   uses that binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."
orgs=${1:-50}
latency=${2:-150}
jobs=${3:-$((orgs < 256 ? orgs : 256))}
source bench/lib.sh
bin=$(runner_binary)
work=$(mktemp -d)
server=
cleanup() {
    stop_server "$server"
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -m 0700 "$work/secrets"

# The server prints one line per org, then `config: FILE` once every org accepts
# connections and FILE is written: that line, not a sleep, says it is ready.
exec 3< <(exec "$bin" sim serve --orgs "$orgs" --latency-ms "$latency" --config-out "$work/fleet.toml" 2>"$work/serve.err")
server=$!
ready=
while read -r line <&3; do
    if [[ $line == config:* ]]; then ready=1; break; fi
done
if [[ -z $ready ]]; then echo "runner sim serve did not start:" >&2; cat "$work/serve.err" >&2; exit 1; fi

if [[ -x /usr/bin/time ]]; then timer=(/usr/bin/time -v -o "$work/time"); else timer=(); fi

run() {
    local name=$1; shift
    : > "$work/time"
    local start end status=0
    start=$(date +%s.%N)
    (cd "$work" && "${timer[@]}" "$bin" play "$@" --config "$work/fleet.toml" --org @sim --jobs "$jobs" --json \
        --journal "$work/journal.jsonl" > "$work/out.json" 2> "$work/err") || status=$?
    end=$(date +%s.%N)
    python3 - "$work/out.json" "$work/time" "$name" "$start" "$end" "$status" <<'PY'
import json, re, sys
path, timefile, name, start, end, status = sys.argv[1:7]
secs = float(end) - float(start)
doc = json.load(open(path))
reports = doc["result"]["orgs"]
failed = sum(1 for r in reports if r.get("failure"))
calls = sum(r["recap"]["api_calls"] for r in reports) / max(len(reports), 1)
m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(timefile).read())
rss = f"{int(m.group(1)) / 1024:.0f} MiB" if m else "n/a"
print(f"{name:<6} {len(reports)} orgs ({failed} failed) in {secs:.2f}s = {len(reports) / max(secs, 0.001):.1f} orgs/s, "
      f"{calls:.1f} API calls/org, peak RSS {rss}, exit {status}")
PY
}

# The orgs' record type names are the scenario's: ask one, as a consultant would (every org
# of the fleet has the same ones).
defaults=()
while read -r pair; do defaults+=(--var "$pair"); done < <("$bin" play record_types.rhai --org sim \
    --journal /dev/null | grep -o -- '--var default_[^ ]*' | sed 's/^--var //')

echo "runner fleet benchmark: $orgs orgs served by one runner sim serve, ${latency} ms latency, --jobs $jobs, $(nproc) cores"
run setup setup.rhai --var 'credentials_file=secrets/{org}.creds' "${defaults[@]}"
run audit audit.rhai "${defaults[@]}"
server_rss=$(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$server/status" 2>/dev/null || true)
echo "server peak RSS ${server_rss:-n/a}"
