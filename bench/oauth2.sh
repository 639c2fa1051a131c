#!/usr/bin/env bash
# Benchmark of the OAuth 2.0 endpoints on one store: bench/oauth2.sh sqlite|postgres
source "$(dirname "$0")/common.sh"
build
start_server "${1:-sqlite}"
echo "store: ${1:-sqlite}, $CONNECTIONS connections, $DURATION per run"
load "POST /oauth2/token" --url "$BASE/oauth2/token" --method POST --basic "$SITE_ID:$API_KEY" \
  --form "grant_type=client_credentials&scope=accounts"
TOKEN="$(token accounts)"
load "POST /oauth2/introspect" --url "$BASE/oauth2/introspect" --method POST --basic "$SITE_ID:$API_KEY" \
  --form "token=$TOKEN"
stop_server
