#!/usr/bin/env bash
# Benchmark of what every page view of an embedding site costs: bench/embed.sh sqlite|postgres
# (the script itself, its revalidation, and the public site configuration).
source "$(dirname "$0")/common.sh"
build
start_server "${1:-sqlite}"
echo "store: ${1:-sqlite}, $CONNECTIONS connections, $DURATION per run"
ETAG="$(curl -sfI "$BASE/embed.js" | awk -F': ' 'tolower($1)=="etag" {print $2}' | tr -d '\r')"
load "GET /embed.js (200, full body)" --url "$BASE/embed.js"
load "GET /embed.js with If-None-Match (304)" --url "$BASE/embed.js" --header "If-None-Match: $ETAG"
load "GET /rest/v1/sites/$SITE_ID/embed-config" --url "$BASE/rest/v1/sites/$SITE_ID/embed-config"
stop_server
