-- wrk script: POST one line of the file WRK_BODIES per request, each line once.
-- Thread k of n takes lines k, k+n, k+2n… so no two requests send the same line
-- (single-use tokens); a thread that runs out starts over (its answers are then
-- refusals: the script counts non-2xx so the report shows it).
-- WRK_CONTENT_TYPE (default application/json) and WRK_AUTH (an Authorization value) apply
-- to every request.
local threads, counter = {}, 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(os.getenv("WRK_THREADS") or "1")
  bodies, i = {}, 0
  local k = 0
  for line in io.lines(os.getenv("WRK_BODIES")) do
    if k % n == id then table.insert(bodies, line) end
    k = k + 1
  end
  if #bodies == 0 then -- fewer lines than threads: a repeated body, shared
    for line in io.lines(os.getenv("WRK_BODIES")) do table.insert(bodies, line) end
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = os.getenv("WRK_CONTENT_TYPE") or "application/json"
  local auth = os.getenv("WRK_AUTH")
  if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
  failed = 0
end

function request()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end

function response(status)
  if status >= 300 then
    failed = failed + 1
    last_failure = status
  end
end

function done(summary, latency, requests)
  io.write(string.format("p50 %.2f ms, p99 %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  local bad = 0
  local last = ""
  for _, t in ipairs(threads) do
    bad = bad + (t:get("failed") or 0)
    if t:get("last_failure") then last = string.format(" (e.g. %d)", t:get("last_failure")) end
  end
  io.write(string.format("non-2xx answers: %d%s\n", bad, last))
end
