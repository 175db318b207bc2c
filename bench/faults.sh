#!/usr/bin/env bash
# The resilience acceptance, with the binary: for each seed, `runner sim serve
# --fail-rate RATE --seed S`, then `runner play setup.rhai` against it, re-run until it
# exits 0 (at most 5 times), then the org's state read over REST must be exactly that
# of a fault-free run. Prints one line per seed and `N passed, N failed`. Loopback only.
#
#   bench/faults.sh [SEEDS] [RATE]        (defaults: 50 seeds, 0.2)
set -uo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-50}
rate=${2:-0.2}
source bench/lib.sh
bin=$(runner_binary) || exit 1
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
user=fault.sync@client.example
# The simulated orgs' record type names are their own: ask one, as a consultant would
# (every seed of the scenario has the same ones).
defaults=()
while read -r pair; do defaults+=(--var "$pair"); done < <("$bin" play record_types.rhai --org sim \
    --journal /dev/null | grep -o -- '--var default_[^ ]*' | sed 's/^--var //')

# The state that matters, with ids left out so that orgs compare.
state() {
    python3 - "$1" "$2" "$user" <<'PY'
import json, sys, urllib.parse, urllib.request
url, token, user = sys.argv[1:]
def q(soql):
    # The org still injects faults: a read that fails is simply asked again.
    req = urllib.request.Request(f"{url}/services/data/v62.0/query?q={urllib.parse.quote(soql)}",
                                 headers={"Authorization": f"Bearer {token}"})
    for _ in range(20):
        try:
            rows = json.load(urllib.request.urlopen(req, timeout=10))["records"]
            break
        except Exception:
            continue
    else:
        sys.exit("the org never answered " + soql)
    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k not in ("attributes", "Id")}
        return v
    return [strip(r) for r in rows]
print(json.dumps({
    "users": q(f"SELECT Username, IsActive, Profile.Name FROM User WHERE Username = '{user}'"),
    "psl": q(f"SELECT PermissionSetLicense.DeveloperName FROM PermissionSetLicenseAssign WHERE Assignee.Username = '{user}'"),
    "sets": q(f"SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE Assignee.Username = '{user}' ORDER BY PermissionSet.Name"),
    "totp": q(f"SELECT Type FROM TwoFactorInfo WHERE User.Username = '{user}'"),
    "mfa": q(f"SELECT HasTotp FROM TwoFactorMethodsInfo WHERE User.Username = '{user}'"),
    "password_set": [r.get("LastPasswordChangeDate") is not None
                     for r in q(f"SELECT LastPasswordChangeDate FROM User WHERE Username = '{user}'")],
}, sort_keys=True))
PY
}

# One org: serve it, converge, print "runs state" on stdout.
converge() {
    local seed=$1 extra=$2
    # Read the server's own lines until it says it is ready.
    local fd pid url="" line
    exec {fd}< <(exec "$bin" sim serve --port 0 --token "T$seed" $extra 2>/dev/null)
    pid=$!
    while read -r line <&"$fd"; do
        case $line in
            "instance url: "*) url=${line#instance url: } ;;
            try:*) break ;;
        esac
    done
    local runs=0 rc=1
    while [ $runs -lt 5 ] && [ $rc -ne 0 ]; do
        runs=$((runs + 1))
        SF_ACCESS_TOKEN="T$seed" "$bin" play setup.rhai --org "$url" --var "username=$user" \
            --var email=ops@client.example --var "credentials_file=$work/$seed.creds" "${defaults[@]}" \
            --journal "$work/$seed.jsonl" > "$work/run-$seed-$runs.log" 2>&1
        rc=$?
    done
    local snapshot
    snapshot=$(state "$url" "T$seed" 2>/dev/null)
    kill "$pid" 2>/dev/null
    exec {fd}<&-
    echo "$rc $runs $snapshot"
}

read -r rc runs expected <<< "$(converge 0 "")"
[ "$rc" = 0 ] && [ "$runs" = 1 ] || { echo "a fault-free run failed"; exit 1; }
passed=0 failed=0 reruns=0
for seed in $(seq 1 "$seeds"); do
    read -r rc runs got <<< "$(converge "$seed" "--fail-rate $rate --seed $seed")"
    reruns=$((reruns + runs - 1))
    if [ "$rc" = 0 ] && [ "$got" = "$expected" ]; then
        passed=$((passed + 1)); echo "PASS  seed $seed ($runs run(s))"
    else
        failed=$((failed + 1)); echo "FAIL  seed $seed ($runs run(s), exit $rc): $got"
    fi
done
echo "re-runs needed: $reruns"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
