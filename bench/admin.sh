#!/usr/bin/env bash
# Benchmark of the admin API on one store: bench/admin.sh sqlite|postgres [USERS]
# 1. seeds USERS users (default 1,000,000) and as many audit events on one site, in SQL;
# 2. user search latency (p50/p99, one client, varied search texts, 3 passes) and the
#    query plans behind it;
# 3. the audit CSV export of every event: rows/s and the server's peak memory.
source "$(dirname "$0")/common.sh"
STORE="${1:-sqlite}"
USERS="${2:-1000000}"
build
start_server "$STORE"
echo "store: $STORE, $USERS users and $USERS audit events on site $SITE_ID"

seed_started=$(date +%s)
if [ "$STORE" = postgres ]; then
  psql "$DB_URL" -q <<SQL
INSERT INTO users (site_id, external_id, display_name, email, email_key, created_at, updated_at)
SELECT $SITE_ID, 'ext-' || i, 'Person ' || i || ' ' || substr('abcdefghijklmnopqrstuvwxyz', i % 24 + 1, 3),
       'person' || i || '@mail' || (i % 1000) || '.example', 'person' || i || '@mail' || (i % 1000) || '.example',
       0, 0
FROM generate_series(1, $USERS) AS i;
INSERT INTO audit_events (site_id, at, actor, action, outcome, client_ip, detail, user_id)
SELECT $SITE_ID, i, 'cli', 'user.login', 'success', '127.0.0.1', '{"user_id":' || i || ',"flow":"accounts"}', i
FROM generate_series(1, $USERS) AS i;
ANALYZE;
SQL
else
  python3 - "${DB_URL#sqlite://}" "$SITE_ID" "$USERS" <<'PY'
import sqlite3, sys
path, site, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db = sqlite3.connect(path, timeout=60)
db.execute("""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO users (site_id, external_id, display_name, email, email_key, created_at, updated_at)
SELECT ?, 'ext-' || i, 'Person ' || i || ' ' || substr('abcdefghijklmnopqrstuvwxyz', i % 24 + 1, 3),
       'person' || i || '@mail' || (i % 1000) || '.example', 'person' || i || '@mail' || (i % 1000) || '.example', 0, 0
FROM n""", (n, site))
db.execute("""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO audit_events (site_id, at, actor, action, outcome, client_ip, detail, user_id)
SELECT ?, i, 'cli', 'user.login', 'success', '127.0.0.1', '{"user_id":' || i || ',"flow":"accounts"}', i FROM n""", (n, site))
db.commit()
db.execute("ANALYZE")
db.close()
PY
fi
echo "seeded in $(( $(date +%s) - seed_started )) s"

TOKEN="$(token admin)"
echo "== GET /admin/api/v1/users?q=… (one client, latency per request)"
python3 - "$BASE" "$TOKEN" "$USERS" <<'PY'
import http.client, json, random, sys, time, urllib.parse
base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host = urllib.parse.urlparse(base).netloc
conn = http.client.HTTPConnection(host)
random.seed(7)
kinds = {
    "external id":  lambda: f"ext-{random.randint(1, n)}",
    "display name": lambda: f"person {random.randint(1, n)} ",
    "email part":   lambda: f"@mail{random.randint(0, 999)}.exa",
    "user id":      lambda: str(random.randint(1, n)),
    "rare":         lambda: f"zz{random.randint(0, 99999)}q",
    "common":       lambda: random.choice(["person", "example", "ext-"]),
    "status":       lambda: None,
}
everything = []
for kind, make in kinds.items():
    times = []
    for _ in range(3 * 40):
        q = make()
        path = "/admin/api/v1/users?limit=50" + ("" if q is None else "&q=" + urllib.parse.quote(q)) \
               + ("&status=active" if q is None else "")
        start = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        response = conn.getresponse()
        body = response.read()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status == 200, (response.status, body[:200])
    times.sort()
    everything += times
    print(f"  {kind:<13} p50 {times[len(times)//2]:7.2f} ms  p99 {times[int(len(times)*0.99)]:7.2f} ms  max {times[-1]:7.2f} ms")
everything.sort()
print(f"  all           p50 {everything[len(everything)//2]:7.2f} ms  p99 {everything[int(len(everything)*0.99)]:7.2f} ms")
PY

echo "== GET /admin/users?q=… (the console's Users page, same search, rendered as HTML)"
printf '%s' 'bench admin passphrase' | "$BIN" user create "$SITE_ID" --username benchadmin --role admin --password-stdin >/dev/null
python3 - "$BASE" "$SITE_ID" "$USERS" <<'PY'
import http.client, random, sys, time, urllib.parse
base, site, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection(urllib.parse.urlparse(base).netloc)
form = urllib.parse.urlencode({"site_id": site, "username": "benchadmin", "password": "bench admin passphrase"})
conn.request("POST", "/admin/login", body=form, headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": base})
response = conn.getresponse(); response.read()
cookie = [v for k, v in response.getheaders() if k.lower() == "set-cookie" and v.startswith("tessera_admin=")][0].split(";")[0]
random.seed(11)
times, biggest = [], 0
for i in range(200):
    q = random.choice([f"ext-{random.randint(1, n)}", f"person {random.randint(1, n)} ", f"@mail{random.randint(0, 999)}.exa", "person"])
    start = time.perf_counter()
    conn.request("GET", "/admin/users?q=" + urllib.parse.quote(q), headers={"Cookie": cookie})
    response = conn.getresponse(); body = response.read()
    times.append((time.perf_counter() - start) * 1000)
    assert response.status == 200, response.status
    biggest = max(biggest, len(body))
times.sort()
print(f"  p50 {times[100]:.2f} ms  p99 {times[198]:.2f} ms  max {times[-1]:.2f} ms; largest page {biggest / 1024:.1f} KiB")
PY

echo "== query plans"
if [ "$STORE" = postgres ]; then
  echo "  text: the index asked for its uncommon parts only (store::trigrams), the whole text checked on what it finds:"
  psql "$DB_URL" -c "EXPLAIN ANALYZE SELECT user_id FROM users WHERE site_id = $SITE_ID AND user_id < 9223372036854775807 AND search_text LIKE '%l123.%' ESCAPE '\\' AND (search_text || '') LIKE '%@mail123.exa%' ESCAPE '\\' ORDER BY user_id DESC LIMIT 51"
  echo "  the same search asking the index for every trigram:"
  psql "$DB_URL" -c "EXPLAIN ANALYZE SELECT user_id FROM users WHERE site_id = $SITE_ID AND user_id < 9223372036854775807 AND search_text LIKE '%@mail123.exa%' ESCAPE '\\' ORDER BY user_id DESC LIMIT 51"
else
  python3 - "${DB_URL#sqlite://}" "$SITE_ID" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print("  text (the trigram index newest first, stopping at the page):")
for row in db.execute("""EXPLAIN QUERY PLAN SELECT users.user_id FROM users_search JOIN users ON users.user_id = users_search.rowid
  WHERE users_search MATCH '"ext-4242"' AND users_search.rowid < 9223372036854775807 AND site_id = ?
  ORDER BY users_search.rowid DESC LIMIT 51""", (int(sys.argv[2]),)):
    print("  ", row)
print("  a number (that user id, or the text):")
for row in db.execute("""EXPLAIN QUERY PLAN SELECT user_id FROM users WHERE site_id = ? AND user_id < 9223372036854775807
  AND (user_id = 4242 OR user_id IN (SELECT rowid FROM users_search WHERE users_search MATCH '"4242"'))
  ORDER BY user_id DESC LIMIT 51""", (int(sys.argv[2]),)):
    print("  ", row)
PY
fi

echo "== GET /admin/api/v1/audit.csv (every event)"
before_rss="$(grep VmRSS /proc/$SERVER_PID/status | awk '{print $2}')"
python3 - "$BASE" "$TOKEN" "$SERVER_PID" <<'PY'
import http.client, sys, time, urllib.parse
base, token, pid = sys.argv[1], sys.argv[2], sys.argv[3]
conn = http.client.HTTPConnection(urllib.parse.urlparse(base).netloc)
start = time.perf_counter()
conn.request("GET", "/admin/api/v1/audit.csv", headers={"Authorization": "Bearer " + token})
response = conn.getresponse()
rows, peak = 0, 0
while True:
    chunk = response.read(1 << 20)
    if not chunk:
        break
    rows += chunk.count(b"\r\n")
    rss = int([l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")][0].split()[1])
    peak = max(peak, rss)
elapsed = time.perf_counter() - start
print(f"  {rows - 1} rows in {elapsed:.2f} s: {(rows - 1) / elapsed:,.0f} rows/s; server RSS during the export: peak {peak / 1024:.1f} MiB")
PY
echo "  server RSS before the export: $((before_rss / 1024)) MiB"
stop_server
