#!/usr/bin/env bash
# Benchmark of the token logins (SPEC §5.3, §5.4) against accounts login, same run, one
# store: bench/token_login.sh sqlite|postgres
# Each ID token and signed token is single use, so the tokens are made beforehand (one
# per request, 1,000 returning users) and wrk sends each once (bench/bodies.lua). The
# JWKS is served locally and fetched once before the run: the provider is not on the
# hot path, as with a warm cache in production.
source "$(dirname "$0")/common.sh"
build
DUR="${BENCH_DURATION:-5s}"
SSO_TOKENS="${BENCH_SSO_TOKENS:-200000}"
ID_TOKENS="${BENCH_ID_TOKENS:-80000}"
JWKS_PORT=$((PORT + 11))
HELPER="$ROOT/bench/token_login.py"
start_server "${1:-sqlite}"
python3 "$HELPER" jwks "$JWKS_PORT" "$WORK/rsa.pem" &
JWKS_PID=$!
trap 'stop_server; kill $JWKS_PID 2>/dev/null || true' EXIT
sleep 1
ISSUER="http://127.0.0.1:$JWKS_PORT"
"$BIN" site configure "$SITE_ID" --oidc-issuer "$ISSUER" --oidc-client-id bench \
  --oidc-jwks-uri "$ISSUER/jwks" >/dev/null
SECRET_JSON="$("$BIN" site sso-secret create "$SITE_ID" --json)"
KID="$(echo "$SECRET_JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])')"
SECRET="$(echo "$SECRET_JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
echo "making $SSO_TOKENS signed tokens and $ID_TOKENS ID tokens…"
python3 "$HELPER" tokens sso "$SITE_ID" "$SSO_TOKENS" "$WORK/sso.txt" "$KID" "$SECRET"
python3 "$HELPER" tokens id "$SITE_ID" "$((ID_TOKENS + 1))" "$WORK/id.txt" "$ISSUER" bench "$WORK/rsa.pem"
# Warm the JWKS cache with the last token (wrk may not reach it).
tail -n1 "$WORK/id.txt" | curl -sf -o /dev/null -H 'Content-Type: application/json' \
  --data-binary @- "$BASE/rest/v1/users/login/id-token"
TOKEN="$(token accounts)"
# The same 1,000 returning users as the token logins: with a single user, every login
# would write the same index pages (sessions and audit events by user) and the baseline
# would measure SQLite's page locality, not the flows.
python3 -c 'for u in range(1000): print(f"id=bench-{u}&name=User+{u}&email=u{u}%40example.com")' \
  > "$WORK/accounts.txt"
echo "store: ${1:-sqlite}, $CONNECTIONS connections, $DUR per run (wrk, 2 threads)"
run() { # run LABEL PATH BODIES [content-type] [authorization]
  echo "== $1"
  local before after
  before="$(server_cpu)"
  WRK_THREADS=2 WRK_BODIES="$3" WRK_CONTENT_TYPE="${4:-application/json}" WRK_AUTH="${5:-}" \
    wrk -t2 -c"$CONNECTIONS" -d"$DUR" -s "$ROOT/bench/bodies.lua" "$BASE$2" > "$WORK/wrk.txt"
  after="$(server_cpu)"
  grep -E "Requests/sec|p50|non-2xx" "$WORK/wrk.txt"
  local requests
  requests="$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")"
  awk -v b="$before" -v a="$after" -v n="$requests" \
    'BEGIN {if (n > 0) printf "server CPU per request: %.0f µs\n", (a - b) * 1e6 / n}'
}
run "POST /rest/v1/accounts/login (1,000 returning users)" /rest/v1/accounts/login "$WORK/accounts.txt" \
  application/x-www-form-urlencoded "Bearer $TOKEN"
run "POST /rest/v1/users/login/sso-token (HS256, each token once)" /rest/v1/users/login/sso-token "$WORK/sso.txt"
run "POST /rest/v1/users/login/id-token (RS256, warm JWKS, each token once)" /rest/v1/users/login/id-token "$WORK/id.txt"
