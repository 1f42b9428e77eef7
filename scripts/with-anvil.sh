#!/usr/bin/env bash
# Runs a command with ANVIL_BIN set to an anvil (Foundry's development chain) binary.
#
#   scripts/with-anvil.sh CMD [ARGS...]
#
# Uses $ANVIL_BIN if already set, else `anvil` on PATH, else installs the pinned
# npm package @foundry-rs/anvil-linux-amd64 into .cache/anvil (once) and uses its
# binary. Tests start and stop their own anvil processes from $ANVIL_BIN.
set -euo pipefail

log() { printf 'with-anvil: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ $# -eq 0 ]]; then
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
    exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
version=1.7.1
prefix="$root/.cache/anvil"
bin="$prefix/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"

if [[ -n "${ANVIL_BIN:-}" ]]; then
    [[ -x "$ANVIL_BIN" ]] || die "ANVIL_BIN=$ANVIL_BIN is not executable"
elif command -v anvil >/dev/null 2>&1; then
    ANVIL_BIN=$(command -v anvil)
else
    if [[ ! -x "$bin" ]]; then
        command -v npm >/dev/null 2>&1 || die "anvil not found and npm is missing to install it"
        log "installing @foundry-rs/anvil-linux-amd64@$version into $prefix"
        mkdir -p "$prefix"
        npm install --no-save --no-audit --no-fund --prefix "$prefix" \
            "@foundry-rs/anvil-linux-amd64@$version" >&2 || die "npm install failed"
        [[ -x "$bin" ]] || bin=$(find "$prefix/node_modules" -type f -name anvil -perm -u+x | head -n 1)
        [[ -n "$bin" && -x "$bin" ]] || die "installed package has no anvil binary"
    fi
    ANVIL_BIN=$bin
fi
export ANVIL_BIN
log "using $ANVIL_BIN ($("$ANVIL_BIN" --version 2>/dev/null | head -n 1))"
exec "$@"
