#!/usr/bin/env bash
# Measures archive notarisation at scale: N small files (default 100,000) are
# notarised through `issuer notarize run` against a local issuer anchoring on a
# local anvil, then `issuer notarize check` waits for every receipt and checks the
# folder offline. Prints files/s and the time from the first digest to the last
# receipt, and extrapolates the run's rate to the seed archive's 370,000
# documents. Usage: scripts/measure-notarization.sh [N]   (needs ANVIL_BIN, or run via
# scripts/with-anvil.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
: "${ANVIL_BIN:?run through scripts/with-anvil.sh}"
cargo build --quiet -p issuer
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
anvil_port=$((20000 + RANDOM % 10000)); issuer_port=$((anvil_port + 1))
"$ANVIL_BIN" --port "$anvil_port" --silent >/dev/null 2>&1 &
target/debug/issuer serve --listen "127.0.0.1:$issuer_port" --data-dir "$work/data" \
  --chain-rpc-url "http://127.0.0.1:$anvil_port" --anchor-interval-secs 2 >"$work/issuer.log" 2>&1 &
until curl -sf "http://127.0.0.1:$issuer_port/healthz" >/dev/null; do sleep 0.2; done
python3 - "$work/archive" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"box-{i // 1000:04d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"doc-{i:07d}.txt"), "w") as f:
        f.write(f"archive record {i}\n")
PY
url="http://127.0.0.1:$issuer_port"
# Notarising needs an API token with the issue scope (as a records office's system has).
ISSUER_API_TOKEN="$(target/debug/issuer token create --clinic measure-notarization --scope issue --data-dir "$work/data" 2>/dev/null)"
export ISSUER_API_TOKEN
start=$(date +%s.%N)
target/debug/issuer notarize run "$work/archive" --url "$url" --manifest "$work/manifest.jsonl"
run_end=$(date +%s.%N)
python3 -c "r = $n / ($run_end - $start); print(f'notarize run: $n files, {r:.0f} files/s; the seed archive (370,000 documents) at this rate: {370000 / r / 60:.1f} min')"
until target/debug/issuer notarize check "$work/archive" --url "$url" --manifest "$work/manifest.jsonl" \
    --log-key "$(curl -s "$url/log/key")" >"$work/report.json" 2>/dev/null \
    && python3 -c 'import json,sys; sys.exit(0 if not json.load(open(sys.argv[1]))["pending"] else 1)' "$work/report.json"; do
  sleep 1
done
end=$(date +%s.%N)
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("verified", r["verified"], "changed", len(r["changed"]), "missing", len(r["missing"]), "new", len(r["new"]))' "$work/report.json"
echo "first digest sent → every receipt anchored and verified: $(python3 -c "print(round($end - $start, 1))") s"
echo "anchor transactions: $(curl -s "$url/log/anchors" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
start=$(date +%s.%N)
target/debug/issuer notarize check "$work/archive" --manifest "$work/manifest.jsonl" --log-key "$(curl -s "$url/log/key")" >/dev/null
end=$(date +%s.%N)
echo "offline re-check of $n files: $(python3 -c "print(round($end - $start, 1))") s"
