#!/usr/bin/env bash
# Benchmark of the accounts API and the session lookup on one store:
#   bench/accounts.sh sqlite|postgres
# Measures POST /rest/v1/accounts/login for an existing user with an unchanged profile
# (the steady state: no user write, one session insert + its audit row in one commit)
# and GET /rest/v1/session (one indexed read; the idle expiry write happens at most
# once a minute per session, so a 10 s run of one session writes at most once).
source "$(dirname "$0")/common.sh"
build
start_server "${1:-sqlite}"
echo "store: ${1:-sqlite}, $CONNECTIONS connections, $DURATION per run"
TOKEN="$(token accounts)"
SESSION="$(curl -sf -H "Authorization: Bearer $TOKEN" -d id=bench-user -d 'name=Bench User' \
  -d email=bench@example.com "$BASE/rest/v1/accounts/login" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"])')"
load "POST /rest/v1/accounts/login (existing user)" --url "$BASE/rest/v1/accounts/login" --method POST \
  --bearer "$TOKEN" --form "id=bench-user&name=Bench+User&email=bench%40example.com"
load "GET /rest/v1/session" --url "$BASE/rest/v1/session" --header "X-Tessera-Session: $SESSION"
stop_server
