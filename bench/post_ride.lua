-- wrk script: POST a ride request with a random rider token and a random pickup.
--
--   wrk -t1 -c8 -d10s -s bench/post_ride.lua http://127.0.0.1:PORT/api/rides/ \
--       -- TOKENS_FILE CENTER_LAT CENTER_LON SPREAD_LAT SPREAD_LON SEED
--
-- Each thread counts its answers by status class; done() prints one line
-- "BENCH_JSON {...}" with throughput, latency percentiles (microseconds) and the counts,
-- which bench/run.py parses.

threads = {}  -- global: wrk_summary.lua's done() reads it
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

-- response() and done(): each answer counted, and the summary bench/run.py parses.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_summary.lua")
