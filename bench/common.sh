# Shared by the bench/*.sh scripts: start a release server on a fresh store.
# Usage: source bench/common.sh; start_server sqlite|postgres
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release/tessera"
LOADGEN="$ROOT/target/release/examples/loadgen"
PORT="${BENCH_PORT:-18080}"
BASE="http://127.0.0.1:$PORT"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
DURATION="${BENCH_DURATION:-10s}"
PG_BASE="${TESSERA_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}"

build() {
  (cd "$ROOT" && cargo build --release --bin tessera --example loadgen >/dev/null)
}

# start_server STORE: sets DB_URL, SERVER_PID, SITE_ID, API_KEY
start_server() {
  local store="$1"
  WORK="$(mktemp -d)"
  if [ "$store" = postgres ]; then
    DB_NAME="tessera_bench_$$"
    psql "$PG_BASE/postgres" -qc "DROP DATABASE IF EXISTS $DB_NAME" >/dev/null
    psql "$PG_BASE/postgres" -qc "CREATE DATABASE $DB_NAME" >/dev/null
    DB_URL="$PG_BASE/$DB_NAME"
  else
    DB_URL="sqlite://$WORK/tessera.db"
  fi
  export TESSERA_DATABASE_URL="$DB_URL"
  # The benches' verification endpoints are local http servers; `site configure`
  # refuses those unless private endpoints are allowed, like the server below.
  export TESSERA_ALLOW_PRIVATE_ENDPOINTS=true
  local created
  created="$("$BIN" site create --name bench --origin http://127.0.0.1:9 --json)"
  SITE_ID="$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["site_id"])')"
  API_KEY="$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')"
  RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --metrics-listen 127.0.0.1:0 \
      --allow-private-endpoints >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "$BASE/readyz" >/dev/null && break
    sleep 0.1
  done
  trap stop_server EXIT
}

stop_server() {
  if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "peak server memory (VmHWM): $(grep VmHWM /proc/$SERVER_PID/status | awk '{print $2, $3}')"
    kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true
  fi
  SERVER_PID=""
  if [ -n "${DB_NAME:-}" ]; then
    psql "$PG_BASE/postgres" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null || true
    DB_NAME=""
  fi
}

token() { # token SCOPE
  curl -sf --user "$SITE_ID:$API_KEY" -d grant_type=client_credentials -d "scope=$1" "$BASE/oauth2/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# CPU seconds the server has used so far (user + system, all threads).
server_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$SERVER_PID/stat"
}

# Idle ticks of the whole machine so far (idle + iowait, all cores).
machine_idle() {
  awk '/^cpu / {print $5 + $6}' /proc/stat
}

load() { # load LABEL loadgen-args...
  local label="$1"; shift
  echo "== $label"
  local before after out idle_before idle_after
  before="$(server_cpu)"
  idle_before="$(machine_idle)"
  out="$("$LOADGEN" --connections "$CONNECTIONS" --duration "$DURATION" --json "$@")"
  idle_after="$(machine_idle)"
  after="$(server_cpu)"
  python3 - "$out" "$before" "$after" "$idle_before" "$idle_after" <<'PY'
import json, os, sys
r = json.loads(sys.argv[1]); cpu = float(sys.argv[3]) - float(sys.argv[2])
idle = (float(sys.argv[5]) - float(sys.argv[4])) / os.sysconf("SC_CLK_TCK") / os.cpu_count() / r["seconds"]
print(f"  {r['rps']:.0f} req/s ({r['requests']} in {r['seconds']:.1f} s), statuses {r['statuses']}, errors {r['errors']}")
print(f"  latency ms: p50 {r['p50_ms']:.2f}  p90 {r['p90_ms']:.2f}  p99 {r['p99_ms']:.2f}  max {r['max_ms']:.2f}")
print(f"  server CPU: {cpu:.2f} s = {cpu / r['seconds'] * 100:.0f}% of one core, {cpu / max(r['requests'], 1) * 1e6:.0f} µs per request; machine idle {idle * 100:.0f}%")
PY
}
