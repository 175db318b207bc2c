#!/usr/bin/env bash
# The interruption acceptance, with the binary: for each of POINTS seeded random moments, a fresh
# `runner sim serve`, then `runner play setup.rhai` against it, SIGKILLed at that moment; then
# re-run until it exits 0 (at most 10 runs), and the org's exact end state read over REST:
# one user, one PSL assignment, two permission set assignments, one TwoFactorInfo, the password
# set (LastPasswordChangeDate), the record-type defaults on the user's profile, and StoreConnect's
# sign-in working with what the credentials file kept. Prints one line per point, then
# `N of N converged, D duplicates`. Loopback only.
#
#   bench/kill.sh [POINTS] [SEED]        (defaults: 200 points, seed 1)
#
# A fresh sim per point: each kill then lands in a first setup, where every step still has its
# write to make, rather than in a re-run of a user already set up. The moments are uniform over
# the length of an uninterrupted setup against the same sim, measured first.
set -uo pipefail
cd "$(dirname "$0")/.."
points=${1:-200}
RANDOM=${2:-1}
latency=10
# RUNNER_BIN=path runs another build instead of building the release one.
source bench/lib.sh
bin=$(runner_binary) || exit 1
work=$(mktemp -d)
sims=()
trap 'for p in "${sims[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
user=kill.sync@client.example

# Starts a sim; sets $url and $sim_pid. Reads the sim's own lines until it says it is ready.
serve() {
    local line
    exec {sim_fd}< <(exec "$bin" sim serve --port 0 --token "$1" --latency-ms "$latency" 2>/dev/null)
    sim_pid=$!
    sims+=("$sim_pid")
    url=""
    while read -r line <&"$sim_fd"; do
        case $line in
            "instance url: "*) url=${line#instance url: } ;;
            try:*) break ;;
        esac
    done
}

stop_sim() {
    kill "$sim_pid" 2>/dev/null
    wait "$sim_pid" 2>/dev/null
    exec {sim_fd}<&-
}

# setup.rhai's command line: JOURNAL CREDENTIALS.
setup_args() {
    args=(play setup.rhai --org "$url" --var "username=$user" --var email=ops@client.example
        --var "credentials_file=$2" $defaults --journal "$1")
}

setup() { # TOKEN JOURNAL CREDENTIALS
    setup_args "$2" "$3"
    SF_ACCESS_TOKEN=$1 "$bin" "${args[@]}"
}

# The end state, checked exactly; prints "ok", or "DUPLICATE …" / "WRONG …" and what differs.
check() { # TOKEN CREDENTIALS
    python3 - "$url" "$1" "$user" "$2" "$defaults" <<'PY'
import base64, hashlib, hmac, json, struct, sys, time, urllib.parse, urllib.request
url, token, user, creds, defaults = sys.argv[1:]
def get(path):
    req = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(req, timeout=10))
def q(soql, tooling=False):
    base = "/services/data/v62.0/tooling/query" if tooling else "/services/data/v62.0/query"
    return get(f"{base}?q={urllib.parse.quote(soql)}")["records"]
users = q(f"SELECT Id, ProfileId, LastPasswordChangeDate FROM User WHERE Username = '{user}'")
counts = {
    "users": len(users),
    "psl": len(q(f"SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username = '{user}'")),
    "sets": len(q(f"SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username = '{user}' AND PermissionSet.IsOwnedByProfile = false")),
    "totp": len(q(f"SELECT Id FROM TwoFactorInfo WHERE User.Username = '{user}'")),
}
expected = {"users": 1, "psl": 1, "sets": 2, "totp": 1}
problems = []
if any(counts[k] > v for k, v in expected.items()):
    print("DUPLICATE", json.dumps(counts)); sys.exit(0)
if counts != expected:
    problems.append(json.dumps(counts))
if users and not users[0]["LastPasswordChangeDate"]:
    problems.append("no password set")
if users:
    full = q(f"SELECT FullName FROM Profile WHERE Id = '{users[0]['ProfileId']}'", tooling=True)[0]["FullName"]
    body = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:met="http://soap.sforce.com/2006/04/metadata"><soapenv:Header><met:SessionHeader><met:sessionId>'
            f'{token}</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body><met:readMetadata><met:type>Profile</met:type>'
            f'<met:fullNames>{full.replace("&", "&amp;").replace("<", "&lt;")}</met:fullNames></met:readMetadata></soapenv:Body></soapenv:Envelope>')
    req = urllib.request.Request(url + "/services/Soap/m/62.0", data=body.encode(),
                                 headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'})
    xml = urllib.request.urlopen(req, timeout=10).read().decode()
    def tag(block, name):
        start = block.find(f"<{name}>"); end = block.find(f"</{name}>")
        return block[start + len(name) + 2:end] if start >= 0 and end >= 0 else None
    chosen = {block.split("</recordTypeVisibilities>")[0] for block in xml.split("<recordTypeVisibilities>")[1:]}
    default_of = {}
    for block in chosen:
        if tag(block, "default") == "true":
            rt = tag(block, "recordType"); default_of[rt.split(".")[0]] = rt
    for pair in defaults.split():
        if pair.startswith("default_"):
            obj, name = pair[len("default_"):].split("=")
            if default_of.get(obj) != f"{obj}.{name}":
                problems.append(f"{obj} default is {default_of.get(obj)}, not {obj}.{name}")
# What the credentials file kept signs in: the password and the TOTP secret are the org's.
kept = dict(line.split("=", 1) for line in open(creds).read().splitlines()[1:] if "=" in line)
secret = urllib.parse.parse_qs(urllib.parse.urlparse(kept["otpauth"]).query)["secret"][0]
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
offset = digest[-1] & 15
code = "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)
req = urllib.request.Request(url + "/_sim/storeconnect/change-sync-user", headers={"Content-Type": "application/json"},
                             data=json.dumps({"username": user, "password": kept["password"], "verification_code": code}).encode())
try:
    urllib.request.urlopen(req, timeout=10)
except urllib.error.HTTPError as err:
    problems.append(f"sign-in refused: {err.code} {err.read().decode()[:200]}")
print("WRONG " + "; ".join(problems) if problems else "ok")
PY
}

# The record-type defaults (the same seed in every sim) and the length of an uninterrupted setup.
serve T0
defaults=$(SF_ACCESS_TOKEN=T0 "$bin" play record_types.rhai --org "$url" --journal /dev/null |
    awk '$1 == "--var" && $2 ~ /^default_/ { printf "--var %s ", $2 }')
started=$(date +%s%N)
setup T0 "$work/0.jsonl" "$work/0.creds" > "$work/0.log" 2>&1 || { echo "an uninterrupted setup failed"; cat "$work/0.log"; exit 1; }
full_ms=$(( ($(date +%s%N) - started) / 1000000 ))
[ "$(check T0 "$work/0.creds")" = ok ] || { echo "an uninterrupted setup is not in the expected state"; exit 1; }
stop_sim
echo "an uninterrupted setup takes ${full_ms} ms; killing at $points seeded moments in 0..${full_ms} ms"

converged=0 duplicates=0 bench_started=$(date +%s)
for point in $(seq 1 "$points"); do
    token="T$point"
    serve "$token"
    delay_ms=$(( (RANDOM * 32768 + RANDOM) % (full_ms + 1) ))
    setup_args "$work/$point.jsonl" "$work/$point.creds"
    # A simple command, not a function, so that $! is runner itself and SIGKILL reaches it.
    SF_ACCESS_TOKEN=$token "$bin" "${args[@]}" > "$work/$point-kill.log" 2>&1 &
    run_pid=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    kill -KILL "$run_pid" 2>/dev/null
    wait "$run_pid" 2>/dev/null
    killed_rc=$?
    runs=0 rc=1
    while [ $runs -lt 10 ] && [ $rc -ne 0 ]; do
        runs=$((runs + 1))
        setup "$token" "$work/$point.jsonl" "$work/$point.creds" > "$work/$point-run$runs.log" 2>&1
        rc=$?
    done
    state=$(check "$token" "$work/$point.creds" 2>&1)
    stop_sim
    case $state in
        ok) [ $rc -eq 0 ] && converged=$((converged + 1)) ;;
        DUPLICATE*) duplicates=$((duplicates + 1)) ;;
    esac
    if [ $rc -eq 0 ] && [ "$state" = ok ]; then
        echo "ok    point $point: killed at ${delay_ms} ms (exit $killed_rc), converged in $runs run(s)"
    else
        echo "FAIL  point $point: killed at ${delay_ms} ms, exit $rc after $runs run(s): $state"
        tail -5 "$work/$point-run$runs.log"
    fi
done
echo "time: $(( $(date +%s) - bench_started )) s"
echo "$converged of $points converged, $duplicates duplicates"
[ "$converged" = "$points" ] && [ "$duplicates" = 0 ]
