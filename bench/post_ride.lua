-- wrk script: POST a ride request with a random rider token and a random pickup.
--
--   wrk -t1 -c8 -d10s -s bench/post_ride.lua http://127.0.0.1:PORT/api/rides/ \
--       -- TOKENS_FILE CENTER_LAT CENTER_LON SPREAD_LAT SPREAD_LON SEED
--
-- Each thread counts its answers by status class; done() prints one line
-- "BENCH_JSON {...}" with throughput, latency percentiles (microseconds) and the counts,
-- which bench/run.py parses.

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local tokens = {}
local lat0, lon0, dlat, dlon

ok, non2xx, s4xx, s5xx, s503 = 0, 0, 0, 0, 0
first_error = ""

function init(args)
   for line in io.lines(args[1]) do
      if #line > 0 then
         tokens[#tokens + 1] = line
      end
   end
   lat0, lon0 = tonumber(args[2]), tonumber(args[3])
   dlat, dlon = tonumber(args[4]), tonumber(args[5])
   math.randomseed(tonumber(args[6] or "1") * 1000 + id)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Accept"] = "application/json"
end

function request()
   local lat = lat0 + (2 * math.random() - 1) * dlat
   local lon = lon0 + (2 * math.random() - 1) * dlon
   local body = string.format('{"pickup": {"latitude": %.6f, "longitude": %.6f}}', lat, lon)
   wrk.headers["Authorization"] = "Token " .. tokens[math.random(#tokens)]
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
      return
   end
   non2xx = non2xx + 1
   if status == 503 then
      s503 = s503 + 1
   end
   if status >= 500 then
      s5xx = s5xx + 1
   elseif status >= 400 then
      s4xx = s4xx + 1
   end
   if first_error == "" then
      first_error = tostring(status) .. " " .. string.sub(body or "", 1, 200)
   end
end

local function json_string(s)
   return '"' .. string.gsub(s, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end) .. '"'
end

-- Percentiles on a grid fine enough to merge several runs into one distribution.
local grid = {}
for p = 1, 99 do
   grid[#grid + 1] = p
end
for _, p in ipairs({ 99.5, 99.9, 99.99 }) do
   grid[#grid + 1] = p
end

function done(summary, latency, requests)
   local totals = { ok = 0, non2xx = 0, s4xx = 0, s5xx = 0, s503 = 0 }
   local sample = ""
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + thread:get(name)
      end
      if sample == "" then
         sample = thread:get("first_error")
      end
   end
   local cdf = {}
   for _, p in ipairs(grid) do
      cdf[#cdf + 1] = string.format("[%g, %d]", p, latency:percentile(p))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "min_us": %d, "max_us": %d, '
         .. '"p50_us": %d, "p99_us": %d, "ok": %d, "non2xx": %d, "s4xx": %d, "s5xx": %d, '
         .. '"s503": %d, "socket_errors": %d, "timeouts": %d, "first_error": %s, '
         .. '"percentiles_us": [%s]}\n',
      summary.requests, summary.duration, latency.min, latency.max,
      latency:percentile(50), latency:percentile(99),
      totals.ok, totals.non2xx, totals.s4xx, totals.s5xx, totals.s503,
      e.connect + e.read + e.write, e.timeout, json_string(sample), table.concat(cdf, ", ")
   ))
end
