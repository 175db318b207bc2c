#!/usr/bin/env bash
# Fills fuzz/corpus/TARGET/ with seeds: the recorded Salesforce responses of
# fixtures/ (JSON bodies, and the SOQL of their request URLs) and the hand-written
# seeds of fuzz/seeds/ (fixtures/ holds no XML, runner.toml or credentials file).
# Files already in a corpus stay: libFuzzer adds what it finds there.
set -euo pipefail
cd "$(dirname "$0")"
fixtures=../fixtures/recorded
for target in soql soap_client soap_sim runner_toml credentials json_responses; do
    mkdir -p "corpus/$target"
done
for target in soql soap_client soap_sim runner_toml credentials; do
    cp seeds/"$target"/* "corpus/$target/"
done

# json_responses reads its first two bytes as status (an index into 200, 201, 204,
# 300, 302, 400, …) and content type (even: JSON); 0x00 0x00 is a 200 with JSON.
while IFS= read -r -d '' file; do
    name=$(echo "$file" | tr '/' '_')
    { printf '\0\0'; cat "$file"; } > "corpus/json_responses/$name"
    # The same body as a 400, declared JSON.
    { printf '\005\0'; cat "$file"; } > "corpus/json_responses/400_$name"
done < <(find "$fixtures" -name '*.json' -print0)

# SOQL from the recorded request URLs (`q=SELECT …`), URL-decoded.
n=0
# YAML wraps long lines: join them first.
find "$fixtures" -name '*.yaml' -exec cat {} + | tr -s '\n ' '  ' | grep -oE 'q=SELECT[^"&]*' | sort -u |
    while IFS= read -r q; do
        n=$((n + 1))
        text=${q#q=}
        text=${text//+/ }
        printf '%b' "${text//%/\\x}" > "corpus/soql/fixture_$n.soql"
    done
for target in soql soap_client soap_sim runner_toml credentials json_responses; do
    echo "$target: $(find "corpus/$target" -type f | wc -l) seed(s)"
done
