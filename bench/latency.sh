#!/usr/bin/env bash
# Round trips at a given latency: `runner sim serve --latency-ms L` with its request log
# (RUNNER_SIM_ACCESS_LOG, one line per request with its start and end), then, one after
# another against that one org:
#   connect  a playbook that does nothing: what connecting costs;
#   setup    a first setup.rhai;
#   rerun    setup.rhai again (nothing to change);
#   audit    audit.rhai;
#   grant    the PSL and the two permission sets, on an existing user that has none.
# For each: the wall time of `runner play`, the API calls it counted (its JSON recap), the
# requests the org logged, the sequential round trips as wall ÷ latency (rounded), and the
# exact number of waves of overlapping requests in the log, in all and after connecting
# (the waves with no connecting request in them: the version list, the token, userinfo).
# Timing is measured here only, never in tests. Loopback only.
#
#   bench/latency.sh [LATENCY_MS]        (default 150)
#   RUNNER_BIN=path/to/runner bench/latency.sh …   uses that binary instead of building one
#   LATENCY_STRICT=1 bench/latency.sh …              serves with --composite-reads-before-writes:
#       a query in a Composite request sees none of its writes (the strictest reading of what
#       Salesforce leaves undocumented), so each write's confirmation is read again alone
set -euo pipefail
cd "$(dirname "$0")/.."
latency=${1:-150}
source bench/lib.sh
bin=$(runner_binary)
work=$(mktemp -d)
server=
cleanup() {
    stop_server "$server"
    if [[ -n ${LATENCY_KEEP_LOG:-} ]]; then cp "$log" "$LATENCY_KEEP_LOG"; fi
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -m 0700 "$work/secrets"
log=$work/requests.log
: > "$log"

# The record type names are the scenario's: ask a fresh simulated org, as a consultant would.
defaults=()
while read -r pair; do defaults+=(--var "$pair"); done < <("$bin" play record_types.rhai --org sim \
    --journal /dev/null | grep -o -- '--var default_[^ ]*' | sed 's/^--var //')

token="latency-bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# The server's `try:` line, not a sleep, says it accepts connections.
strict=()
if [[ -n ${LATENCY_STRICT:-} ]]; then strict=(--composite-reads-before-writes); fi
exec 3< <(RUNNER_SIM_ACCESS_LOG=$log exec "$bin" sim serve --latency-ms "$latency" --token "$token" "${strict[@]}" 2>"$work/serve.err")
server=$!
url=
while read -r line <&3; do
    case $line in
        "instance url: "*) url=${line#instance url: } ;;
        try:*) break ;;
    esac
done
if [[ -z $url ]]; then echo "runner sim serve did not start:" >&2; cat "$work/serve.err" >&2; exit 1; fi

user=latency.sync@client.example
other=latency.grant@client.example
echo 'print("connected");' > "$work/connect.rhai"
printf 'assign_psl(#{ user: "%s" });\nassign_permission_sets(#{ user: "%s" });\n' "$other" "$other" > "$work/grant.rhai"
printf 'create_user(#{ username: "%s", email: "ops@client.example" });\n' "$other" > "$work/grant-user.rhai"

# run NAME PLAYBOOK ARGS…: one measured `runner play`.
run() {
    local name=$1 playbook=$2; shift 2
    local before start end status=0
    before=$(wc -l < "$log")
    start=$(date +%s.%N)
    (cd "$work" && SF_ACCESS_TOKEN=$token "$bin" play "$playbook" --org "$url" --json \
        --journal "$work/journal.jsonl" "$@" > "$work/out.json" 2> "$work/err") || status=$?
    end=$(date +%s.%N)
    local line
    line=$(python3 - "$work/out.json" "$log" "$before" "$name" "$start" "$end" "$status" "$latency" <<'PY'
import json, sys
out, log, before, name, start, end, status, latency = sys.argv[1:9]
wall_ms = (float(end) - float(start)) * 1000
doc = json.load(open(out))
orgs = doc["result"]["orgs"]
calls = orgs[0]["recap"]["api_calls"] if orgs else 0
failed = "" if not orgs or not orgs[0].get("failure") else f" FAILED ({orgs[0]['error']['code']})"
# A connecting request: the version list, the token, userinfo (the identity service).
def connecting(method, path):
    return path.startswith("/services/oauth2/") or (method == "GET" and path.rstrip("/") == "/services/data")
spans = []
for line in open(log).read().splitlines()[int(before):]:
    start_us, end_us, method, path, _ = line.split()
    spans.append((int(start_us), int(end_us), connecting(method, path)))
spans.sort()
# Waves: maximal runs of overlapping requests; a wave with a connecting request in it is connecting.
waves = []
for s, e, c in spans:
    if waves and s < waves[-1][1]:
        waves[-1] = (waves[-1][0], max(waves[-1][1], e), waves[-1][2] or c)
    else:
        waves.append((s, e, c))
after = sum(1 for w in waves if not w[2])
waves = len(waves)
after = f", {after} after connecting" if name != "connect" else ""
print(f"{name:<8} {wall_ms / 1000:6.2f}s  {calls:>2} API calls  {len(spans):>2} requests  "
      f"wall/latency {round(wall_ms / int(latency)):>2}  waves {waves:>2}{after}{failed}")
PY
)
    echo "$line"
    if [[ $status != 0 && $status != 5 ]]; then cat "$work/err" >&2; fi
}

echo "runner latency benchmark: one simulated org, ${latency} ms per request, $(nproc) cores${strict:+, Composite queries that see none of the request writes}"
run connect connect.rhai
run setup setup.rhai --var "username=$user" --var email=ops@client.example \
    --var 'credentials_file=secrets/sync.creds' "${defaults[@]}"
run rerun setup.rhai --var "username=$user" --var email=ops@client.example \
    --var 'credentials_file=secrets/sync.creds' "${defaults[@]}"
run audit audit.rhai --var "username=$user" "${defaults[@]}"
# The user the grant meets, made first and not measured.
SF_ACCESS_TOKEN=$token "$bin" play "$work/grant-user.rhai" --org "$url" --journal "$work/journal.jsonl" > /dev/null
run grant grant.rhai
