#!/usr/bin/env bash
# Benchmark of password login with JWT on one store: bench/password.sh sqlite|postgres
# Reports password logins/s, JWT verifications/s, and the p99 of POST /oauth2/token
# on an idle server versus while password logins saturate the hashing pool.
source "$(dirname "$0")/common.sh"
build
start_server "${1:-sqlite}"
PASSWORD="benchmark password, long enough"
printf '%s\n' "$PASSWORD" | "$BIN" user create "$SITE_ID" --username bench --password-stdin --json >/dev/null
LOGIN_FORM="username=bench&password=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote_plus(sys.argv[1]))' "$PASSWORD")&site_id=$SITE_ID"
TOKEN_CONNECTIONS="${BENCH_TOKEN_CONNECTIONS:-4}"
echo "store: ${1:-sqlite}, $CONNECTIONS connections, $DURATION per run, hash pool: ${TESSERA_PASSWORD_HASH_CONCURRENCY:-cores}"

CONNECTIONS="$TOKEN_CONNECTIONS" load "POST /oauth2/token, idle server ($TOKEN_CONNECTIONS connections)" \
  --url "$BASE/oauth2/token" --method POST --basic "$SITE_ID:$API_KEY" --form "grant_type=client_credentials&scope=accounts"

load "POST /api/v1/authenticate (password logins)" --url "$BASE/api/v1/authenticate" --method POST --form "$LOGIN_FORM"

# Password logins saturate the pool in the background while tokens are measured.
"$LOADGEN" --connections "$CONNECTIONS" --duration 30s --url "$BASE/api/v1/authenticate" --method POST \
  --form "$LOGIN_FORM" >"$WORK/background.txt" &
BACKGROUND=$!
sleep 2
CONNECTIONS="$TOKEN_CONNECTIONS" load "POST /oauth2/token while password logins saturate the pool ($TOKEN_CONNECTIONS connections)" \
  --url "$BASE/oauth2/token" --method POST --basic "$SITE_ID:$API_KEY" --form "grant_type=client_credentials&scope=accounts"
wait "$BACKGROUND"
echo "== (background password logins during that run)"; cat "$WORK/background.txt"

JWT="$(curl -sf -d "$LOGIN_FORM" "$BASE/api/v1/authenticate" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
load "GET /api/v1/authenticate/user (JWT verification + revocation + user row)" \
  --url "$BASE/api/v1/authenticate/user" --bearer "$JWT"
stop_server
