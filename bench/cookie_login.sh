#!/usr/bin/env bash
# Benchmark of cookie login on one store: bench/cookie_login.sh sqlite|postgres
# 1. cookie logins/s against a local verification endpoint that answers at once;
# 2. the same while another site's endpoint hangs and its browsers keep retrying;
# 3. a flash crowd: 256 browsers of one site, each its own cookie, against an
#    endpoint that answers in 50 ms (every login should succeed).
source "$(dirname "$0")/common.sh"
build
(cd "$ROOT" && cargo build --release --example cookie_endpoint >/dev/null)
EP_PORT=$((PORT + 10))
"$ROOT/target/release/examples/cookie_endpoint" "127.0.0.1:$EP_PORT" 2>/dev/null &
EP_PID=$!
start_server "${1:-sqlite}"
trap 'stop_server; kill $EP_PID 2>/dev/null || true' EXIT
EP="http://127.0.0.1:$EP_PORT"
"$BIN" site configure "$SITE_ID" --cookie-name sid --cookie-endpoint "$EP/ok?sid=" >/dev/null
HANGING_ID="$("$BIN" site create --name hanging --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["site_id"])')"
"$BIN" site configure "$HANGING_ID" --cookie-name sid --cookie-endpoint "$EP/hang?sid=" \
  --cookie-timeout-ms 10000 >/dev/null
echo "store: ${1:-sqlite}, $CONNECTIONS connections, $DURATION per run"
LOGIN="$BASE/rest/v1/users/login/cookie"
load "POST /rest/v1/users/login/cookie (instant endpoint)" --url "$LOGIN" --method POST \
  --json-body "{\"site_id\":$SITE_ID,\"cookie\":\"bench-user-1\"}"
# While the hanging site has its starting limit (32) of logins waiting on its endpoint
# (before its 10 s timeout: nothing is shed, its breaker is still closed). Each of its
# browsers has its own cookie, so the logins do not share one request.
echo "== same, while site $HANGING_ID's endpoint hangs with 32 logins waiting on it"
"$LOADGEN" --connections 32 --duration 8s --url "$LOGIN" --method POST \
  --json-body "{\"site_id\":$HANGING_ID,\"cookie\":\"stuck-{n}\"}" > "$WORK/hanging.txt" &
HANG_PID=$!
sleep 0.5
"$LOADGEN" --connections "$CONNECTIONS" --duration 7s --url "$LOGIN" --method POST \
  --json-body "{\"site_id\":$SITE_ID,\"cookie\":\"bench-user-1\"}"
wait $HANG_PID || true
echo "== the hanging site's own logins meanwhile"
cat "$WORK/hanging.txt"
# Its breaker is now open: its browsers retrying flat out get 502 at once.
echo "== same, while 64 connections retry the hanging site's logins flat out (breaker open)"
"$LOADGEN" --connections 64 --duration "$DURATION" --url "$LOGIN" --method POST \
  --json-body "{\"site_id\":$HANGING_ID,\"cookie\":\"stuck-{n}\"}" > "$WORK/flood.txt" &
FLOOD_PID=$!
sleep 0.5
"$LOADGEN" --connections "$CONNECTIONS" --duration "$DURATION" --url "$LOGIN" --method POST \
  --json-body "{\"site_id\":$SITE_ID,\"cookie\":\"bench-user-1\"}"
wait $FLOOD_PID || true
echo "== the hanging site's own logins meanwhile"
cat "$WORK/flood.txt"
CROWD_ID="$("$BIN" site create --name crowd --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["site_id"])')"
"$BIN" site configure "$CROWD_ID" --cookie-name sid --cookie-endpoint "$EP/slow?sid=" >/dev/null
echo "== flash crowd: 256 browsers of site $CROWD_ID, one cookie each, endpoint answers in 50 ms"
"$LOADGEN" --connections 256 --duration "$DURATION" --url "$LOGIN" --method POST \
  --json-body "{\"site_id\":$CROWD_ID,\"cookie\":\"browser-{n}\"}"
