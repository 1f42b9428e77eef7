#!/usr/bin/env bash
# Scale-out, measured honestly on a small machine: issuer *processes* pinned to
# one core each (taskset), on one PostgreSQL database.
#
#   cargo build -p issuer
#   PG_DURABLE=1 scripts/with-postgres.sh bash issuer/benches/scale_out_pinned.sh
#
# 1. one issuer pinned to core 0 (one CPU worker) uploads ROWS rows (NDJSON,
#    `issuer bulk-issue`, chunks of 500) on a fresh database;
# 2. two issuers pinned to cores 0 and 1 (one CPU worker each, the same signing
#    key, as two machines of one issuer would be) on another fresh database each
#    upload ROWS/2 rows at the same time.
# PostgreSQL and the two upload clients are not pinned: in run 2 they take CPU
# from the issuers, which run 1 leaves them on core 1 (so the ratio understates
# what two machines would do). During each run pg_locks is sampled every 50 ms:
# how often an issuer's session was waiting for the log append lock or the
# status allocation lock (advisory locks) — what would serialise the issuers.
set -euo pipefail

: "${TEST_DATABASE_URL:?run under scripts/with-postgres.sh}"
ROWS=${ROWS:-2000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ISSUER=${ISSUER_BIN:-$ROOT/target/debug/issuer}
[[ -x $ISSUER ]] || { echo "build the issuer first: cargo build -p issuer" >&2; exit 2; }
PSQL=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r | head -1)/psql
command -v "$PSQL" >/dev/null || PSQL=psql
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

admin() { "$PSQL" -qAt "$TEST_DATABASE_URL" -c "$1"; }
db_url() { echo "${TEST_DATABASE_URL%/*}/$1"; }
# CPU time (user + system, clock ticks) a process has used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Nanoseconds the threads of a process have spent runnable but waiting for a CPU.
run_queue_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $2} END {printf "%.0f\n", s}'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rows_file() { # file prefix count
    python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
path, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
row = {"fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
       "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
       "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified"}
with open(path, "w") as f:
    for i in range(count):
        f.write(json.dumps(dict(row, idempotencyKey=f"{prefix}-{i}"), ensure_ascii=False) + "\n")
EOF
}

start_issuer() { # core data_dir database_url port
    mkdir -p "$2"
    taskset -c "$1" "$ISSUER" serve --data-dir "$2" --database-url "$3" --listen "127.0.0.1:$4" \
        --cpu-workers 1 --cpu-queue 1024 --request-deadline-secs 600 --cpu-deadline-secs 600 \
        --id-number-key "$ROOT/fixtures/keys/test-id-number.key" --usci 91350100M000100Y43 \
        >"$2/log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 300); do
        curl -fs "http://127.0.0.1:$4/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "issuer on port $4 did not start:" >&2; cat "$2/log" >&2; exit 1
}

# Samples, every 50 ms until $2 exists, of database $1's sessions: waiting for the
# log append lock, waiting for the status allocation lock (advisory locks, by the
# low 32 bits of their ids in store/postgres.rs), and active.
sample_locks() {
    local log=0 status=0 active=0 any=0 samples=0 l s a w
    while [[ ! -e $2 ]]; do
        read -r l s a w < <(admin "select
              (select count(*) from pg_locks k join pg_database d on d.oid = k.database
                where d.datname = '$1' and not k.granted and k.locktype = 'advisory' and k.objid = 1936028961),
              (select count(*) from pg_locks k join pg_database d on d.oid = k.database
                where d.datname = '$1' and not k.granted and k.locktype = 'advisory' and k.objid = 1818850164),
              (select count(*) from pg_stat_activity where datname = '$1' and state = 'active'),
              (select count(*) from pg_stat_activity where datname = '$1' and wait_event_type = 'Lock')" | tr '|' ' ')
        log=$((log + l)); status=$((status + s)); active=$((active + a)); any=$((any + w)); samples=$((samples + 1))
        sleep 0.05
    done
    echo "$samples $log $status $active $any" >"$2.locks"
}

run() { # name issuers
    local name=$1 n=$2 db="scale_${2}_$$"
    admin "CREATE DATABASE $db"
    local url; url=$(db_url "$db")
    local ports=() i
    for i in $(seq 0 $((n - 1))); do
        ports+=("$(free_port)")
        if [[ $i -gt 0 ]]; then mkdir -p "$WORK/$db-$i"; cp "$WORK/$db-0/issuer-key.pem" "$WORK/$db-$i/"; fi
        start_issuer "$i" "$WORK/$db-$i" "$url" "${ports[$i]}"
    done
    local token; token=$("$ISSUER" token create --clinic bench --scope issue --database-url "$url" 2>/dev/null | tail -1)
    for i in $(seq 0 $((n - 1))); do rows_file "$WORK/$db-rows-$i.ndjson" "$db-$i" $((ROWS / n)); done
    local cpu_before=() queue_before=() pid
    for pid in "${PIDS[@]}"; do cpu_before+=("$(cpu_ticks "$pid")"); queue_before+=("$(run_queue_ns "$pid")"); done
    sample_locks "$db" "$WORK/$db.done" &
    local sampler=$!
    local started; started=$(date +%s.%N)
    local uploads=()
    for i in $(seq 0 $((n - 1))); do
        "$ISSUER" bulk-issue --url "http://127.0.0.1:${ports[$i]}" --token "$token" --type health-certificates \
            "$WORK/$db-rows-$i.ndjson" >"$WORK/$db-upload-$i.log" 2>&1 &
        uploads+=($!)
    done
    for pid in "${uploads[@]}"; do wait "$pid" || { cat "$WORK"/"$db"-upload-*.log >&2; exit 1; }; done
    local ended; ended=$(date +%s.%N)
    local busy="" queued=""
    for i in "${!PIDS[@]}"; do
        queued+=" $(python3 -c "import sys; print(f'{(int(sys.argv[1]) - int(sys.argv[2])) / 1e9 / (float(sys.argv[4]) - float(sys.argv[3])) * 100:.0f}%')" \
            "$(run_queue_ns "${PIDS[$i]}")" "${queue_before[$i]}" "$started" "$ended")"
        busy+=" $(python3 -c "import sys; print(f'{(int(sys.argv[1]) - int(sys.argv[2])) / 100 / (float(sys.argv[4]) - float(sys.argv[3])) * 100:.0f}%')" \
            "$(cpu_ticks "${PIDS[$i]}")" "${cpu_before[$i]}" "$started" "$ended")"
    done
    touch "$WORK/$db.done"; wait "$sampler"
    local issued; issued=$("$PSQL" -qAt "$url" -c "select count(*) from credentials")
    local logged; logged=$("$PSQL" -qAt "$url" -c "select count(*) from log_entries")
    read -r samples log status active any <"$WORK/$db.done.locks"
    python3 - "$name" "$issued" "$logged" "$started" "$ended" "$samples" "$log" "$status" "$active" "$any" <<'EOF'
import sys
name, issued, logged, t0, t1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
samples, log, status, active, any_lock = (int(a) for a in sys.argv[6:11])
rate = issued / (t1 - t0)
print(f"{name}: {issued} issued ({logged} log entries) in {t1 - t0:.1f} s = {rate:.1f}/s; in {samples} samples "
      f"a session waited for the log lock {log} times, for the status lock {status} times "
      f"(any lock: {any_lock}; active sessions, summed: {active})")
EOF
    echo "$name: each issuer's core busy with it for$busy of the run; its threads runnable but waiting for a CPU (other processes on it), summed:$queued of the run"
    echo "$issued $started $ended" >"$WORK/$name.rate"
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    PIDS=()
    sleep 0.5
}

run one 1
run two 2
python3 - "$WORK/one.rate" "$WORK/two.rate" <<'EOF'
import sys
def rate(p):
    n, a, b = open(p).read().split()
    return int(n) / (float(b) - float(a))
one, two = rate(sys.argv[1]), rate(sys.argv[2])
print(f"two pinned issuers / one pinned issuer: {two / one:.2f}x ({two:.1f}/s vs {one:.1f}/s)")
EOF
