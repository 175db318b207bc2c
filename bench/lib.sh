# Sourced by the benchmarks, from the repository's root: what they share.

# The runner binary to measure, as an absolute path: RUNNER_BIN when set (another build, or a partner's
# binary), else the release build, built now.
runner_binary() {
    if [[ -n ${RUNNER_BIN:-} ]]; then
        realpath "$RUNNER_BIN"
    else
        cargo build --release -q -p runner-cli || return 1
        realpath "${CARGO_TARGET_DIR:-target}/release/runner"
    fi
}

# Stops a server started in the background (its pid, or nothing) and waits for it.
stop_server() {
    if [[ -n ${1:-} ]]; then kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi
}
